/**
 * Boots Debian's Linux 7.3 in QEMU (TCG, no KVM) with the oracle's initramfs and connects to the guest
 * executor over a virtio-serial port (`-device virtserialport,name=iio-sim`) backed by a unix socket.
 *
 * Two ways to run a VM:
 * - {@link bootVm}: a VM owned by this process (killed by {@link Vm.close} or when the process exits).
 * - {@link startDetached} / {@link attach} / {@link stop} (`iio-sim kernel start|stop`): a VM that outlives the
 *   process that started it, described by a state file in the cache folder. Only ONE client may be attached
 *   at a time: QEMU's socket serves a single connection, so {@link attach} takes a lock file and fails with
 *   {@link VmBusyError} while another live process holds it. When a client disconnects, the guest's reads of
 *   the port return end-of-file until the next client connects.
 *
 * The guest's serial console (kernel messages at `quiet` level, `iio-sim-init:` lines of `/init`, the
 * executor's stderr) goes to a log file in the cache folder's `vm/` for debugging.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  findExecutable,
  PORT_NAME,
  QEMU_BINARY,
  type RealPaths,
  realPaths,
  socketPathFor,
  vmInstancePaths,
} from './paths.ts';

/** Kernel command line: serial console, quiet boot, and a panic that ends QEMU at once (with `-no-reboot`). */
export const KERNEL_APPEND = 'console=ttyS0 quiet panic=-1';

/** Console line `/init` prints just before it hands over to the executor. */
export const EXECUTOR_STARTED = /iio-sim-init: exec \/bin\/executor/;

/** Console line `/init` prints when it gives up (and powers off). */
const INIT_GAVE_UP = /iio-sim-init: .*\(powering off\)/;

const DEFAULT_MEMORY_MB = 1024;
const DEFAULT_CPU = 'max';
const DEFAULT_BOOT_TIMEOUT_MS = 90_000;
const CONSOLE_LOGS_KEPT = 20;

/** QEMU is not installed (or not on PATH). */
export class QemuMissingError extends Error {
  override readonly name = 'QemuMissingError';
}

/** The VM could not be started, or its guest did not come up. */
export class VmBootError extends Error {
  override readonly name = 'VmBootError';
}

/** {@link attach} found no detached VM running. */
export class VmNotRunningError extends Error {
  override readonly name = 'VmNotRunningError';
}

/** {@link attach} found another client attached to the detached VM. */
export class VmBusyError extends Error {
  override readonly name = 'VmBusyError';
}

/** Options shared by {@link bootVm} and {@link startDetached}. */
export interface VmOptions {
  /** Cache folder holding the setup's artifacts (default: `defaultCacheDir()`). */
  readonly cacheDir?: string;
  /** QEMU binary name or path (default `qemu-system-x86_64`). */
  readonly qemu?: string;
  /** Guest memory in MiB (default 1024). */
  readonly memoryMb?: number;
  /** QEMU CPU model (default `max`: every feature TCG emulates; it boots no slower than `qemu64`). */
  readonly cpu?: string;
  /** Extra kernel command-line words, appended to {@link KERNEL_APPEND}. */
  readonly append?: string;
  /** How long to wait for QEMU's socket ({@link bootVm}) or the executor's start ({@link startDetached}). */
  readonly bootTimeoutMs?: number;
  /** Console log file (default: a fresh file in the cache folder's `vm/`). */
  readonly consoleLog?: string;
  /** Kernel image (default: the cache's `kernel/vmlinuz`). */
  readonly kernel?: string;
  /** Initramfs (default: the cache's `initramfs.cpio.gz`). */
  readonly initramfs?: string;
}

/** How a VM's QEMU process ended. */
export interface VmExit {
  /** Exit status (0 after a guest power-off or a panic with `-no-reboot`), null when killed by a signal. */
  readonly code: number | null;
  /** The signal that killed QEMU, if any. */
  readonly signal: NodeJS.Signals | null;
}

