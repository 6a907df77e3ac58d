/**
 * fork and exec as a program observes them (kernel/fork.c `copy_process()` with `dup_fd()` and `dup_mmap()`,
 * fs/exec.c `begin_new_exec()`), and `wait4()` for a child: what the `exec` bridge gives a real program's
 * children. Not rulebook rules: named by the kernel function. Simulator only: the TypeScript runtimes have no
 * fork (the real-kernel runtime's processes cannot fork a simulated one), so these do not run on Linux 7.3.
 */
import { describe, expect, it } from 'vitest';
import { extraSyscall, type Sys } from '../../src/sim/process.ts';
import { createSimulator, type Simulator } from '../../src/sim/simulator.ts';
import {
  EBADF,
  ECHILD,
  F_GETFD,
  F_SETFD,
  FD_CLOEXEC,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  O_CLOEXEC,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  SEEK_CUR,
  SEEK_SET,
} from '../../src/uapi/index.ts';
import { allocHeapDmabuf } from '../../src/user/dmabuf.ts';
import { ascii } from '../helpers.ts';

/** Forks the process of `sys` with `body` as the child's program, then waits for the child (wait4). */
async function forkAndWait(
  sim: Simulator,
  sys: Sys,
  body: (child: Sys) => Promise<unknown>,
): Promise<number> {
  const pid = sim.spawn('child', body, { forked: sim.kernel.fork(sim.kernel.tasks.get(sys.pid)!) });
  const reaped = await extraSyscall(sys, 'wait4', [pid, 0], (t) => sim.kernel.sys.wait4(t, pid, 0));
  expect(reaped).toBe(pid);
  return pid;
}

/** Runs `body` as the only top-level process and returns its value. */
async function run<R>(body: (sim: Simulator, sys: Sys) => Promise<R>): Promise<R> {
  const sim = createSimulator();
  let value: R | undefined;
  sim.spawn('parent', async (sys) => {
    value = await body(sim, sys);
  });
  const result = await sim.run();
  for (const p of result.processes) expect(p.status, `${p.name}: ${p.reason}`).toBe('exited');
  return value as R;
}

describe('fork: copy_process() (kernel/fork.c)', () => {
  it('dup_fd(): the child shares the open file, so its read moves the parent offset; close-on-exec flags are kept', async () => {
    const out = await run(async (sim, sys) => {
      const fd = await sys.memfd_create('shared-offset', 0);
      const ex = await sys.memfd_create('cloexec', 0);
      await sys.fcntl(ex, F_SETFD, FD_CLOEXEC);
      const buf = sys.mem.alloc(8);
      sys.mem.write(buf, ascii('abcdefgh'));
      await sys.write(fd, buf, 8);
      await sys.lseek(fd, 0, SEEK_SET);
      let childSaw = '';
      let childFlags: number[] = [];
      await forkAndWait(sim, sys, async (child) => {
        const b = child.mem.alloc(4);
        expect(await child.read(fd, b, 3)).toBe(3);
        childSaw = new TextDecoder().decode(child.mem.read(b, 3));
        childFlags = [await child.fcntl(fd, F_GETFD), await child.fcntl(ex, F_GETFD)];
      });
      return { childSaw, childFlags, offset: await sys.lseek(fd, 0, SEEK_CUR) };
    });
    expect(out).toEqual({ childSaw: 'abc', childFlags: [0, FD_CLOEXEC], offset: 3 });
  });

  it("dup_fd(): the child's close drops its reference only; the parent's fd stays open", async () => {
    const out = await run(async (sim, sys) => {
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR | O_CLOEXEC);
      let closed: number[] = [];
      await forkAndWait(sim, sys, async (child) => {
        closed = [await child.close(heap), await child.close(heap)];
      });
      return { closed, parent: await sys.fcntl(heap, F_GETFD) };
    });
    expect(out).toEqual({ closed: [0, -EBADF], parent: FD_CLOEXEC });
  });

  it('dup_mmap(): a MAP_SHARED dma-buf mapping shows the same pages; private and anonymous memory is copied', async () => {
    const out = await run(async (sim, sys) => {
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR | O_CLOEXEC);
      const buf = await allocHeapDmabuf(sys, heap, 4096);
      if (typeof buf === 'number') throw new Error(`alloc: ${buf}`);
      const memfd = await sys.memfd_create('private', 0);
      await sys.ftruncate(memfd, 4096);
      const priv = await sys.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, memfd, 0);
      const own = sys.mem.alloc(16);
      sys.mem.write(buf.addr, ascii('parent'));
      sys.mem.write(own, ascii('parent'));
      let childSaw = '';
      await forkAndWait(sim, sys, async (child) => {
        childSaw = new TextDecoder().decode(child.mem.read(buf.addr, 6));
        child.mem.write(buf.addr, ascii('child!'));
        child.mem.write(own, ascii('child!'));
        child.mem.write(priv, ascii('child!'));
      });
      const text = (addr: number) => new TextDecoder().decode(sys.mem.read(addr, 6));
      return { childSaw, shared: text(buf.addr), heap: text(own), priv: sys.mem.read(priv, 6) };
    });
    expect(out).toEqual({
      childSaw: 'parent',
      shared: 'child!',
      heap: 'parent',
      priv: new Uint8Array(6),
    });
  });

  it("dup_mmap(): the child's copy of a mapping holds the file; the buffer lives until both unmapped and closed", async () => {
    const sim = createSimulator();
    sim.spawn('parent', async (sys) => {
      const memfd = await sys.memfd_create('held', 0);
      await sys.ftruncate(memfd, 4096);
      const addr = await sys.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
      await sys.close(memfd);
      await forkAndWait(sim, sys, async (child) => {
        expect(await child.munmap(addr, 4096)).toBe(0);
      });
      sys.mem.write(addr, ascii('still mapped'));
      expect(new TextDecoder().decode(sys.mem.read(addr, 12))).toBe('still mapped');
    });
    const result = await sim.run();
    expect(result.processes.map((p) => p.status)).toEqual(['exited', 'exited']);
    expect(result.liveObjects).toEqual({});
  });

  it('pending signals are not inherited (init_sigpending()); handlers are; the pid is the next one and comm the parent', () => {
    const sim = createSimulator();
    const parent = sim.kernel.createTask('prog', false);
    parent.pendingSignals.push(10);
    parent.handlers.set(10, { restart: true });
    const child = sim.kernel.fork(parent);
    expect({
      pid: child.pid,
      comm: child.comm,
      pending: child.pendingSignals,
      handled: [...child.handlers],
    }).toEqual({
      pid: parent.pid + 1,
      comm: 'prog',
      pending: [],
      handled: [[10, { restart: true }]],
    });
  });
});

