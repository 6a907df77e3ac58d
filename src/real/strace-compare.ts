/**
 * Compares two strace logs of one unmodified program: the simulator's (`iio-sim exec --strace-compat`,
 * only the calls on the simulated world) and the real kernel's (strace 6.1 `-f -y` in the guest, every call
 * of the process, ./host-programs.ts). From the real log only the calls on the simulated world are kept:
 * those on an fd `-y` names as an IIO device, sysfs under IIO, a dma-heap, udmabuf, a dma-buf, a memfd or an
 * IIO anon inode, on a path of that world, and munmap of a mapping of such an fd. The two are then compared
 * call by call: name, arguments where they are not addresses, result and errno, under the rules of
 * ./compare.ts ({@link COMPARISON_RULES}); the first disagreement is reported as `iio-sim diff` reports one.
 *
 * @packageDocumentation
 */
import type { RuleId } from './compare.ts';

/** One call of an strace log, unfinished/resumed halves joined. */
export interface StraceCall {
  readonly name: string;
  /** Top-level arguments as strace printed them. */
  readonly args: readonly string[];
  /** What follows ` = `: the result, with errno text or decoded results. */
  readonly ret: string;
  /** The call as printed (without pid and timestamp). */
  readonly text: string;
}

const PREFIX = /^(?:\[pid\s+\d+\]\s+|\d+\s+)?(?:\d+\.\d+\s+)?/;

/**
 * Walks `s` from `from`, skipping quoted strings, and calls `visit(i, depth)` for every character outside
 * them with the bracket depth after it (`(`, `[`, `{` open; `)`, `]`, `}` close); stops at the first index
 * `visit` returns true for and gives it, or -1.
 */
function scanTop(s: string, from: number, visit: (i: number, depth: number) => boolean): number {
  let depth = 0;
  let quote = false;
  for (let i = from; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === '"') quote = false;
      continue;
    }
    if (c === '"') quote = true;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    if (visit(i, depth)) return i;
  }
  return -1;
}

