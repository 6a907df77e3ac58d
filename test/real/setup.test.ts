import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  defaultCacheDir,
  findExecutable,
  REPO_ROOT,
  realPaths,
  SETUP_SCRIPT,
  socketPathFor,
  vmInstancePaths,
} from '../../src/real/paths.ts';
import {
  checkSetup,
  KERNEL_USAGE,
  kernelCommand,
  runSetup,
  SETUP_SKIP_MESSAGE,
} from '../../src/real/setup.ts';

const scratch = mkdtempSync(join(tmpdir(), 'iio-sim-setup-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const file = join(scratch, name);
  writeFileSync(file, `set -euo pipefail\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('paths', () => {
  it('the cache folder comes from IIO_SIM_CACHE, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(defaultCacheDir({ IIO_SIM_CACHE: '/srv/cache', HOME: '/home/u' })).toBe('/srv/cache');
    expect(defaultCacheDir({ IIO_SIM_CACHE: '', XDG_CACHE_HOME: '/x', HOME: '/home/u' })).toBe(
      '/x/iio-dmabuf-sim',
    );
    expect(defaultCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/iio-dmabuf-sim');
  });

  it('lays the artifacts out under the cache folder', () => {
    const p = realPaths('/c');
    expect(p.vmlinuz).toBe('/c/kernel/vmlinuz');
    expect(p.moduleLoadOrder).toBe('/c/kernel/modules/load-order');
    expect(p.simModule).toBe('/c/build/modules/sim_iio.ko');
    expect(p.executor).toBe('/c/build/guest/executor');
    expect(p.executor32).toBe('/c/build/guest/executor32');
    expect(p.initramfs).toBe('/c/initramfs.cpio.gz');
    expect(vmInstancePaths(p, 'ci')).toEqual({
      stateFile: '/c/vm/ci.state.json',
      attachLock: '/c/vm/ci.attach.lock',
      consoleLog: '/c/vm/ci.console.log',
      qemuLog: '/c/vm/ci.qemu.log',
      pidFile: '/c/vm/ci.pid',
      socket: '/c/vm/ci.sock',
    });
  });

  it('a socket path too long for sun_path moves to the temporary folder', () => {
    const long = realPaths(`/${'d'.repeat(120)}`);
    const path = socketPathFor(long, 'x.sock');
    expect(path.startsWith(tmpdir())).toBe(true);
    expect(Buffer.byteLength(path)).toBeLessThanOrEqual(107);
    expect(socketPathFor(realPaths('/c'), 'x.sock')).toBe('/c/vm/x.sock');
  });

  it('findExecutable searches PATH and checks explicit paths', () => {
    expect(findExecutable('sh', { PATH: '/nonexistent:/bin' })).toBe('/bin/sh');
    expect(findExecutable('sh', { PATH: '/nonexistent' })).toBe(null);
    expect(findExecutable('/bin/sh', {})).toBe('/bin/sh');
    expect(findExecutable(join(REPO_ROOT, 'package.json'), {})).toBe(null);
  });
});

describe('the scripts', () => {
  it('setup.sh and /init parse', () => {
    expect(execFileSync('bash', ['-n', SETUP_SCRIPT], { encoding: 'utf8' })).toBe('');
    expect(
      execFileSync('sh', ['-n', join(REPO_ROOT, 'real', 'initramfs', 'init')], { encoding: 'utf8' }),
    ).toBe('');
  });
});

describe('runSetup', () => {
  it('passes progress lines to log, hides build output unless verbose, and reports success', async () => {
    const s = script(
      'ok.sh',
      'echo "==> step kernel: vmlinuz"; echo "--> cached"; echo "    CC [M] x.o"; echo "cache=$IIO_SIM_CACHE extra=$EXTRA"',
    );
    const lines: string[] = [];
    const result = await runSetup({
      cacheDir: '/tmp/some-cache',
      script: s,
      env: { EXTRA: 'yes' },
      log: (l) => lines.push(l),
    });
    expect(lines).toEqual(['==> step kernel: vmlinuz', '--> cached']);
    expect(result.ok).toBe(true);
    expect(result.exitCode).toBe(0);
    expect(result.failedStep).toBe(null);
    expect(result.error).toBe(null);
    expect(result.tail.at(-1)).toBe('cache=/tmp/some-cache extra=yes');

    const all: string[] = [];
    await runSetup({ script: s, verbose: true, log: (l) => all.push(l) });
    expect(all).toContain('    CC [M] x.o');
  });

  it('a failure gives one line with the step and the exit status', async () => {
    const s = script(
      'fail.sh',
      'echo "==> step host: packages"; echo "==> step chroot: sid"; echo "!!! step chroot failed: debootstrap failed; see /c/debootstrap.log" >&2; exit 7',
    );
    const result = await runSetup({ script: s });
    expect(result.ok).toBe(false);
    expect(result.exitCode).toBe(7);
    expect(result.failedStep).toBe('chroot');
    expect(result.error).toBe(
      "kernel setup failed in step 'chroot' (exit 7): debootstrap failed; see /c/debootstrap.log",
    );
  });

  it('a failure without a !!! line names the last output line', async () => {
    const s = script('crash.sh', 'echo "==> step module: build"; echo "make: *** Error 2"; exit 2');
    const result = await runSetup({ script: s });
    expect(result.error).toBe("kernel setup failed in step 'module' (exit 2): make: *** Error 2");
  });

  it('a missing script is a failure, not an exception', async () => {
    const result = await runSetup({ script: join(scratch, 'absent.sh') });
    expect(result.ok).toBe(false);
    expect(result.exitCode).toBe(-1);
    expect(result.error).toBe(
      `kernel setup failed (exit -1): no setup script at ${join(scratch, 'absent.sh')}`,
    );
  });
});

describe('checkSetup', () => {
  it('an empty cache folder is neither ready nor bootable and names what is missing', () => {
    const dir = join(scratch, 'empty-cache');
    mkdirSync(dir);
    const status = checkSetup(dir);
    expect(status.ready).toBe(false);
    expect(status.bootable).toBe(false);
    expect(status.missing).toContain(`kernel image (${join(dir, 'kernel', 'vmlinuz')})`);
    expect(status.missing).toContain(`initramfs (${join(dir, 'initramfs.cpio.gz')})`);
    expect(status.missing).toContain(`guest executor (${join(dir, 'build', 'guest', 'executor')})`);
  });

  it('a cache with every artifact is ready when QEMU is installed', () => {
    const dir = join(scratch, 'full-cache');
    const p = realPaths(dir);
    for (const f of [p.vmlinuz, p.initramfs, p.simModule, p.executor, p.executor32, p.moduleLoadOrder]) {
      mkdirSync(join(f, '..'), { recursive: true });
      writeFileSync(f, '');
    }
    writeFileSync(p.moduleLoadOrder, 'industrialio\n');
    expect(checkSetup(dir).missing).toContain(
      `IIO module industrialio (${join(p.kernelModulesDir, 'industrialio.ko')})`,
    );
    writeFileSync(join(p.kernelModulesDir, 'industrialio.ko'), '');
    const status = checkSetup(dir);
    const qemu = findExecutable('qemu-system-x86_64') !== null;
    expect(status.ready).toBe(qemu);
    expect(status.bootable).toBe(qemu);
  });

  it('the skip message is the documented one line', () => {
    expect(SETUP_SKIP_MESSAGE).toBe(
      'real-kernel tests skipped: run `npx iio-sim kernel setup` (needs qemu-system-x86, debootstrap) to enable them',
    );
  });
});

describe('kernelCommand', () => {
  function io() {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
  }

  it('bad usage prints the usage and exits 2', async () => {
    for (const args of [[], ['boot'], ['setup', '--bogus'], ['stop', 'now']]) {
      const o = io();
      expect(await kernelCommand(args, o.io)).toBe(2);
      expect(o.err).toEqual([KERNEL_USAGE]);
      expect(o.out).toEqual([]);
    }
  });

  it('status says whether the setup is ready and whether a VM runs', async () => {
    const o = io();
    expect(await kernelCommand(['status'], o.io)).toBe(0);
    expect(o.out).toHaveLength(2);
    expect(o.out[0]).toMatch(/^setup: (ready|missing) /);
    expect(o.out[1]).toMatch(/^vm: (not running|running, pid \d+, socket .+)$/);
  });
});
