/**
 * Actions that are one syscall each (ioctl has its own module): the step's value gives the arguments, names
 * stand for fds and mappings, and the return value is checked against the step's `expect`.
 */
import { z } from 'zod';
import type { PollEntry } from '../../sim/process.ts';
import { O_RDONLY } from '../../uapi/fcntl.ts';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../../uapi/mman.ts';
import { formatPollEvents } from '../../uapi/names.ts';
import { SIGKILL } from '../../uapi/signal.ts';
import { flagValue } from '../symbols.ts';
import {
  BytesSpec,
  bytesOf,
  CInt,
  Duration,
  Flags,
  MaxLen,
  parseDuration,
  Ref,
  Signal,
  signalNumber,
} from '../values.ts';
import { type ActionRun, defineAction, StepError } from './define.ts';

/** open(2) of a path (`O_RDONLY` by default); `as` names the fd. */
export const open = defineAction({
  name: 'open',
  schema: z.strictObject({ path: z.string(), flags: Flags.optional(), as: z.string().optional() }),
  check: (a, c) => {
    c.flags(a.flags, ['flags']);
    c.define(a.as);
  },
  run: async (a, r) => {
    const ret = await r.sys.open(String(a.path), a.flags === undefined ? O_RDONLY : flagValue(a.flags));
    r.done(ret);
    r.bind(a.as, ret);
  },
});

/** close(2) of a named or numbered fd. */
export const close = defineAction({
  name: 'close',
  schema: Ref,
  check: (a, c) => c.ref(a, []),
  run: async (a, r) => {
    const fd = r.fd(a);
    // The next heap_alloc opens the heap again once the program closed it.
    if (fd === r.state.heapFd) r.state.heapFd = -1;
    r.done(await r.sys.close(fd));
  },
});

/** dup(2); `as` names the new fd. */
export const dup = defineAction({
  name: 'dup',
  schema: z.strictObject({ fd: Ref, as: z.string().optional() }),
  check: (a, c) => {
    c.ref(a.fd, ['fd']);
    c.define(a.as);
  },
  run: async (a, r) => {
    const ret = await r.sys.dup(r.fd(a.fd));
    r.done(ret);
    r.bind(a.as, ret);
  },
});

/** dup2(2) onto fd `to`; `as` names it. */
export const dup2 = defineAction({
  name: 'dup2',
  schema: z.strictObject({ fd: Ref, to: CInt, as: z.string().optional() }),
  check: (a, c) => {
    c.ref(a.fd, ['fd']);
    c.define(a.as);
  },
  run: async (a, r) => {
    const from = r.fd(a.fd);
    const ret = await r.sys.dup2(from, a.to);
    // dup2 onto the heap fd closed it: the next heap_alloc opens the heap again.
    if (ret >= 0 && ret === r.state.heapFd && from !== ret) r.state.heapFd = -1;
    r.done(ret);
    r.bind(a.as, ret);
  },
});

/**
 * read and pread: into the named buffer (or one of the step's own), allocated once and reused while big
 * enough, so that a loop of reads does not grow the address space.
 */
async function readStep(
  a: { fd: string | number; len: number; into?: string | undefined; offset?: number },
  r: ActionRun,
): Promise<void> {
  const sys = r.sys;
  const len = a.len;
  const key = typeof a.into === 'string' ? r.name(a.into) : `@${r.here}`;
  let buf = r.state.buffers.get(key);
  if (!buf || buf.len < len) {
    buf = { addr: sys.mem.alloc(Math.max(1, len)), len, filled: 0 };
    r.state.buffers.set(key, buf);
  }
  const ret =
    a.offset === undefined
      ? await sys.read(r.fd(a.fd), buf.addr, len)
      : await sys.pread(r.fd(a.fd), buf.addr, len, a.offset);
  r.done(ret);
  buf.filled = Math.max(0, ret);
  if (r.expect?.data && ret >= 0) r.checkData(sys.mem.read(buf.addr, ret), r.expect.data);
}

