/**
 * Builds the preload library of `iio-sim exec` from bridge/preload/iio-sim-preload.c with the system's C
 * compiler, once per source version and data model (LP64, or ILP32 with `-m32` for 32-bit programs), into
 * ~/.cache/iio-dmabuf-sim/bridge (or $XDG_CACHE_HOME). Nothing is downloaded.
 *
 * @packageDocumentation
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The C source of the preload library. */
export const PRELOAD_SOURCE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'bridge',
  'preload',
  'iio-sim-preload.c',
);

/** Why the library could not be built, in words a user can act on. */
export class PreloadBuildError extends Error {
  override readonly name = 'PreloadBuildError';
}

/** Where built libraries are cached. */
export function preloadCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'iio-dmabuf-sim', 'bridge');
}

/** The data model a library is built for: the compiler's own (LP64 here), or ILP32 with `cc -m32`. */
export type PreloadModel = 'lp64' | 'ilp32';

/**
 * The path of the built library, building it first when the cache has no build of this source. Throws a
 * {@link PreloadBuildError} naming the Debian package to install when there is no compiler, no libc headers,
 * or (for `ilp32`) no 32-bit libc.
 */
export function buildPreload(model: PreloadModel = 'lp64'): string {
  const source = readFileSync(PRELOAD_SOURCE);
  const cc = process.env.CC || 'cc';
  const hash = createHash('sha256')
    .update(source)
    .update(cc)
    .update(process.arch)
    .update(model === 'ilp32' ? '-m32' : '')
    .digest('hex')
    .slice(0, 16);
  const dir = join(preloadCacheDir(), hash);
  const lib = join(dir, 'iio-sim-preload.so');
  if (existsSync(lib)) return lib;
  mkdirSync(dir, { recursive: true });
  const tmp = `${lib}.${process.pid}.tmp`;
  const m32 = model === 'ilp32' ? ['-m32'] : [];
  const args = [
    ...m32,
    '-std=c11',
    '-O2',
    '-fPIC',
    '-shared',
    '-o',
    tmp,
    PRELOAD_SOURCE,
    '-ldl',
    '-lpthread',
  ];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new PreloadBuildError(
      code === 'ENOENT'
        ? `no C compiler ('${cc}'): iio-sim exec builds its preload library on first use; install one (Debian: apt-get install gcc libc6-dev)`
        : `cannot run the C compiler '${cc}': ${r.error.message}`,
    );
  }
  if (r.status !== 0 && model === 'ilp32')
    throw new PreloadBuildError(
      `building the 32-bit preload library for a 32-bit program failed: '${cc} -m32' needs a multilib compiler and a 32-bit libc (Debian on amd64: apt-get install gcc-multilib)\n${r.stderr.trim()}`,
    );
  if (r.status !== 0) {
    const noHeaders = /No such file or directory/.test(r.stderr) && /\.h\b/.test(r.stderr);
    throw new PreloadBuildError(
      noHeaders
        ? `the C library headers are missing: install them (Debian: apt-get install libc6-dev)\n${r.stderr.trim()}`
        : `building the preload library failed (${cc} ${args.join(' ')}):\n${r.stderr.trim()}`,
    );
  }
  renameSync(tmp, lib);
  return lib;
}

/** `e_machine` of i386, the one 32-bit machine the `-m32` build serves. */
const EM_386 = 3;

/** The file `spawn` runs for `program`: a path as given, or the first executable match in `$PATH`. */
function programPath(program: string): string | null {
  if (program.includes('/')) return program;
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(d || '.', program);
    if (existsSync(p)) return p;
  }
  return null;
}

/**
 * The data model of a program by its ELF header: `ilp32` for an i386 ELFCLASS32 executable, `lp64` for
 * anything else the loader will run natively (a 64-bit ELF, a script, a file that cannot be read: `spawn`
 * reports those). A string is the reason a 32-bit program of another machine cannot be bridged.
 */
export function programModel(program: string): PreloadModel | string {
  const path = programPath(program);
  if (path === null) return 'lp64';
  const head = Buffer.alloc(20);
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return 'lp64';
  }
  if (n < 20 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 1) return 'lp64';
  const machine = head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
  if (machine === EM_386) return 'ilp32';
  return `${program} is a 32-bit ELF program for machine ${machine}: only i386 (machine 3) 32-bit programs are bridged`;
}

/** How this machine runs an i386 program: natively (the kernel's IA32 emulation) or under `qemu-i386`. */
export type I386Runner = 'native' | 'qemu-i386';

const PROBE_STATUS = 42;

/**
 * Whether this machine runs i386 programs, and how: a tiny `cc -m32` program (built once, next to the ILP32
 * library) is run natively, then under `qemu-i386`. Kernels built without IA32 emulation, or booted with
 * `ia32_emulation=0`, and VMs that cannot run 32-bit code (PVM guests) refuse it natively. Throws a
 * {@link PreloadBuildError} when neither way works.
 */
export function i386Runner(lib32: string): I386Runner {
  const probe = join(dirname(lib32), 'i386-probe');
  if (!existsSync(probe)) {
    const src = `${probe}.${process.pid}.c`;
    writeFileSync(src, `int main(void) { return ${PROBE_STATUS}; }\n`);
    const tmp = `${probe}.${process.pid}.tmp`;
    const r = spawnSync(process.env.CC || 'cc', ['-m32', '-o', tmp, src], { encoding: 'utf8' });
    if (r.status !== 0) throw new PreloadBuildError(`cannot build a 32-bit program: ${r.stderr.trim()}`);
    renameSync(tmp, probe);
  }
  // An exec that fails with ENOEXEC falls back to /bin/sh, which does not exit with the probe's status.
  if (spawnSync(probe, { stdio: 'ignore' }).status === PROBE_STATUS) return 'native';
  if (spawnSync('qemu-i386', [probe], { stdio: 'ignore' }).status === PROBE_STATUS) return 'qemu-i386';
  throw new PreloadBuildError(
    'this kernel does not run 32-bit (i386) programs (no IA32 emulation) and qemu-i386 is not installed (Debian: apt-get install qemu-user)',
  );
}

/** `program` as a path `qemu-i386` can open (it does not search `$PATH`). */
export function resolvedProgram(program: string): string {
  return programPath(program) ?? program;
}
