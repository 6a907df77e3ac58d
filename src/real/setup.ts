/**
 * Runs and checks the real-kernel oracle's setup (`real/setup/setup.sh`): host packages, Debian's 7.3 kernel
 * and IIO modules, the sid build chroot, our module and guest programs, and the initramfs.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  defaultCacheDir,
  findExecutable,
  QEMU_BINARY,
  type RealPaths,
  realPaths,
  SETUP_SCRIPT,
} from './paths.ts';
import { readVmState, startDetached, stop } from './vm.ts';

/** The one line a real-kernel test file prints when it skips for lack of setup. */
export const SETUP_SKIP_MESSAGE =
  'real-kernel tests skipped: run `npx iio-sim kernel setup` (needs qemu-system-x86, debootstrap) to enable them';

/** Options of {@link runSetup}. */
export interface SetupOptions {
  /** Cache folder to fill (default {@link defaultCacheDir}); passed to the script as `IIO_SIM_CACHE`. */
  readonly cacheDir?: string;
  /** Receives the progress lines (`==> step ...`, `--> ...`, failures); with `verbose`, every line. */
  readonly log?: (line: string) => void;
  /** Also pass the build tools' output (indented lines) to `log`. */
  readonly verbose?: boolean;
  /** Extra environment for the script, e.g. `IIO_SIM_MODULE_SRC`, `IIO_SIM_GUEST_SRC`, `IIO_SIM_MIRROR`. */
  readonly env?: Readonly<Record<string, string>>;
  /** The script to run (default {@link SETUP_SCRIPT}); tests replace it. */
  readonly script?: string;
}

/** What {@link runSetup} resolves to; it never rejects. */
export interface SetupResult {
  /** The script exited with status 0. */
  readonly ok: boolean;
  /** The script's exit status (-1 when it could not be started or was killed by a signal). */
  readonly exitCode: number;
  /** The step running when it failed (`host`, `download`, `kernel`, `chroot`, `module`, `guest`, `initramfs`). */
  readonly failedStep: string | null;
  /** One line saying what failed, with the exit status and the step; null on success. */
  readonly error: string | null;
  /** The last lines the script printed (at most 40), for a caller that wants to show more. */
  readonly tail: readonly string[];
  /** Wall-clock seconds the run took. */
  readonly seconds: number;
}

const STEP_LINE = /^==> step (\S+):/;
const FAILURE_LINE = /^!!! step (\S+) failed(?: \(exit \d+\))?(?: at line \d+)?: (.*)$/;
const TAIL_LINES = 40;

/**
 * Runs `real/setup/setup.sh` into `cacheDir`. Progress goes to `log` line by line; the returned
 * {@link SetupResult} carries a one-line `error` such as
 * "kernel setup failed in step 'chroot' (exit 1): debootstrap failed; see ~/.cache/iio-dmabuf-sim/debootstrap.log".
 */