/** read(2) of `len` bytes; `into` names the buffer for `check` steps; `expect.data` checks the bytes read. */
export const read = defineAction({
  name: 'read',
  schema: z.strictObject({ fd: Ref, len: MaxLen, into: z.string().optional() }),
  check: (a, c) => {
    c.ref(a.fd, ['fd']);
    c.define(a.into);
  },
  run: (a, r) => readStep(a, r),
});

/** write(2) of text, hex or filled bytes. */
export const write = defineAction({
  name: 'write',
  schema: z.strictObject({ fd: Ref, data: BytesSpec }),
  check: (a, c) => c.ref(a.fd, ['fd']),
  run: async (a, r) => {
    const bytes = bytesOf(a.data);
    const addr = r.sys.mem.alloc(Math.max(1, bytes.length));
    r.sys.mem.write(addr, bytes);
    r.done(await r.sys.write(r.fd(a.fd), addr, bytes.length));
  },
});

/** pread64(2) of `len` bytes at `offset`. */
export const pread = defineAction({
  name: 'pread',
  schema: z.strictObject({ fd: Ref, len: MaxLen, offset: z.number().int() }),
  check: (a, c) => c.ref(a.fd, ['fd']),
  run: (a, r) => readStep(a, r),
});

/** lseek(2); `whence` by number or name (`SEEK_END`). */
export const lseek = defineAction({
  name: 'lseek',
  schema: z.strictObject({
    fd: Ref,
    offset: z.number().int(),
    whence: z.union([CInt, z.string()]),
  }),
  check: (a, c) => {
    c.ref(a.fd, ['fd']);
    c.flags(a.whence, ['whence']);
  },
  run: async (a, r) =>
    r.done(
      await r.sys.lseek(r.fd(a.fd), a.offset, typeof a.whence === 'string' ? flagValue(a.whence) : a.whence),
    ),
});

/** fcntl(2); `cmd` and `arg` by number or name (`F_SETFL`, `O_NONBLOCK`). */
export const fcntl = defineAction({
  name: 'fcntl',
  schema: z.strictObject({
    fd: Ref,
    cmd: z.union([CInt, z.string()]),
    arg: z.union([Flags, z.number().int()]).optional(),
  }),
  check: (a, c) => {
    c.ref(a.fd, ['fd']);
    c.flags(a.cmd, ['cmd']);
    c.flags(a.arg, ['arg']);
  },
  run: async (a, r) =>
    r.done(
      await r.sys.fcntl(
        r.fd(a.fd),
        typeof a.cmd === 'string' ? flagValue(a.cmd) : a.cmd,
        a.arg === undefined ? 0 : flagValue(a.arg),
      ),
    ),
});

/** mmap(2) of a fd (read-write, `MAP_SHARED` by default); `as` names the mapping. */
export const mmap = defineAction({
  name: 'mmap',
  schema: z.strictObject({
    fd: Ref,
    length: z
      .number()
      .int()
      .positive()
      .max(1 << 30),
    prot: Flags.optional(),
    flags: Flags.optional(),
    offset: z.number().int().optional(),
    as: z.string().optional(),
  }),
  check: (a, c) => {
    c.ref(a.fd, ['fd']);
    c.flags(a.prot, ['prot']);
    c.flags(a.flags, ['flags']);
    c.define(a.as);
  },
  run: async (a, r) => {
    const ret = await r.sys.mmap(
      0,
      a.length,
      a.prot === undefined ? PROT_READ | PROT_WRITE : flagValue(a.prot),
      a.flags === undefined ? MAP_SHARED : flagValue(a.flags),
      r.fd(a.fd),
      a.offset ?? 0,
    );
    r.done(ret);
    if (typeof a.as === 'string' && ret >= 0) r.state.maps.set(r.name(a.as), { addr: ret, length: a.length });
  },
});

