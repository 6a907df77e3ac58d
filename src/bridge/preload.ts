/**
 * Builds the preload library of `iio-sim exec` from bridge/preload/iio-sim-preload.c with the system's C
 * compiler, once per source version, into ~/.cache/iio-dmabuf-sim/bridge (or $XDG_CACHE_HOME). Nothing is
 * downloaded.
 *
 * @packageDocumentation
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
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

/**
 * The path of the built library, building it first when the cache has no build of this source. Throws a
 * {@link PreloadBuildError} naming the Debian package to install when there is no compiler or no libc headers.
 */
export function buildPreload(): string {
  const source = readFileSync(PRELOAD_SOURCE);
  const cc = process.env.CC || 'cc';
  const hash = createHash('sha256').update(source).update(cc).update(process.arch).digest('hex').slice(0, 16);
  const dir = join(preloadCacheDir(), hash);
  const lib = join(dir, 'iio-sim-preload.so');
  if (existsSync(lib)) return lib;
  mkdirSync(dir, { recursive: true });
  const tmp = `${lib}.${process.pid}.tmp`;
  const args = ['-std=c11', '-O2', '-fPIC', '-shared', '-o', tmp, PRELOAD_SOURCE, '-ldl', '-lpthread'];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new PreloadBuildError(
      code === 'ENOENT'
        ? `no C compiler ('${cc}'): iio-sim exec builds its preload library on first use; install one (Debian: apt-get install gcc libc6-dev)`
        : `cannot run the C compiler '${cc}': ${r.error.message}`,
    );
  }
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
