/**
 * Host programs on the real kernel: a dynamically linked program of this machine (one of examples/c, a
 * libiio tool, a kernel selftest) is copied into the guest with its shared-library closure and the dynamic
 * loader (PUT), and run there under this machine's strace (RUN), so that its strace log can be compared with
 * the log `iio-sim exec --strace-compat` writes for the same program on the simulator (./strace-compare.ts).
 *
 * @packageDocumentation
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { RunReply } from './protocol.ts';
import type { RealKernel } from './runtime.ts';

/** Where the guest executor runs programs, and where the strace log is written. */
export const GUEST_RUN_DIR = '/tmp/iio-sim-run';
const GUEST_STRACE_LOG = `${GUEST_RUN_DIR}/strace.log`;

/**
 * The options the guest's strace runs with: `-f` follows children, `-y` names each fd's file (how the
 * calls on the simulated world are told from the rest, ./strace-compare.ts), `-qq` drops the attach and exit
 * notes. Everything else is strace 6.1's default output, the format `--strace-compat` reproduces.
 */
export const GUEST_STRACE_OPTIONS = ['-f', '-y', '-qq'] as const;

/** Files a program needs in the guest: guest path → the host file whose bytes go there. */
export type ProgramFiles = Map<string, string>;

/**
 * The program files of `programs` (absolute host paths): each program at its own path, and every shared
 * library and the dynamic loader `ldd` names, at the path `ldd` names (the guest has no ld.so.cache; the
 * loader finds them in its default directories). Throws when `ldd` cannot list a program's libraries.
 */
export function programClosure(programs: readonly string[]): ProgramFiles {
  const files: ProgramFiles = new Map();
  for (const program of programs) {
    if (!isAbsolute(program)) throw new Error(`${program}: not an absolute path`);
    files.set(program, realpathSync(program));
    const r = spawnSync('ldd', [program], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ldd ${program}: ${(r.stderr || r.stdout || '').trim()}`);
    for (const line of r.stdout.split('\n')) {
      const m = /^\s*(?:\S+ => )?(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
      if (m) files.set(m[1]!, realpathSync(m[1]!));
    }
  }
  return files;
}

/** Copies `files` into the guest (mode 0755); resolves to the bytes sent. */
export async function installFiles(k: RealKernel, files: ProgramFiles): Promise<number> {
  let bytes = 0;
  for (const [guest, host] of files) {
    const data = readFileSync(host);
    const r = await k.put(guest, data, 0o755);
    if (r < 0) throw new Error(`PUT ${guest}: errno ${-r}`);
    bytes += data.length;
  }
  return bytes;
}

/** How a program ran in the guest. */
export interface GuestRun {
  /** Its exit code, or 128 + the signal that ended it (as a shell reports it). */
  readonly status: number;
  readonly timedOut: boolean;
  readonly stdout: Buffer;
  readonly stderr: string;
  /** strace's log of every call, with `-y` fd names. */
  readonly strace: string;
}

/** Options of {@link runTraced}. */
export interface RunTracedOptions {
  readonly stdin?: Uint8Array;
  /** The program is killed after this many ms (default 120 s). */
  readonly timeoutMs?: number;
  /** The guest strace (default `/usr/bin/strace`, installed with the program files). */
  readonly strace?: string;
}

/** The shell-style status of a wait status. */
function shellStatus(r: RunReply): number {
  const sig = r.status & 0x7f;
  return sig === 0 ? (r.status >> 8) & 0xff : 128 + sig;
}

/**
 * Runs `argv` (argv[0] an absolute path already installed) in the guest under strace with
 * {@link GUEST_STRACE_OPTIONS}; the log comes back with the program's output and status. No process of
 * `k.spawn()` may run meanwhile (the supervisor waits for the program).
 */
export async function runTraced(
  k: RealKernel,
  argv: readonly string[],
  options: RunTracedOptions = {},
): Promise<GuestRun> {
  const strace = options.strace ?? '/usr/bin/strace';
  const r = await k.runProgram({
    argv: [strace, ...GUEST_STRACE_OPTIONS, '-o', GUEST_STRACE_LOG, '--', ...argv],
    env: ['PATH=/usr/bin:/bin:/usr/sbin:/sbin', 'HOME=/tmp', 'LC_ALL=C'],
    ...(options.stdin ? { stdin: options.stdin } : {}),
    fetch: [GUEST_STRACE_LOG],
    timeoutMs: options.timeoutMs ?? 120_000,
  });
  if (r.error < 0) throw new Error(`RUN ${strace}: errno ${-r.error}`);
  return {
    status: shellStatus(r),
    timedOut: r.timedOut,
    stdout: Buffer.from(r.stdout),
    stderr: Buffer.from(r.stderr).toString('utf8'),
    strace: Buffer.from(r.files[0] ?? new Uint8Array(0)).toString('utf8'),
  };
}