/** munmap(2) of a named mapping (all of it by default). */
export const munmap = defineAction({
  name: 'munmap',
  schema: z.strictObject({ map: z.string(), length: z.number().int().positive().optional() }),
  check: (a, c) => c.ref(a.map, ['map']),
  run: async (a, r) => {
    const m = r.mapping(String(a.map));
    r.done(await r.sys.munmap(m.addr, a.length ?? m.length));
  },
});

/** poll(2) on named fds; `expect.revents` checks each fd's revents. */
export const poll = defineAction({
  name: 'poll',
  schema: z.strictObject({
    fds: z
      .array(z.strictObject({ fd: Ref, events: Flags }))
      .min(1)
      .max(1024),
    /** Milliseconds (a C int; negative waits forever), or a duration. */
    timeout: z.union([CInt, Duration]).optional(),
  }),
  check: (a, c) =>
    a.fds.forEach((f, i) => {
      c.ref(f.fd, ['fds', i, 'fd']);
      c.flags(f.events, ['fds', i, 'events']);
    }),
  run: async (a, r) => {
    const entries: PollEntry[] = a.fds.map((f) => ({ fd: r.fd(f.fd), events: flagValue(f.events) }));
    const timeout =
      a.timeout === undefined
        ? -1
        : typeof a.timeout === 'number'
          ? a.timeout
          : Math.round(parseDuration(a.timeout)! / 1e6);
    const ret = await r.sys.pollfds(entries, timeout);
    r.done(ret);
    for (const [name, want] of Object.entries(r.expect?.revents ?? {})) {
      const fd = r.fd(name);
      const got = entries.find((e) => e.fd === fd)?.revents ?? 0;
      const w = flagValue(want);
      if (got !== w)
        throw new StepError(`revents of ${name} = ${formatPollEvents(w)}`, formatPollEvents(got));
    }
  },
});

/** nanosleep(2). */
export const sleep = defineAction({
  name: 'sleep',
  schema: Duration,
  check: () => {},
  run: async (a, r) => r.done(await r.sys.nanosleep(parseDuration(a)!)),
});

/** User-space work: burns CPU time without a syscall. */
export const compute = defineAction({
  name: 'compute',
  schema: Duration,
  check: () => {},
  run: async (a, r) => {
    await r.sys.compute(parseDuration(a)!);
    r.done(0);
  },
});

/** memfd_create(2); `as` names the fd. */
export const memfdCreate = defineAction({
  name: 'memfd_create',
  schema: z.strictObject({ name: z.string(), flags: Flags.optional(), as: z.string().optional() }),
  check: (a, c) => {
    c.flags(a.flags, ['flags']);
    c.define(a.as);
  },
  run: async (a, r) => {
    const ret = await r.sys.memfd_create(String(a.name), flagValue(a.flags));
    r.done(ret);
    r.bind(a.as, ret);
  },
});

/** ftruncate(2). */
export const ftruncate = defineAction({
  name: 'ftruncate',
  schema: z.strictObject({ fd: Ref, length: z.number().int() }),
  check: (a, c) => c.ref(a.fd, ['fd']),
  run: async (a, r) => r.done(await r.sys.ftruncate(r.fd(a.fd), a.length)),
});

/** kill(2) to another process of the scenario, by name (SIGKILL by default). */
export const kill = defineAction({
  name: 'kill',
  schema: z.strictObject({ process: z.string(), signal: Signal.optional() }),
  check: (a, c) => {
    c.process(a.process, ['process']);
    c.signal(a.signal, ['signal']);
  },
  run: async (a, r) => {
    r.done(await r.sys.kill(r.pidOf(a.process), signalNumber(a.signal, SIGKILL)));
  },
});

/** rt_sigaction(2): installs a handler for `signal`, with SA_RESTART when `restart`. */
export const sigaction = defineAction({
  name: 'sigaction',
  schema: z.strictObject({
    signal: Signal,
    restart: z.boolean().optional(),
  }),
  check: (a, c) => c.signal(a.signal, ['signal']),
  run: async (a, r) =>
    r.done(await r.sys.sigaction(signalNumber(a.signal, 0), { restart: a.restart === true })),
});