/** Splits `s` at top-level `sep` characters (outside quotes, brackets, braces and parentheses). */
function splitTop(s: string, sep: string): string[] {
  const out: string[] = [];
  let start = 0;
  scanTop(s, 0, (i, depth) => {
    if (s[i] === sep && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
    return false;
  });
  out.push(s.slice(start).trim());
  return out.filter((x, _i, a) => x !== '' || a.length > 1);
}

/** Index of the `)` closing the `(` at `open`, or -1. */
function closing(s: string, open: number): number {
  return scanTop(s, open, (i, depth) => depth === 0 && (s[i] === ')' || s[i] === ']' || s[i] === '}'));
}

function parseCall(text: string): StraceCall | null {
  const m = /^([a-z_][a-z0-9_]*)\(/.exec(text);
  if (!m) return null;
  const open = m[1]!.length;
  const close = closing(text, open);
  if (close < 0) return null;
  const eq = /^\s*=\s*(.*)$/.exec(text.slice(close + 1));
  if (!eq) return null;
  const inner = text.slice(open + 1, close);
  return { name: m[1]!, args: inner.trim() === '' ? [] : splitTop(inner, ','), ret: eq[1]!.trim(), text };
}

/**
 * The calls of an strace log (strace 6.1's format, with or without `[pid N]`/`PID ` prefixes and
 * timestamps, or the simulator's). Signals, exits, the simulator's notes and calls that never returned
 * (`= ?`) are left out.
 */
export function parseStraceLog(text: string): StraceCall[] {
  const calls: StraceCall[] = [];
  const pending = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const pid = /^(?:\[pid\s+(\d+)\]|(\d+)\s)/.exec(raw);
    const key = pid ? (pid[1] ?? pid[2]!) : '';
    let line = raw.replace(PREFIX, '').trimEnd();
    if (line === '' || line.startsWith('---') || line.startsWith('+++') || line.startsWith('[')) continue;
    const unfinished = / <unfinished \.\.\.>$/.exec(line);
    if (unfinished) {
      pending.set(key, line.slice(0, unfinished.index).trimEnd());
      continue;
    }
    const resumed = /^<\.\.\. [a-z0-9_]+ resumed>\s?/.exec(line);
    if (resumed) {
      const head = pending.get(key) ?? '';
      pending.delete(key);
      const rest = line.slice(resumed[0].length);
      line = head.endsWith('(') || rest.startsWith(')') ? head + rest : `${head} ${rest}`;
    }
    const call = parseCall(line);
    if (call && call.ret !== '?') calls.push(call);
  }
  return calls;
}

/** What a real `-y` fd name says the fd is, when it is part of the simulated world. */
export type SimFdKind =
  | 'iio-buffer'
  | 'iio-device'
  | 'iio-sysfs'
  | 'dmabuf'
  | 'heap'
  | 'udmabuf'
  | 'memfd'
  | 'iio-event';

/** The kind of a `-y` fd name, or null for the rest of the world. */
export function simFdKind(name: string): SimFdKind | null {
  if (name === 'anon_inode:iio:buffer') return 'iio-buffer';
  if (name.startsWith('anon_inode:iio:event')) return 'iio-event';
  if (name.startsWith('/dev/iio:device')) return 'iio-device';
  if (name === '/dev/dma_heap' || name.startsWith('/dev/dma_heap/')) return 'heap';
  if (name === '/dev/udmabuf') return 'udmabuf';
  if (name.startsWith('/dmabuf:') || name.startsWith('anon_inode:dmabuf')) return 'dmabuf';
  if (name.startsWith('/memfd:')) return 'memfd';
  if (name.startsWith('/sys/') && /\/bus\/iio|\/iio:device|\/trigger\d/.test(name)) return 'iio-sysfs';
  return null;
}

/** Whether a path names the simulated world. */
export function simPath(path: string): boolean {
  return (
    /^\/(dev\/iio:device|dev\/dma_heap(\/|$)|dev\/udmabuf$|sys\/bus\/iio(\/|$))/.test(path) ||
    (path.startsWith('/sys/') && /\/iio:device\d|\/trigger\d/.test(path))
  );
}

/** Calls glibc or the bridge makes on the side (the stat family): not simulated calls (rule libc-stat). */
const STAT_CALLS = new Set([
  'stat',
  'lstat',
  'fstat',
  'newfstatat',
  'fstatat64',
  'statx',
  'access',
  'faccessat',
  'faccessat2',
]);

/** `N<name>` fd tokens outside strings: their numbers and names. */
function fdTokens(s: string): { fd: number; name: string }[] {
  const out: { fd: number; name: string }[] = [];
  const re = /"(?:[^"\\]|\\.)*"|(?<![\w.])(\d+)<((?:[^<>]|<[^<>]*>)*)>/g;
  for (const m of s.matchAll(re)) if (m[1] !== undefined) out.push({ fd: Number(m[1]), name: m[2]! });
  return out;
}

/** `s` without its `-y` fd names (outside strings). */
function stripFdNames(s: string): string {
  return s.replace(
    /"(?:[^"\\]|\\.)*"|(?<![\w.])(\d+|AT_FDCWD)<((?:[^<>]|<[^<>]*>)*)>(?:\(deleted\))?/g,
    (all, fd) => (fd === undefined ? all : fd),
  );
}

/** A call of the real log kept for comparison, with the fd kinds `-y` named. */
export interface KeptCall extends StraceCall {
  /** Kinds of the simulated fds the call names (fd number → kind). */
  readonly kinds: ReadonlyMap<number, SimFdKind>;
  /** Their `-y` names (fd number → the file's path). */
  readonly names: ReadonlyMap<number, string>;
}

/**
 * The calls of a real `strace -y` log that act on the simulated world, their fd names removed and poll
 * arrays cut down to the simulated fds (the rest of the program's world is not the simulator's).
 */