describe('execve: begin_new_exec() (fs/exec.c)', () => {
  it('closes the close-on-exec fds only, drops every mapping, resets handlers and takes the new comm', async () => {
    const sim = createSimulator();
    let task: ReturnType<Simulator['kernel']['tasks']['get']>;
    let before: number[] = [];
    let after: number[] = [];
    let vmas = -1;
    sim.spawn('sh', async (sys) => {
      await sys.open('/dev/dma_heap/system', O_RDWR);
      await sys.open('/dev/dma_heap/system', O_RDWR | O_CLOEXEC);
      await sys.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      await sys.sigaction(10, { restart: false });
      task = sim.kernel.tasks.get(sys.pid);
      before = task!.files.openFds();
      expect(
        await extraSyscall(sys, 'execve', ['/usr/bin/cat-with-a-long-name'], (t) => {
          sim.kernel.exec(t, 'cat-with-a-long-name');
          return 0;
        }),
      ).toBe(0);
      after = task!.files.openFds();
      vmas = task!.mm.vmas.length;
    });
    await sim.run();
    expect({ before, after }).toEqual({ before: [0, 1, 2, 3, 4], after: [0, 1, 2, 3] });
    expect({ comm: task!.comm, vmas, handlers: task!.handlers.size }).toEqual({
      comm: 'cat-with-a-long',
      vmas: 0,
      handlers: 0,
    });
  });
});

describe('wait4 (kernel/exit.c do_wait())', () => {
  it('-ECHILD without children; WNOHANG is 0 while the child runs; then the exited child is reaped once', async () => {
    const out = await run(async (sim, sys) => {
      const wait = (pid: number, options: number) =>
        extraSyscall(sys, 'wait4', [pid, options], (t) => sim.kernel.sys.wait4(t, pid, options));
      const none = await wait(-1, 0);
      const pid = sim.spawn('child', async (c) => c.nanosleep(1000), {
        forked: sim.kernel.fork(sim.kernel.tasks.get(sys.pid)!),
      });
      return [none, await wait(pid, 1), (await wait(-1, 0)) === pid, await wait(-1, 0)];
    });
    expect(out).toEqual([-ECHILD, 0, true, -ECHILD]);
  });
});