/** A VM owned by this process, returned by {@link bootVm}. */
export interface Vm {
  /**
   * The host end of the guest's `iio-sim` port (a `Duplex`); data written before the guest opens the port
   * waits. Add an `'error'` listener: a QEMU that dies mid-write resets the connection.
   */
  readonly socket: Socket;
  /** QEMU's pid. */
  readonly pid: number;
  /** The unix socket path QEMU listens on. */
  readonly socketPath: string;
  /** The serial console log file. */
  readonly consoleLogPath: string;
  /** Resolves when QEMU exits (guest power-off, panic, or {@link Vm.close}). */
  readonly exited: Promise<VmExit>;
  /** The console log so far. */
  console(): string;
  /** Resolves with the console text once `pattern` matches it; rejects on timeout or when QEMU exits first. */
  waitForConsole(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Closes the socket and ends QEMU (SIGTERM, then SIGKILL after 5 s); resolves when it is gone. */
  close(): Promise<void>;
}

/** What a detached VM's state file holds. */
export interface VmState {
  /** QEMU's pid. */
  readonly pid: number;
  /** The unix socket of the guest's `iio-sim` port. */
  readonly socketPath: string;
  /** The serial console log file. */
  readonly consoleLogPath: string;
  /** The instance name (the state file is `vm/<instance>.state.json`). */
  readonly instance: string;
  /** When it was started (ISO 8601). */
  readonly startedAt: string;
  /** Seconds from starting QEMU to `/init` handing over to the executor. */
  readonly bootSeconds: number;
}

/** Options of {@link startDetached}, {@link attach}, {@link stop} and {@link readVmState}. */
export interface DetachedOptions extends VmOptions {
  /** Name of the detached VM, so several can coexist (default `default`). */
  readonly instance?: string;
}

/** A connection to a detached VM, returned by {@link attach}. */
export interface VmAttachment {
  /** The host end of the guest's `iio-sim` port. */
  readonly socket: Socket;
  /** The VM attached to. */
  readonly state: VmState;
  /** Disconnects and releases the attach lock; the VM keeps running. */
  close(): Promise<void>;
}

/** The inputs of {@link qemuArgs}. */
export interface QemuArgsInput {
  /** Kernel image. */
  readonly kernel: string;
  /** Initramfs. */
  readonly initramfs: string;
  /** Serial console log file. */
  readonly consoleLog: string;
  /** Unix socket for the `iio-sim` port. */
  readonly socketPath: string;
  /** Guest memory in MiB. */
  readonly memoryMb: number;
  /** QEMU CPU model. */
  readonly cpu: string;
  /** Extra kernel command-line words. */
  readonly append?: string;
  /** Pid file: QEMU daemonizes (detaches) once set up and writes its pid there. */
  readonly daemonizePidFile?: string;
}

/** Escapes a value inside a QEMU `-chardev` option list (a comma is written twice). */
function optionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/** QEMU's command line (without the binary) for one oracle VM. */
export function qemuArgs(input: QemuArgsInput): string[] {
  const append = input.append ? `${KERNEL_APPEND} ${input.append}` : KERNEL_APPEND;
  const args = [
    '-nodefaults',
    '-no-user-config',
    '-accel',
    'tcg',
    '-cpu',
    input.cpu,
    '-m',
    String(input.memoryMb),
    '-smp',
    '1',
    '-display',
    'none',
    '-monitor',
    'none',
    '-no-reboot',
    '-chardev',
    `file,id=con0,path=${optionValue(input.consoleLog)}`,
    '-serial',
    'chardev:con0',
    '-kernel',
    input.kernel,
    '-initrd',
    input.initramfs,
    '-append',
    append,
    '-device',
    'virtio-serial-pci',
    '-chardev',
    `socket,id=c0,path=${optionValue(input.socketPath)},server=on,wait=off`,
    '-device',
    `virtserialport,chardev=c0,name=${PORT_NAME}`,
  ];
  if (input.daemonizePidFile !== undefined) args.push('-daemonize', '-pidfile', input.daemonizePidFile);
  return args;
}

/** The QEMU binary to run, or {@link QemuMissingError}. */
function resolveQemu(qemu: string | undefined): string {
  const name = qemu ?? QEMU_BINARY;
  const found = findExecutable(name);
  if (found === null) {
    throw new QemuMissingError(
      `${name} not found: install QEMU (\`apt-get install qemu-system-x86\`) or run \`npx iio-sim kernel setup\``,
    );
  }
  return found;
}

function bootFiles(paths: RealPaths, options: VmOptions): { kernel: string; initramfs: string } {
  const kernel = options.kernel ?? paths.vmlinuz;
  const initramfs = options.initramfs ?? paths.initramfs;
  for (const [what, file] of [
    ['kernel image', kernel],
    ['initramfs', initramfs],
  ] as const) {
    if (!existsSync(file))
      throw new VmBootError(`no ${what} at ${file}: run \`npx iio-sim kernel setup\` first`);
  }
  return { kernel, initramfs };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/**
 * Keeps the newest console logs of {@link bootVm} so the folder does not grow forever, and removes the sockets
 * left by processes that died without closing their VM.
 */
function pruneVmDir(vmDir: string): void {
  for (const f of readdirSync(vmDir)) {
    const owner = /^vm-(\d+)-\d+\.sock$/.exec(f);
    if (owner !== null && !pidAlive(Number(owner[1]))) rmSync(join(vmDir, f), { force: true });
  }
  const logs = readdirSync(vmDir)
    .filter((f) => /^console-.*\.log$/.test(f))
    .map((f) => ({ file: join(vmDir, f), mtime: statSync(join(vmDir, f)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const old of logs.slice(CONSOLE_LOGS_KEPT - 1)) rmSync(old.file, { force: true });
}

/** Connects to a unix socket, retrying while QEMU has not created it yet. */
async function connectWhenReady(path: string, deadline: number, gone: () => string | null): Promise<Socket> {
  for (;;) {
    try {
      return await new Promise<Socket>((resolveSocket, reject) => {
        const socket = connect(path);
        socket.once('connect', () => {
          socket.removeAllListeners('error');
          resolveSocket(socket);
        });
        socket.once('error', reject);
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw e;
    }
    const why = gone();
    if (why !== null) throw new VmBootError(why);
    if (Date.now() > deadline) throw new VmBootError(`QEMU did not open ${path} in time`);
    await sleep(20);
  }
}

/** Polls a console log until `pattern` matches; `gone` returns a reason when the VM is dead. */
async function waitForLog(
  file: string,
  pattern: RegExp,
  timeoutMs: number,
  gone: () => string | null,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = readText(file);
    if (pattern.test(text)) return text;
    const why = gone();
    if (why !== null) {
      throw new VmBootError(
        `${why} before the console showed ${pattern}; console tail:\n${lastLines(text, 15)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new VmBootError(
        `the console did not show ${pattern} within ${timeoutMs} ms (${file}); tail:\n${lastLines(text, 15)}`,
      );
    }
    await sleep(50);
  }
}

const ownedChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
let bootSequence = 0;

/** Makes sure no VM of this process outlives it. */
function ownChild(child: ChildProcess): void {
  ownedChildren.add(child);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of ownedChildren) c.kill('SIGKILL');
  });
}

/**
 * Boots a VM owned by this process and connects to its `iio-sim` port. Resolves once the socket is
 * connected (QEMU is up; the guest is still booting, about 5 s under TCG): use {@link Vm.waitForConsole} with
 * {@link EXECUTOR_STARTED}, or the executor's own greeting on the socket, to know the guest is ready.
 * Throws {@link QemuMissingError} when QEMU is absent and {@link VmBootError} when it cannot start.
 */
export async function bootVm(options: VmOptions = {}): Promise<Vm> {
  const paths = realPaths(options.cacheDir);
  const qemu = resolveQemu(options.qemu);
  const { kernel, initramfs } = bootFiles(paths, options);
  mkdirSync(paths.vmDir, { recursive: true });
  pruneVmDir(paths.vmDir);
  bootSequence += 1;
  const id = `${process.pid}-${bootSequence}`;
  const consoleLogPath = options.consoleLog ?? join(paths.vmDir, `console-${id}.log`);
  const socketPath = socketPathFor(paths, `vm-${id}.sock`);
  rmSync(socketPath, { force: true });
  writeFileSync(consoleLogPath, '');
  const args = qemuArgs({
    kernel,
    initramfs,
    consoleLog: consoleLogPath,
    socketPath,
    memoryMb: options.memoryMb ?? DEFAULT_MEMORY_MB,
    cpu: options.cpu ?? DEFAULT_CPU,
    ...(options.append === undefined ? {} : { append: options.append }),
  });
  const child = spawn(qemu, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  ownChild(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (stderr.length < 65_536) stderr += chunk;
  });
  let exitInfo: VmExit | null = null;
  let spawnError: Error | null = null;
  const exited = new Promise<VmExit>((resolveExit) => {
    child.once('error', (e) => {
      spawnError = e;
      exitInfo = { code: null, signal: null };
      ownedChildren.delete(child);
      resolveExit(exitInfo);
    });
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      ownedChildren.delete(child);
      resolveExit(exitInfo);
    });
  });
  const gone = (): string | null => {
    if (spawnError !== null) return `cannot run ${qemu}: ${(spawnError as Error).message}`;
    if (exitInfo === null) return null;
    const how = exitInfo.signal ?? `status ${exitInfo.code}`;
    return `QEMU exited (${how})${stderr.trim() ? `: ${stderr.trim()}` : ''}`;
  };
  let socket: Socket;
  try {
    socket = await connectWhenReady(
      socketPath,
      Date.now() + (options.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS),
      gone,
    );
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    rmSync(socketPath, { force: true });
    throw e;
  }
  let closing: Promise<void> | null = null;
  return {
    socket,
    pid: child.pid ?? -1,
    socketPath,
    consoleLogPath,
    exited,
    console: () => readText(consoleLogPath),
    waitForConsole: (pattern, timeoutMs = DEFAULT_BOOT_TIMEOUT_MS) =>
      waitForLog(consoleLogPath, pattern, timeoutMs, gone),
    close: () => {
      closing ??= (async () => {
        socket.destroy();
        if (exitInfo === null) {
          child.kill('SIGTERM');
          const killed = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
          if (!killed) child.kill('SIGKILL');
          await exited;
        }
        rmSync(socketPath, { force: true });
      })();
      return closing;
    },
  };
}

/** True when `pid` is a live (not zombie) process. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = readText(`/proc/${pid}/stat`);
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** True when `pid` is alive and is the QEMU serving `socketPath` (guards against a recycled pid). */
function isOurQemu(pid: number, socketPath: string): boolean {
  if (!pidAlive(pid)) return false;
  if (!existsSync('/proc/self')) return existsSync(socketPath);
  const cmdline = readText(`/proc/${pid}/cmdline`);
  return cmdline.includes('qemu-system') && cmdline.includes(socketPath.replaceAll(',', ',,'));
}

function removeInstanceFiles(files: ReturnType<typeof vmInstancePaths>): void {
  for (const f of [files.stateFile, files.pidFile, files.socket, files.attachLock])
    rmSync(f, { force: true });
}

/**
 * The state of the detached VM `instance`, or null when none is running (a stale state file, whose QEMU is
 * gone, is removed).
 */
export function readVmState(options: DetachedOptions = {}): VmState | null {
  const files = vmInstancePaths(realPaths(options.cacheDir), options.instance);
  const text = readText(files.stateFile);
  if (text === '') return null;
  let state: VmState;
  try {
    state = JSON.parse(text) as VmState;
  } catch {
    removeInstanceFiles(files);
    return null;
  }
  if (typeof state.pid !== 'number' || !isOurQemu(state.pid, state.socketPath)) {
    removeInstanceFiles(files);
    return null;
  }
  return state;
}

/** What {@link startDetached} resolves to. */
export interface StartResult {
  /** The running VM. */
  readonly state: VmState;
  /** A VM of that instance was already running; nothing was started. */
  readonly alreadyRunning: boolean;
}

/**
 * Starts a VM that keeps running after this process exits (`iio-sim kernel start`), and resolves once the
 * guest's `/init` has handed over to the executor. If the instance is already running, resolves with its state.
 * The VM is described by `vm/<instance>.state.json` in the cache folder; {@link attach} connects to it and
 * {@link stop} ends it. Throws {@link QemuMissingError} or {@link VmBootError} (the console tail included).
 */
export async function startDetached(options: DetachedOptions = {}): Promise<StartResult> {
  const existing = readVmState(options);
  if (existing !== null) return { state: existing, alreadyRunning: true };
  const paths = realPaths(options.cacheDir);
  const qemu = resolveQemu(options.qemu);
  const { kernel, initramfs } = bootFiles(paths, options);
  const instance = options.instance ?? 'default';
  const files = vmInstancePaths(paths, instance);
  mkdirSync(paths.vmDir, { recursive: true });
  removeInstanceFiles(files);
  const consoleLogPath = options.consoleLog ?? files.consoleLog;
  writeFileSync(consoleLogPath, '');
  const args = qemuArgs({
    kernel,
    initramfs,
    consoleLog: consoleLogPath,
    socketPath: files.socket,
    memoryMb: options.memoryMb ?? DEFAULT_MEMORY_MB,
    cpu: options.cpu ?? DEFAULT_CPU,
    daemonizePidFile: files.pidFile,
    ...(options.append === undefined ? {} : { append: options.append }),
  });
  const started = process.hrtime.bigint();
  const startedAt = new Date().toISOString();
  const logFd = openSync(files.qemuLog, 'w');
  writeSync(logFd, `${qemu} ${args.join(' ')}\n`);
  // With -daemonize the launcher exits once QEMU is set up; the daemon goes on in its own session.
  const launcher = spawn(qemu, args, { stdio: ['ignore', 'ignore', logFd], detached: true });
  const status = await new Promise<number | string>((resolveStatus) => {
    launcher.once('error', (e) => resolveStatus(e.message));
    launcher.once('exit', (code, signal) => resolveStatus(code ?? signal ?? -1));
  });
  closeSync(logFd);
  if (status !== 0) {
    removeInstanceFiles(files);
    throw new VmBootError(`QEMU did not start (${status}): ${lastLines(readText(files.qemuLog), 5)}`);
  }
  const pid = Number.parseInt(readText(files.pidFile).trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) throw new VmBootError(`QEMU wrote no pid to ${files.pidFile}`);
  const gone = (): string | null => (pidAlive(pid) ? null : 'QEMU exited');
  try {
    const text = await waitForLog(
      consoleLogPath,
      new RegExp(`${EXECUTOR_STARTED.source}|${INIT_GAVE_UP.source}`),
      options.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS,
      gone,
    );
    const gaveUp = INIT_GAVE_UP.exec(text);
    if (gaveUp !== null && !EXECUTOR_STARTED.test(text))
      throw new VmBootError(`the guest gave up: ${gaveUp[0]}`);
  } catch (e) {
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    removeInstanceFiles(files);
    throw e;
  }
  const state: VmState = {
    pid,
    socketPath: files.socket,
    consoleLogPath,
    instance,
    startedAt,
    bootSeconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
  writeFileSync(files.stateFile, `${JSON.stringify(state, null, 2)}\n`);
  return { state, alreadyRunning: false };
}

/** Takes the attach lock for this process, or throws {@link VmBusyError} while a live process holds it. */
function takeAttachLock(lock: string): void {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number.parseInt(readText(lock).trim(), 10);
    if (Number.isInteger(holder) && holder > 0 && pidAlive(holder)) {
      throw new VmBusyError(
        `another client (pid ${holder}) is attached to the VM; only one client at a time can use it (lock ${lock})`,
      );
    }
    rmSync(lock, { force: true });
  }
  throw new VmBusyError(`could not take the attach lock ${lock}`);
}

/**
 * Connects to the running detached VM (only one client at a time: see the module's documentation). Throws
 * {@link VmNotRunningError} when none runs and {@link VmBusyError} when another live process is attached.
 */
export async function attach(options: DetachedOptions = {}): Promise<VmAttachment> {
  const state = readVmState(options);
  if (state === null) {
    throw new VmNotRunningError('no VM is running: start one with `npx iio-sim kernel start`');
  }
  const files = vmInstancePaths(realPaths(options.cacheDir), options.instance);
  takeAttachLock(files.attachLock);
  const release = (): void => {
    if (readText(files.attachLock).trim() === String(process.pid)) rmSync(files.attachLock, { force: true });
  };
  process.once('exit', release);
  let socket: Socket;
  try {
    socket = await connectWhenReady(state.socketPath, Date.now() + 5000, () =>
      pidAlive(state.pid) ? null : 'the VM exited',
    );
  } catch (e) {
    release();
    process.off('exit', release);
    throw e;
  }
  let closing: Promise<void> | null = null;
  return {
    socket,
    state,
    close: () => {
      closing ??= new Promise<void>((resolveClose) => {
        const done = (): void => {
          release();
          process.off('exit', release);
          resolveClose();
        };
        if (socket.destroyed) done();
        else {
          socket.once('close', done);
          socket.destroy();
        }
      });
      return closing;
    },
  };
}

/**
 * Stops the detached VM (SIGTERM, then SIGKILL after 5 s) and removes its state; resolves to false when none
 * was running.
 */
export async function stop(options: DetachedOptions = {}): Promise<boolean> {
  const files = vmInstancePaths(realPaths(options.cacheDir), options.instance);
  const state = readVmState(options);
  if (state === null) {
    removeInstanceFiles(files);
    return false;
  }
  try {
    process.kill(state.pid, 'SIGTERM');
  } catch {
    // it ended meanwhile
  }
  const deadline = Date.now() + 5000;
  while (pidAlive(state.pid) && Date.now() < deadline) await sleep(50);
  if (pidAlive(state.pid)) {
    try {
      process.kill(state.pid, 'SIGKILL');
    } catch {
      // it ended meanwhile
    }
  }
  while (pidAlive(state.pid)) await sleep(20);
  removeInstanceFiles(files);
  return true;
}
