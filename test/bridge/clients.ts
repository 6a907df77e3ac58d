/**
 * The real clients `iio-sim exec` runs, built at test time (none of their code is in the repository): our
 * examples/c programs, tools/iio from the kernel source and the kernel selftests that
 * bridge/selftests/fetch-selftests.sh extracts from Debian's linux-source. Used by test/bridge/exec.test.ts
 * and test/real/exec-real.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The CLI launcher. */
export const BIN = join(ROOT, 'bin', 'iio-sim.js');
/** The C compiler. */
export const CC = process.env.CC || 'cc';

/** Whether `cmd args` can be started. */
export const has = (cmd: string, args: string[]) => !spawnSync(cmd, args, { stdio: 'ignore' }).error;
export const HAVE_CC = has(CC, ['--version']);
export const HAVE_LIBIIO = has('iio_info', ['-V']) && has('iio_readdev', ['-V']);

/** The kernel selftests and tools/iio that bridge/selftests/fetch-selftests.sh extracts from Debian's linux-source. */
export const SELFTESTS =
  process.env.IIO_SIM_SELFTESTS ||
  join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'iio-dmabuf-sim', 'selftests');
export const HAVE_SELFTESTS = existsSync(join(SELFTESTS, '.complete'));
/** Where tools/iio is built from: $KERNEL_SRC, the fetched clients, or a source tree in ~/.cache/kernel-src. */
export const KERNEL_SRC =
  process.env.KERNEL_SRC ||
  [SELFTESTS, join(homedir(), '.cache', 'kernel-src')].find((d) =>
    existsSync(join(d, 'tools', 'iio', 'lsiio.c')),
  ) ||
  SELFTESTS;
export const HAVE_TOOLS_IIO = existsSync(join(KERNEL_SRC, 'tools', 'iio', 'lsiio.c'));

function cc(args: string[], what: string): void {
  const r = spawnSync(CC, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building ${what}: ${r.stderr}`);
}

/** Builds examples/c's `name` (read-capture, dmabuf-capture, cyclic-dac) into `out`. */
export function buildExample(name: string, out: string, flags: readonly string[] = []): void {
  const source = join(ROOT, 'examples', 'c', `${name}.c`);
  cc([...flags, '-std=c11', '-O2', '-Wall', '-D_GNU_SOURCE', '-o', out, source], name);
}

/** Builds tools/iio's lsiio, iio_generic_buffer and iio_event_monitor into `dir`. */
export function buildToolsIio(dir: string): void {
  // tools/iio includes the uapi headers as <linux/iio/...>, which Debian's headers may lack or predate.
  cpSync(join(KERNEL_SRC, 'include', 'uapi', 'linux', 'iio'), join(dir, 'inc', 'linux', 'iio'), {
    recursive: true,
  });
  const src = join(KERNEL_SRC, 'tools', 'iio');
  for (const name of ['lsiio', 'iio_generic_buffer', 'iio_event_monitor'])
    cc(
      [
        '-O2',
        '-D_GNU_SOURCE',
        '-I',
        join(dir, 'inc'),
        '-o',
        join(dir, name),
        join(src, `${name}.c`),
        join(src, 'iio_utils.c'),
      ],
      `tools/iio/${name}`,
    );
}

/** Builds the dmabuf-heap and udmabuf selftests into `dir`. */
export function buildSelftests(dir: string): void {
  // Built as lib.mk would, but dynamically linked (a -static program would not load the preload library);
  // -D__user= stands for headers_install, which strips the annotation from the raw uapi headers.
  const st = join(SELFTESTS, 'tools', 'testing', 'selftests');
  const tests = { 'dmabuf-heap': 'dmabuf-heaps/dmabuf-heap.c', udmabuf: 'drivers/dma-buf/udmabuf.c' };
  for (const [name, source] of Object.entries(tests))
    cc(
      [
        '-O2',
        '-D__user=',
        '-isystem',
        join(SELFTESTS, 'inc'),
        '-I',
        st,
        '-o',
        join(dir, name),
        join(st, source),
      ],
      `the ${name} selftest`,
    );
}
