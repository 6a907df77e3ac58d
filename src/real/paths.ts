/**
 * Where the real-kernel oracle keeps its artifacts: the cache folder that `real/setup/setup.sh` fills (kernel,
 * modules, build chroot, guest programs, initramfs) and the files of a running VM (console log, socket, state).
 */
import { accessSync, constants } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of this repository (the folder holding `package.json`). */
export const REPO_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The setup script that builds the cache; see {@link RealPaths}. */
export const SETUP_SCRIPT: string = join(REPO_ROOT, 'real', 'setup', 'setup.sh');

/** Environment variable naming the cache folder. */
export const CACHE_ENV = 'IIO_SIM_CACHE';

/** Name of the guest's virtio-serial port, as `/init` looks it up in `/sys/class/virtio-ports/.../name`. */
export const PORT_NAME = 'iio-sim';

/** The QEMU binary the oracle runs (package `qemu-system-x86`). */
export const QEMU_BINARY = 'qemu-system-x86_64';

/** Kernel release of the booted kernel (`uname -r` in the guest, the modules' vermagic). */
export const KERNEL_RELEASE = '7.3-amd64';

/**
 * The cache folder: `env.IIO_SIM_CACHE` when set and not empty, else `$XDG_CACHE_HOME/iio-dmabuf-sim`,
 * else `~/.cache/iio-dmabuf-sim`. The result is absolute.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[CACHE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg !== undefined && xdg !== '' ? xdg : join(env.HOME ?? homedir(), '.cache');
  return resolve(base, 'iio-dmabuf-sim');
}

/** Every path of the oracle under one cache folder. */
export interface RealPaths {
  /** The cache folder itself. */
  readonly cacheDir: string;
  /** Stamp files of the setup steps. */
  readonly stampsDir: string;
  /** The kernel image (`linux-binary-7.3-amd64`'s `vmlinuz`). */
  readonly vmlinuz: string;
  /** Folder of the IIO modules as plain `.ko`, plus `load-order` (one module name a line). */
  readonly kernelModulesDir: string;
  /** The dependency-ordered list of modules `/init` loads. */
  readonly moduleLoadOrder: string;
  /** The Debian sid build chroot (gcc-16, kbuild, headers). */
  readonly chrootDir: string;
  /** Our test driver module, built against the kernel's headers. */
  readonly simModule: string;
  /** The static 64-bit guest executor. */
  readonly executor: string;
  /** The static 32-bit (`-m32`) guest executor. */
  readonly executor32: string;
  /** The gzip cpio initramfs. */
  readonly initramfs: string;
  /** Folder of the VMs' runtime files (console logs, sockets, detached-VM state). */
  readonly vmDir: string;
}

/** The artifact paths under `cacheDir` (default {@link defaultCacheDir}). */
export function realPaths(cacheDir: string = defaultCacheDir()): RealPaths {
  const root = resolve(cacheDir);
  const build = join(root, 'build');
  const vm = join(root, 'vm');
  return {
    cacheDir: root,
    stampsDir: join(root, 'stamps'),
    vmlinuz: join(root, 'kernel', 'vmlinuz'),
    kernelModulesDir: join(root, 'kernel', 'modules'),
    moduleLoadOrder: join(root, 'kernel', 'modules', 'load-order'),
    chrootDir: join(root, 'chroot'),
    simModule: join(build, 'modules', 'sim_iio.ko'),
    executor: join(build, 'guest', 'executor'),
    executor32: join(build, 'guest', 'executor32'),
    initramfs: join(root, 'initramfs.cpio.gz'),
    vmDir: vm,
  };
}

/** The files of one detached VM (`iio-sim kernel start`), named by its instance. */
export interface VmInstancePaths {
  /** JSON state: pid, socket path, console log, start time. */
  readonly stateFile: string;
  /** Held by the one client attached to the VM. */
  readonly attachLock: string;
  /** The guest's serial console. */
  readonly consoleLog: string;
  /** QEMU's own messages while it starts. */
  readonly qemuLog: string;
  /** Pid file written by QEMU. */
  readonly pidFile: string;
  /** The unix socket of the guest's `iio-sim` port. */
  readonly socket: string;
}

/** The files of the detached VM `instance` (default `default`) under `paths.vmDir`. */
export function vmInstancePaths(paths: RealPaths, instance = 'default'): VmInstancePaths {
  const base = join(paths.vmDir, instance);
  return {
    stateFile: `${base}.state.json`,
    attachLock: `${base}.attach.lock`,
    consoleLog: `${base}.console.log`,
    qemuLog: `${base}.qemu.log`,
    pidFile: `${base}.pid`,
    socket: socketPathFor(paths, `${instance}.sock`),
  };
}

/** Longest unix socket path Linux accepts (`sun_path` is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * A path for a VM's unix socket named `name` (e.g. `detached.sock`): in the VM folder when it fits in
 * `sun_path`, else in the system's temporary folder.
 */
export function socketPathFor(paths: RealPaths, name: string): string {
  const inCache = join(paths.vmDir, name);
  return Buffer.byteLength(inCache) <= MAX_SOCKET_PATH
    ? inCache
    : join(tmpdir(), `iio-sim-${process.getuid?.() ?? 0}-${name}`);
}

/**
 * The absolute path of the executable `name` (searched on `env.PATH` unless it contains a slash), or null
 * when there is none.
 */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = name.includes('/')
    ? [isAbsolute(name) ? name : resolve(name)]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here: try the next folder
    }
  }
  return null;
}