export function simulatedCalls(calls: readonly StraceCall[]): KeptCall[] {
  const kept: KeptCall[] = [];
  const maps: { addr: bigint; len: bigint }[] = [];
  for (const c of calls) {
    if (STAT_CALLS.has(c.name)) continue;
    const kinds = new Map<number, SimFdKind>();
    const names = new Map<number, string>();
    for (const t of [...c.args.flatMap(fdTokens), ...fdTokens(c.ret)]) {
      const k = simFdKind(t.name);
      if (k) {
        kinds.set(t.fd, k);
        names.set(t.fd, t.name);
      }
    }
    const path = c.args.find((a) => a.startsWith('"'));
    const onPath =
      ['openat', 'open', 'readlink', 'readlinkat'].includes(c.name) &&
      path &&
      simPath(JSON.parse(path) as string);
    let munmapped = false;
    if (c.name === 'munmap') {
      const addr = BigInt(c.args[0] ?? '0');
      const i = maps.findIndex((m) => addr >= m.addr && addr < m.addr + m.len);
      if (i >= 0) {
        munmapped = true;
        maps.splice(i, 1);
      }
    }
    if (kinds.size === 0 && !onPath && !munmapped) continue;
    if (c.name === 'mmap' && /^0x[0-9a-f]+$/.test(c.ret))
      maps.push({ addr: BigInt(c.ret), len: BigInt(c.args[1] ?? '0') });
    kept.push(trimPoll({ ...stripCall(c), kinds, names }));
  }
  return kept;
}

function stripCall(c: StraceCall): StraceCall {
  const args = c.args.map(stripFdNames);
  const ret = stripFdNames(c.ret);
  return { name: c.name, args, ret, text: `${c.name}(${args.join(', ')}) = ${ret}` };
}

/** A poll's `[{fd=N, ...}, ...]` entries. */
function pollEntries(s: string): string[] {
  const inner = s.trim().replace(/^\[|\]$/g, '');
  return inner === '' ? [] : splitTop(inner, ',');
}

const entryFd = (e: string) => Number(/fd=(-?\d+)/.exec(e)?.[1] ?? 'NaN');

/** A real poll over simulated and other fds, as the simulator logs it: only the simulated fds. */
function trimPoll(c: KeptCall): KeptCall {
  if (c.name !== 'poll' && c.name !== 'ppoll') return c;
  const entries = pollEntries(c.args[0] ?? '[]').filter((e) => c.kinds.has(entryFd(e)));
  const r = /^(\d+) \((\[.*\])\)$/.exec(c.ret);
  const revents = r ? pollEntries(r[2]!).filter((e) => c.kinds.has(entryFd(e))) : [];
  const ret = r ? (revents.length ? `${revents.length} ([${revents.join(', ')}])` : '0 (Timeout)') : c.ret;
  const args = [`[${entries.join(', ')}]`, String(entries.length), ...c.args.slice(2)];
  return { ...c, args, ret, text: `${c.name}(${args.join(', ')}) = ${ret}` };
}

/** Which argument positions hold an fd, by call. */
const FD_ARG: Readonly<Record<string, readonly number[]>> = {
  read: [0],
  write: [0],
  pread64: [0],
  pwrite64: [0],
  lseek: [0],
  _llseek: [0],
  ioctl: [0],
  close: [0],
  fcntl: [0],
  fcntl64: [0],
  dup: [0],
  dup2: [0, 1],
  dup3: [0, 1],
  ftruncate: [0],
  ftruncate64: [0],
  getdents64: [0],
  mmap: [4],
  mmap2: [4],
  readv: [0],
  writev: [0],
};
/** Calls whose non-negative result is a new fd. */
const FD_RESULT = new Set(['openat', 'open', 'dup', 'dup2', 'dup3', 'memfd_create', 'pidfd_getfd']);

/**
 * Gives fds names by the order they appear in (`fd#1`, `fd#2`...; a number closed and reused is a new name):
 * in the simulator's process the program's own fds (an eventfd, stdio) take no numbers, on the kernel they do.
 */