export function runSetup(options: SetupOptions = {}): Promise<SetupResult> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const log = options.log ?? (() => {});
  const script = options.script ?? SETUP_SCRIPT;
  const started = process.hrtime.bigint();
  const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  let step: string | null = null;
  let failure: string | null = null;
  const tail: string[] = [];

  const onLine = (line: string): void => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    const stepMatch = STEP_LINE.exec(line);
    if (stepMatch) step = stepMatch[1] ?? step;
    const failureMatch = FAILURE_LINE.exec(line);
    if (failureMatch) {
      step = failureMatch[1] ?? step;
      failure = failureMatch[2] ?? null;
    }
    if (options.verbose || /^(==>|-->|!!!|E:|W:)/.test(line)) log(line);
  };

  return new Promise((resolveResult) => {
    const finish = (exitCode: number, reason: string | null): void => {
      const ok = exitCode === 0 && reason === null;
      const where = step === null ? '' : ` in step '${step}'`;
      const detail = reason ?? failure ?? tail.at(-1) ?? 'no output';
      resolveResult({
        ok,
        exitCode,
        failedStep: ok ? null : step,
        error: ok ? null : `kernel setup failed${where} (exit ${exitCode}): ${detail}`,
        tail: [...tail],
        seconds: seconds(),
      });
    };
    if (!existsSync(script)) {
      finish(-1, `no setup script at ${script}`);
      return;
    }
    const child = spawn('bash', [script], {
      env: { ...process.env, ...options.env, IIO_SIM_CACHE: cacheDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = 2;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    const settle = (): void => {
      if (pending > 0 || exit === null) return;
      if (exit.signal !== null) finish(-1, `killed by ${exit.signal}`);
      else finish(exit.code ?? -1, null);
    };
    for (const stream of [child.stdout, child.stderr]) {
      const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on('line', onLine);
      lines.on('close', () => {
        pending -= 1;
        settle();
      });
    }
    child.on('error', (e) => finish(-1, `cannot run bash: ${e.message}`));
    child.on('close', (code, signal) => {
      exit = { code, signal };
      settle();
    });
  });
}

/** What {@link checkSetup} found. */
export interface SetupStatus {
  /** Everything a real-kernel test run needs is there (kernel, initramfs, module, both executors, QEMU). */
  readonly ready: boolean;
  /** The VM can boot (kernel image, initramfs and QEMU are there), even if the test programs are not. */
  readonly bootable: boolean;
  /** One human-readable entry per missing artifact, e.g. "initramfs (/root/.cache/.../initramfs.cpio.gz)". */
  readonly missing: readonly string[];
  /** The artifact paths that were checked. */
  readonly paths: RealPaths;
}

/** Tells whether the setup's artifacts exist under `cacheDir` (default {@link defaultCacheDir}); fast, no I/O beyond `stat`. */
export function checkSetup(cacheDir: string = defaultCacheDir()): SetupStatus {
  const paths = realPaths(cacheDir);
  const bootMissing: string[] = [];
  const testMissing: string[] = [];
  if (findExecutable(QEMU_BINARY) === null)
    bootMissing.push(`${QEMU_BINARY} on PATH (package qemu-system-x86)`);
  if (!existsSync(paths.vmlinuz)) bootMissing.push(`kernel image (${paths.vmlinuz})`);
  if (!existsSync(paths.initramfs)) bootMissing.push(`initramfs (${paths.initramfs})`);
  if (!existsSync(paths.moduleLoadOrder)) {
    testMissing.push(`IIO modules (${paths.moduleLoadOrder})`);
  } else {
    for (const name of readFileSync(paths.moduleLoadOrder, 'utf8').split('\n')) {
      const ko = join(paths.kernelModulesDir, `${name}.ko`);
      if (name !== '' && !existsSync(ko)) testMissing.push(`IIO module ${name} (${ko})`);
    }
  }
  if (!existsSync(paths.simModule)) testMissing.push(`test driver module (${paths.simModule})`);
  if (!existsSync(paths.executor)) testMissing.push(`guest executor (${paths.executor})`);
  if (!existsSync(paths.executor32)) testMissing.push(`32-bit guest executor (${paths.executor32})`);
  const missing = [...bootMissing, ...testMissing];
  return { ready: missing.length === 0, bootable: bootMissing.length === 0, missing, paths };
}

/** Output streams of {@link kernelCommand} (the same shape as the CLI's). */
export interface KernelCommandIo {
  /** A line for standard output. */
  out(line: string): void;
  /** A line for standard error. */
  err(line: string): void;
}

/** Usage of {@link kernelCommand}. */
export const KERNEL_USAGE = 'usage: iio-sim kernel setup [--verbose] | start | stop | status';

/**
 * `iio-sim kernel setup|start|stop|status`, ready for the CLI to call with the words after `kernel`:
 * - `setup [--verbose]`: runs {@link runSetup}, printing its progress;
 * - `start`: starts the detached VM (see {@link startDetached}) and prints its pid, socket and console log;
 * - `stop`: stops it;
 * - `status`: says what the setup lacks and whether a VM is running.
 * Resolves to the exit status: 0 done, 1 failed, 2 bad usage.
 */
export async function kernelCommand(args: readonly string[], io: KernelCommandIo): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case 'setup': {
        if (rest.some((a) => a !== '--verbose' && a !== '-v')) break;
        const verbose = rest.length > 0;
        const result = await runSetup({ log: io.out, verbose });
        if (!result.ok) {
          // The build tools' own output is what explains a failed build.
          if (!verbose)
            for (const line of result.tail.filter((l) => l.startsWith('    ')).slice(-15)) io.err(line);
          io.err(result.error ?? 'kernel setup failed');
          return 1;
        }
        return 0;
      }
      case 'start': {
        if (rest.length > 0) break;
        const { state, alreadyRunning } = await startDetached();
        io.out(
          `${alreadyRunning ? 'already running' : `started in ${state.bootSeconds.toFixed(1)} s`}: pid ${state.pid}, ` +
            `socket ${state.socketPath}, console ${state.consoleLogPath}`,
        );
        return 0;
      }
      case 'stop': {
        if (rest.length > 0) break;
        io.out((await stop()) ? 'stopped' : 'no VM was running');
        return 0;
      }
      case 'status': {
        if (rest.length > 0) break;
        const status = checkSetup();
        io.out(
          status.ready
            ? `setup: ready (${status.paths.cacheDir})`
            : `setup: missing ${status.missing.join('; ')}`,
        );
        const state = readVmState();
        io.out(
          state === null ? 'vm: not running' : `vm: running, pid ${state.pid}, socket ${state.socketPath}`,
        );
        return 0;
      }
    }
  } catch (e) {
    io.err(e instanceof Error ? e.message : String(e));
    return 1;
  }
  io.err(KERNEL_USAGE);
  return 2;
}
