import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realPaths, vmInstancePaths } from '../../src/real/paths.ts';
import { checkSetup, SETUP_SKIP_MESSAGE } from '../../src/real/setup.ts';
import {
  attach,
  bootVm,
  EXECUTOR_STARTED,
  KERNEL_APPEND,
  QemuMissingError,
  qemuArgs,
  readVmState,
  startDetached,
  stop,
  type Vm,
  VmBootError,
  VmBusyError,
  VmNotRunningError,
} from '../../src/real/vm.ts';

const status = checkSetup();
if (!status.bootable) console.info(SETUP_SKIP_MESSAGE);

const scratch = mkdtempSync(join(tmpdir(), 'iio-sim-vm-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('qemuArgs', () => {
  it('boots the kernel under TCG with the console in a file and the iio-sim port on a unix socket', () => {
    const args = qemuArgs({
      kernel: '/k/vmlinuz',
      initramfs: '/k/initrd.gz',
      consoleLog: '/v/con,sole.log',
      socketPath: '/v/s.sock',
      memoryMb: 1024,
      cpu: 'max',
      append: 'loglevel=7',
    });
    const optionAfter = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    expect(optionAfter('-accel')).toBe('tcg');
    expect(optionAfter('-cpu')).toBe('max');
    expect(optionAfter('-m')).toBe('1024');
    expect(optionAfter('-smp')).toBe('1');
    expect(optionAfter('-kernel')).toBe('/k/vmlinuz');
    expect(optionAfter('-initrd')).toBe('/k/initrd.gz');
    expect(optionAfter('-append')).toBe(`${KERNEL_APPEND} loglevel=7`);
    expect(KERNEL_APPEND).toBe('console=ttyS0 quiet panic=-1');
    expect(args).toContain('-no-reboot');
    expect(args).toContain('file,id=con0,path=/v/con,,sole.log');
    expect(args).toContain('socket,id=c0,path=/v/s.sock,server=on,wait=off');
    expect(args).toContain('virtserialport,chardev=c0,name=iio-sim');
    expect(args).not.toContain('-daemonize');
    expect(qemuArgs({ ...baseInput(), daemonizePidFile: '/v/q.pid' }).slice(-3)).toEqual([
      '-daemonize',
      '-pidfile',
      '/v/q.pid',
    ]);
  });

  function baseInput() {
    return { kernel: 'k', initramfs: 'i', consoleLog: 'c', socketPath: 's', memoryMb: 64, cpu: 'qemu64' };
  }
});

describe('errors before booting', () => {
  it('a missing QEMU says how to install it', async () => {
    const error = await bootVm({ cacheDir: scratch, qemu: '/nonexistent/qemu-system-x86_64' }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(QemuMissingError);
    expect(error.message).toBe(
      '/nonexistent/qemu-system-x86_64 not found: install QEMU (`apt-get install qemu-system-x86`) or run `npx iio-sim kernel setup`',
    );
  });

  it('a missing kernel image says to run the setup', async () => {
    const error = await bootVm({ cacheDir: scratch, qemu: '/bin/true' }).catch((e) => e);
    expect(error).toBeInstanceOf(VmBootError);
    expect(error.message).toBe(
      `no kernel image at ${join(scratch, 'kernel', 'vmlinuz')}: run \`npx iio-sim kernel setup\` first`,
    );
  });

  it('attach without a running VM says to start one', async () => {
    const error = await attach({ cacheDir: scratch }).catch((e) => e);
    expect(error).toBeInstanceOf(VmNotRunningError);
    expect(error.message).toBe('no VM is running: start one with `npx iio-sim kernel start`');
    expect(await stop({ cacheDir: scratch })).toBe(false);
  });
});

describe.skipIf(!status.bootable)('the real kernel in QEMU', () => {
  let vm: Vm;
  let log = '';
  beforeAll(async () => {
    vm = await bootVm();
    vm.socket.on('error', () => {});
    log = await vm.waitForConsole(EXECUTOR_STARTED, 120_000);
  }, 150_000);
  afterAll(async () => vm?.close());

  it('/init mounts, loads the IIO modules without a failure, finds the iio-sim port and execs the executor', () => {
    expect(log).toContain('iio-sim-init: started (kernel 7.3-amd64)');
    expect(log).toContain('iio-sim-init: modules loaded');
    expect(log).not.toMatch(/insmod .* failed/);
    expect(log).toMatch(/iio-sim-init: port \/dev\/vport\dp\d\r?\n/);
    expect(log).toMatch(/iio-sim-init: exec \/bin\/executor --port \/dev\/vport\dp\d\r?\n/);
    expect(vm.socket.readyState).toBe('open');
  });

  it('close() ends QEMU', async () => {
    await vm.close();
    const exit = await vm.exited;
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
  });
});

describe.skipIf(!status.bootable)('a detached VM', () => {
  const instance = `test-${process.pid}`;
  afterAll(async () => {
    await stop({ instance });
    const files = vmInstancePaths(realPaths(), instance);
    for (const f of [files.consoleLog, files.qemuLog]) rmSync(f, { force: true });
  }, 30_000);

  it('starts once, allows one attached client at a time, and stops', async () => {
    const started = await startDetached({ instance, bootTimeoutMs: 120_000 });
    expect(started.alreadyRunning).toBe(false);
    expect(started.state.instance).toBe(instance);
    expect(readVmState({ instance })).toEqual(started.state);
    expect((await startDetached({ instance })).alreadyRunning).toBe(true);

    const first = await attach({ instance });
    first.socket.on('error', () => {});
    expect(first.socket.readyState).toBe('open');
    const busy = await attach({ instance }).catch((e) => e);
    expect(busy).toBeInstanceOf(VmBusyError);
    await first.close();
    const second = await attach({ instance });
    expect(second.state.pid).toBe(started.state.pid);
    await second.close();

    expect(await stop({ instance })).toBe(true);
    expect(readVmState({ instance })).toBe(null);
    expect(await stop({ instance })).toBe(false);
  }, 180_000);
});