class FdNames {
  #names = new Map<number, string>();
  #next = 0;
  name(fd: number): string {
    let n = this.#names.get(fd);
    if (!n) {
      n = `fd#${++this.#next}`;
      this.#names.set(fd, n);
    }
    return n;
  }
  closed(fd: number): void {
    this.#names.delete(fd);
  }
}

/** A call made comparable: fds named by appearance, addresses and data replaced where the rules say. */
export interface NormalCall {
  readonly name: string;
  readonly args: readonly string[];
  readonly ret: string;
  /** The call as logged. */
  readonly text: string;
  /** The named fds' kinds as the real log's `-y` told them (by name). */
  readonly fds: readonly string[];
}

const ADDRESS = /"(?:[^"\\]|\\.)*"|0x[0-9a-f]{6,}/g;

function normalize(calls: readonly StraceCall[]): NormalCall[] {
  const names = new FdNames();
  return calls.map((c) => {
    const fds: string[] = [];
    const nameFd = (s: string) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) return s;
      const name = names.name(n);
      fds.push(name);
      return name;
    };
    let args = c.args.map((a, i) => (FD_ARG[c.name]?.includes(i) ? nameFd(a) : a));
    if (c.name === 'poll' || c.name === 'ppoll')
      args = [args[0]!.replace(/fd=(\d+)/g, (_, fd: string) => `fd=${nameFd(fd)}`), ...args.slice(1)];
    let ret = c.ret.replace(/fd=(\d+)/g, (_, fd: string) => `fd=${names.name(Number(fd))}`);
    const r = /^(\d+)$/.exec(ret);
    if (r && FD_RESULT.has(c.name)) ret = names.name(Number(r[1]));
    if (c.name === 'close' && ret === '0') names.closed(Number(c.args[0]));
    // Addresses are the kernel's and the libc's choice (rule mmap-address); strings are kept as they are.
    const addr = (s: string) => s.replace(ADDRESS, (m) => (m.startsWith('"') ? m : 'ADDR'));
    // The simulator's open() takes no mode (rule open-mode).
    if ((c.name === 'openat' || c.name === 'open') && args.length === 4) args = args.slice(0, 3);
    return { name: c.name, args: args.map(addr), ret: addr(ret), text: c.text, fds };
  });
}

/** What `-y` told of a named fd: its kind and path. */
interface FdInfo {
  readonly kind: SimFdKind;
  readonly path: string;
}

/** The kinds and paths of the fd names of a real log, as `-y` told them. */
function realKinds(kept: readonly KeptCall[], normal: readonly NormalCall[]): Map<string, FdInfo> {
  const kinds = new Map<string, FdInfo>();
  kept.forEach((c, i) => {
    const n = normal[i]!;
    const nums = [
      ...(FD_ARG[c.name] ?? []).map((j) => Number(c.args[j])),
      ...[...(c.args[0] ?? '').matchAll(/fd=(\d+)/g)].map((m) => Number(m[1])),
    ];
    nums.forEach((fd, j) => {
      const k = c.kinds.get(fd);
      const name = n.fds[j];
      if (k && name) kinds.set(name, { kind: k, path: c.names.get(fd) ?? '' });
    });
    const r = /^(\d+)$/.exec(c.ret);
    if (r && FD_RESULT.has(c.name)) {
      const k = c.kinds.get(Number(r[1]));
      if (k) kinds.set(n.ret, { kind: k, path: c.names.get(Number(r[1])) ?? '' });
    }
  });
  return kinds;
}

/** How two strace logs compare. */
export interface StraceComparison {
  /** Calls on the simulated world in each log. */
  readonly simCalls: number;
  readonly realCalls: number;
  /** Calls found in agreement (exactly, under a rule, or tolerated). */
  readonly agreed: number;
  /** How often each rule made two calls agree. */
  readonly rules: ReadonlyMap<RuleId, number>;
  /** The first disagreement. */
  readonly first?: {
    readonly index: number;
    readonly sim?: NormalCall;
    readonly real?: NormalCall;
    readonly what: string;
  };
}

const DATA_CALLS = new Set(['read', 'write', 'pread64', 'pwrite64']);

/** One pair of normalized calls under the rules: null when they agree, else what differs. */
function comparePair(
  s: NormalCall,
  r: NormalCall,
  kinds: ReadonlyMap<string, FdInfo>,
  used: (id: RuleId) => void,
): string | null {
  if (s.name !== r.name) return 'a different call';
  const info = kinds.get(r.fds[0] ?? '');
  const kind = info?.kind;
  const iioData = DATA_CALLS.has(s.name) && (kind === 'iio-buffer' || kind === 'iio-device');
  const sa = [...s.args];
  const ra = [...r.args];
  // What a program writes to an output buffer is its own data, the same on both: compared as printed.
  if (iioData && !s.name.includes('write')) {
    // Which scans a read returns is real time's doing (rule iio-data): the length and result are compared.
    sa[1] = ra[1] = '…';
    used('iio-data');
  }
  const rule = s.name === 'read' && kind === 'iio-sysfs' ? numberRule(info?.path ?? '') : null;
  if (rule && NUMBER.test(sa[1] ?? '') && NUMBER.test(ra[1] ?? '') && sa[1] !== ra[1]) {
    // A value real time decides (rules data-available, raw-sample): both a number; their lengths may differ.
    used(rule);
    return sa[0] === ra[0] && sa[2] === ra[2] && /^\d+$/.test(s.ret) && /^\d+$/.test(r.ret)
      ? null
      : 'different arguments';
  }
  if ((s.name === 'poll' || s.name === 'ppoll') && sa[2] !== ra[2] && sameWait(sa[2], ra[2])) {
    // How long is the program's own clock's doing (rule poll-timeout): what it asks for is compared.
    sa[2] = ra[2]!;
    used('poll-timeout');
  }
  if (sa.join(', ') !== ra.join(', ')) return 'different arguments';
  if (s.ret === r.ret) return null;
  if (iioData && (s.ret.startsWith('-1 EAGAIN') || r.ret.startsWith('-1 EAGAIN'))) {
    used('nonblocking-read');
    return null;
  }
  if ((s.name === 'poll' || s.name === 'ppoll') && pollReadinessOnly(s.ret, r.ret, kinds)) {
    used('poll-readiness');
    return null;
  }
  return 'different results';
}

/** Whether two poll timeouts (as printed) ask for the same kind of wait: forever, none, or a while. */
function sameWait(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || !/^-?\d+$/.test(a) || !/^-?\d+$/.test(b)) return false;
  return Math.sign(Number(a)) === Math.sign(Number(b));
}

const READINESS = /\|?POLL(IN|RDNORM|OUT|WRNORM)\b/g;

function pollReadinessOnly(a: string, b: string, kinds: ReadonlyMap<string, FdInfo>): boolean {
  const entries = (s: string) => {
    const m = /\((\[.*\])\)$/.exec(s);
    return m ? pollEntries(m[1]!) : [];
  };
  const strip = (e: string) =>
    kinds.get(/fd=(fd#\d+)/.exec(e)?.[1] ?? '')?.kind === 'iio-buffer'
      ? e.replace(READINESS, '').replace(/revents=$|revents=\}/, 'revents=}')
      : e;
  const norm = (s: string) =>
    entries(s)
      .map(strip)
      .filter((e) => !/revents=\}/.test(e))
      .join(', ');
  return norm(a) === norm(b);
}

/** A decimal number and a newline, as strace quotes it. */
const NUMBER = /^"-?\d+\\n"$/;

/** The rule under which a sysfs file's value is compared as a number, by its path. */
function numberRule(path: string): RuleId | null {
  if (path.endsWith('/data_available')) return 'data-available';
  if (/\/in_[a-z0-9_]+_raw$/.test(path)) return 'raw-sample';
  return null;
}

/** A call one side may make more often than the other (rules poll-readiness and nonblocking-read). */
function retried(c: NormalCall, kinds: ReadonlyMap<string, FdInfo>): RuleId | null {
  if ((c.name === 'poll' || c.name === 'ppoll') && /^0 \(Timeout\)$/.test(c.ret)) return 'poll-readiness';
  const kind = kinds.get(c.fds[0] ?? '')?.kind;
  if (
    DATA_CALLS.has(c.name) &&
    (kind === 'iio-buffer' || kind === 'iio-device') &&
    c.ret.startsWith('-1 EAGAIN')
  )
    return 'nonblocking-read';
  return null;
}

/**
 * Compares the simulator's strace log of a program with the real kernel's `strace -f -y` log of the same
 * program, call by call, up to the first disagreement.
 */
export function compareStraceLogs(simLog: string, realLog: string): StraceComparison {
  const sim = normalize(parseStraceLog(simLog).filter((c) => !STAT_CALLS.has(c.name)));
  const kept = simulatedCalls(parseStraceLog(realLog));
  const real = normalize(kept);
  const kinds = realKinds(kept, real);
  const rules = new Map<RuleId, number>();
  const used = (id: RuleId) => rules.set(id, (rules.get(id) ?? 0) + 1);
  let i = 0;
  let j = 0;
  let agreed = 0;
  while (i < sim.length || j < real.length) {
    const s = sim[i];
    const r = real[j];
    // A retry that the same call follows on its side is passed over before it is paired (the call that
    // follows is the one that found something).
    const again = (a: NormalCall[], k: number) =>
      a[k] && a[k + 1] && a[k]!.name === a[k + 1]!.name && a[k]!.args.join() === a[k + 1]!.args.join()
        ? retried(a[k]!, kinds)
        : null;
    const skipSim = s && r && s.ret !== r.ret ? again(sim, i) : null;
    const skipReal = s && r && s.ret !== r.ret && !skipSim ? again(real, j) : null;
    if (skipSim || skipReal) {
      used((skipSim ?? skipReal)!);
      if (skipSim) i++;
      else j++;
      continue;
    }
    const what =
      s && r
        ? comparePair(s, r, kinds, used)
        : s
          ? 'the kernel’s process made no such call'
          : 'the simulator’s process made no such call';
    if (what === null) {
      agreed++;
      i++;
      j++;
      continue;
    }
    // A poll that found nothing, or an EAGAIN read, repeated more often on one side.
    const rs = s && retried(s, kinds);
    const rr = r && retried(r, kinds);
    if (rs) {
      used(rs);
      i++;
      continue;
    }
    if (rr) {
      used(rr);
      j++;
      continue;
    }
    return {
      simCalls: sim.length,
      realCalls: real.length,
      agreed,
      rules,
      first: { index: agreed, ...(s ? { sim: s } : {}), ...(r ? { real: r } : {}), what },
    };
  }
  return { simCalls: sim.length, realCalls: real.length, agreed, rules };
}

/** The comparison as `iio-sim diff` reports a process: `agree (N syscalls)` or the first disagreement. */
export function formatStraceComparison(name: string, c: StraceComparison): string[] {
  const rules = [...c.rules].map(([id, n]) => `${id} ×${n}`).join(', ');
  if (!c.first) return [`${name}: agree (${c.agreed} syscalls)${rules ? `; rules: ${rules}` : ''}`];
  const d = c.first;
  const show = (x?: NormalCall) => (x ? `${x.name}(${x.args.join(', ')}) = ${x.ret}` : '(none)');
  return [
    `${name}: differs at syscall ${d.index + 1} of ${Math.max(c.simCalls, c.realCalls)}: ${d.what}`,
    `      simulator: ${show(d.sim)}`,
    `      kernel:    ${show(d.real)}`,
    `      (as logged: ${d.sim?.text ?? '-'}  |  ${d.real?.text ?? '-'})`,
  ];
}
