/**
 * The real clients of `iio-sim exec` (test/bridge/exec.test.ts) run on Debian's Linux 7.3 too (QEMU, the
 * sim_iio module with the default board), the same binaries: each program is copied into the guest with its
 * shared libraries and the dynamic loader, and run there under this machine's strace 6.1 (`-f -y`,
 * src/real/host-programs.ts); on the simulator it runs under `iio-sim exec --strace-compat`. Each client must
 * end with the same exit status and the same output (samples checked) on both, and the two strace logs,
 * filtered to the calls on the simulated world, must agree call by call under the comparison rules of
 * src/real/compare.ts (src/real/strace-compare.ts).
 *
 * Needs the setup (`iio-sim kernel setup`), a C compiler and strace; skipped with one line otherwise. The
 * libiio, tools/iio and selftest clients need what their exec tests need.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFiles, programClosure, runTraced } from '../../src/real/host-programs.ts';
import { createRealKernel } from '../../src/real/runtime.ts';
import { checkSetup, SETUP_SKIP_MESSAGE } from '../../src/real/setup.ts';
import { compareStraceLogs, formatStraceComparison } from '../../src/real/strace-compare.ts';
import { bootVm, type Vm } from '../../src/real/vm.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import type { DeviceConfig } from '../../src/sim/devices.ts';
import {
  BIN,
  buildExample,
  buildSelftests,
  buildToolsIio,
  HAVE_CC,
  HAVE_LIBIIO,
  HAVE_SELFTESTS,
  HAVE_TOOLS_IIO,
  has,
  ROOT,
} from '../bridge/clients.ts';

const ready = checkSetup().ready;
const HAVE_STRACE = has('strace', ['-V']);
if (!ready) console.info(SETUP_SKIP_MESSAGE);
else if (!HAVE_CC || !HAVE_STRACE)
  console.info('exec on the real kernel skipped: needs a C compiler and strace (apt-get install gcc strace)');
const STRACE = spawnSync('sh', ['-c', 'command -v strace'], { encoding: 'utf8' }).stdout.trim();

/** One program's run on both sides. */
interface Both {
  readonly sim: { status: number | null; stdout: Buffer; stderr: string; log: string };
  readonly real: { status: number; stdout: Buffer; stderr: string; log: string };
  /** The strace comparison, as `iio-sim diff` prints it. */
  readonly report: string[];
  readonly agree: boolean;
}

/** Mismatches between `bytes` (scans of four le:s12/16 channels from the enable) and sim-adc's ramp. */
function rampMismatches(bytes: Buffer): number {
  let bad = 0;
  for (let scan = 0; scan < bytes.length / 8; scan++)
    for (let c = 0; c < 4; c++)
      if ((bytes.readInt16LE(scan * 8 + c * 2) & 0xfff) !== ((scan + 1024 * c - 2048) & 0xfff)) bad++;
  return bad;
}

describe.skipIf(!ready || !HAVE_CC || !HAVE_STRACE)(
  'iio-sim exec clients on Linux 7.3: same output, same calls',
  () => {
    let vm: Vm;
    let dir = '';
    const programs: string[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'iio-sim-exec-real-'));
      for (const name of ['read-capture', 'dmabuf-capture', 'cyclic-dac']) {
        buildExample(name, join(dir, name));
        programs.push(join(dir, name));
      }
      if (HAVE_TOOLS_IIO) {
        buildToolsIio(dir);
        programs.push(join(dir, 'lsiio'), join(dir, 'iio_generic_buffer'));
      }
      if (HAVE_SELFTESTS) {
        buildSelftests(dir);
        programs.push(join(dir, 'dmabuf-heap'), join(dir, 'udmabuf'));
      }
      if (HAVE_LIBIIO)
        for (const t of ['iio_info', 'iio_attr', 'iio_readdev', 'iio_writedev']) programs.push(which(t));
      vm = await bootVm();
      vm.socket.on('error', () => {});
      const k = await createRealKernel({ channel: vm.socket });
      const t0 = Date.now();
      const files = programClosure([STRACE, ...programs]);
      const bytes = await installFiles(k, files);
      console.info(
        `exec-real: ${files.size} files (${(bytes / 2 ** 20).toFixed(1)} MiB) copied into the guest in ${Date.now() - t0} ms`,
      );
      await k.close();
    }, 300_000);

    afterAll(async () => {
      await vm?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** The devices of a scenario file (its board). */
    function boardOf(file: string): DeviceConfig[] {
      const loaded = loadScenario(readFileSync(file, 'utf8'), file);
      if (!loaded.ok) throw new Error(`${file}: ${loaded.errors.length} errors`);
      const devices = loaded.scenario.devices;
      if (!Array.isArray(devices)) throw new Error(`${file}: no devices`);
      return devices;
    }

    function which(tool: string): string {
      return spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    }

    /** Runs argv under `iio-sim exec` and, with the module freshly loaded, in the guest; compares. */
    async function both(argv: string[], stdin?: Buffer, scenario?: string): Promise<Both> {
      const log = join(dir, 'sim.log');
      const board = scenario ? ['--scenario', scenario] : [];
      const s = spawnSync(
        process.execPath,
        [BIN, 'exec', ...board, '--strace-compat', '--trace', log, '--', ...argv],
        {
          cwd: ROOT,
          timeout: 180_000,
          maxBuffer: 64 << 20,
          // Without input the program's stdin is /dev/null on both sides (the guest's RUN does the same).
          ...(stdin ? { input: stdin } : { stdio: ['ignore', 'pipe', 'pipe'] }),
        },
      );
      const sim = {
        status: s.status,
        stdout: s.stdout,
        stderr: s.stderr.toString(),
        log: readFileSync(log, 'utf8'),
      };
      const k = await createRealKernel({
        channel: vm.socket,
        ...(scenario ? { devices: boardOf(scenario) } : {}),
      });
      try {
        const r = await runTraced(k, argv, stdin ? { stdin } : {});
        const real = { status: r.status, stdout: r.stdout, stderr: r.stderr, log: r.strace };
        const cmp = compareStraceLogs(sim.log, real.log);
        const name = argv.map((a) => a.replace(`${dir}/`, '')).join(' ');
        // IIO_SIM_EXEC_REAL_LOGS=DIR keeps both logs of each client there, to look at a disagreement.
        const keep = process.env.IIO_SIM_EXEC_REAL_LOGS;
        if (keep) {
          const base = join(keep, name.replace(/[^\w.-]+/g, '_'));
          writeFileSync(`${base}.sim.log`, sim.log);
          writeFileSync(`${base}.real.log`, real.log);
          writeFileSync(`${base}.sim.out`, sim.stdout);
          writeFileSync(`${base}.real.out`, real.stdout);
        }
        const report = formatStraceComparison(name, cmp);
        console.info(report.join('\n'));
        return { sim, real, report, agree: cmp.first === undefined };
      } finally {
        await k.close();
      }
    }

    it('examples/c read-capture (read() on the buffer fd): same output, the strace logs agree', async () => {
      const b = await both([join(dir, 'read-capture'), '4096', '4096']);
      const out = 'read-capture: 4096 samples (1024 scans of 4 channels): 0 mismatches\n';
      expect([b.sim.status, b.sim.stdout.toString(), b.sim.stderr]).toEqual([0, out, '']);
      expect([b.real.status, b.real.stdout.toString(), b.real.stderr]).toEqual([0, out, '']);
      expect(b.report).toEqual([expect.stringMatching(/^read-capture 4096 4096: agree \(\d+ syscalls\)/)]);
    }, 300_000);

    it("examples/c dmabuf-capture (libiio 1.x's DMABUF loop, a short capture in the four queued blocks): same output, the strace logs agree", async () => {
      const b = await both([join(dir, 'dmabuf-capture'), '16384', '1024', '4']);
      const out =
        'dmabuf-capture: 16384 samples (4096 scans of 4 channels) in 4 blocks of 1024 scans: 0 mismatches\n';
      expect([b.sim.status, b.sim.stdout.toString(), b.sim.stderr]).toEqual([0, out, '']);
      expect([b.real.status, b.real.stdout.toString(), b.real.stderr]).toEqual([0, out, '']);
      expect(b.report).toEqual([
        expect.stringMatching(/^dmabuf-capture 16384 1024 4: agree \(\d+ syscalls\)/),
      ]);
    }, 300_000);

    it("examples/c cyclic-dac (a cyclic DMABUF on sim-dac read back through scenario 04's loopback ADC): same output, the strace logs agree", async () => {
      const scenario = join(ROOT, 'scenarios', '04-cyclic-dac.yaml');
      const b = await both([join(dir, 'cyclic-dac'), '1024'], undefined, scenario);
      const out = 'cyclic-dac: 1024 scans read back through the loopback, period 8: 0 mismatches\n';
      expect([b.sim.status, b.sim.stdout.toString(), b.sim.stderr]).toEqual([0, out, '']);
      expect([b.real.status, b.real.stdout.toString(), b.real.stderr]).toEqual([0, out, '']);
      expect(b.report).toEqual([expect.stringMatching(/^cyclic-dac 1024: agree \(\d+ syscalls\)/)]);
    }, 300_000);

    it.skipIf(!HAVE_TOOLS_IIO)(
      'tools/iio lsiio -v: same listing, the strace logs agree',
      async () => {
        const b = await both([join(dir, 'lsiio'), '-v']);
        expect(b.sim.status).toBe(0);
        expect(b.real.status).toBe(0);
        expect(b.real.stdout.toString()).toBe(b.sim.stdout.toString());
        expect(b.agree, b.report.join('\n')).toBe(true);
      },
      300_000,
    );

    it.skipIf(!HAVE_TOOLS_IIO)(
      'tools/iio iio_generic_buffer -n sim-adc -g -a -c 2 -l 256 (two blocks of the ramp, both queued before the enable): same output, the strace logs agree',
      async () => {
        const argv = [join(dir, 'iio_generic_buffer'), '-n', 'sim-adc', '-g', '-a', '-c', '2', '-l', '256'];
        const b = await both(argv);
        // The tool returns the last poll()'s result, 1, on both.
        expect([b.sim.status, b.real.status]).toEqual([1, 1]);
        expect(b.real.stdout.toString()).toBe(b.sim.stdout.toString());
        const scans = b.sim.stdout
          .toString()
          .split('\n')
          .filter((l) => /^-?\d+\.\d+ /.test(l));
        expect(scans.length).toBe(256);
        expect(b.agree, b.report.join('\n')).toBe(true);
      },
      300_000,
    );

    it.skipIf(!HAVE_LIBIIO)(
      'libiio 0.24 iio_info -u local:: same listing (but uname and the raw samples), the strace logs agree',
      async () => {
        const b = await both([which('iio_info'), '-u', 'local:']);
        expect(b.sim.status).toBe(0);
        expect(b.real.status).toBe(0);
        // The backend's description and the kernel attribute are uname(): this machine's kernel on the
        // simulator, 7.3 in the guest. A channel's raw value is its sample at the read (rule raw-sample).
        const uname = (s: Buffer) =>
          s
            .toString()
            .replace(/Backend description string: .*\n/, 'Backend description string: UNAME\n')
            .replace(/local,kernel: .*\n/, 'local,kernel: RELEASE\n')
            .replace(/raw value: -?\d+\n/g, 'raw value: N\n');
        expect(uname(b.real.stdout)).toBe(uname(b.sim.stdout));
        expect(b.agree, b.report.join('\n')).toBe(true);
      },
      300_000,
    );

    it.skipIf(!HAVE_LIBIIO)(
      'libiio 0.24 iio_attr -u local: -d sim-adc sampling_frequency (a read, then a write): same output, the strace logs agree',
      async () => {
        const attr = [which('iio_attr'), '-u', 'local:', '-d', 'sim-adc', 'sampling_frequency'];
        const read = await both(attr);
        expect([read.sim.status, read.sim.stdout.toString()]).toEqual([0, '1000000\n']);
        expect([read.real.status, read.real.stdout.toString()]).toEqual([0, '1000000\n']);
        expect(read.agree, read.report.join('\n')).toBe(true);
        const write = await both([...attr, '500000']);
        expect([write.sim.status, write.sim.stdout.toString()]).toEqual([0, '500000\n']);
        expect([write.real.status, write.real.stdout.toString()]).toEqual([0, '500000\n']);
        expect(write.agree, write.report.join('\n')).toBe(true);
      },
      300_000,
    );

    it.skipIf(!HAVE_LIBIIO)(
      'libiio 0.24 iio_readdev -u local: -b 1024 -s 1024 sim-adc: the same ramp, the strace logs agree',
      async () => {
        const b = await both([which('iio_readdev'), '-u', 'local:', '-b', '1024', '-s', '1024', 'sim-adc']);
        expect([b.sim.status, b.real.status]).toEqual([0, 0]);
        expect(b.sim.stdout.length).toBe(1024 * 8);
        expect(rampMismatches(b.sim.stdout)).toBe(0);
        expect(b.real.stdout.length).toBe(1024 * 8);
        expect(rampMismatches(b.real.stdout)).toBe(0);
        expect(b.agree, b.report.join('\n')).toBe(true);
      },
      300_000,
    );

    it.skipIf(!HAVE_LIBIIO)(
      'libiio 0.24 iio_writedev -u local: -b 1024 -s 16384 sim-dac (stdin: two sawtooths): same output, the strace logs agree',
      async () => {
        const input = Buffer.alloc(16384 * 4);
        for (let i = 0; i < 16384; i++) {
          input.writeInt16LE(((i * 7) % 30000) - 15000, i * 4);
          input.writeInt16LE(15000 - ((i * 13) % 30000), i * 4 + 2);
        }
        const argv = [which('iio_writedev'), '-u', 'local:', '-b', '1024', '-s', '16384', 'sim-dac'];
        const b = await both(argv, input);
        const warning = 'WARNING: High-speed mode not enabled\n';
        expect([b.sim.status, b.sim.stdout.toString(), b.sim.stderr]).toEqual([0, '', warning]);
        expect([b.real.status, b.real.stdout.toString(), b.real.stderr]).toEqual([0, '', warning]);
        expect(b.agree, b.report.join('\n')).toBe(true);
      },
      300_000,
    );

    it.skipIf(!HAVE_SELFTESTS)(
      'selftest dmabuf-heap: the same TAP output, the strace logs agree',
      async () => {
        const b = await both([join(dir, 'dmabuf-heap')]);
        expect(b.real.status).toBe(b.sim.status);
        const leak = (s: Buffer) =>
          s.toString().replace(/before=(\d+) after=(\d+)/, (m, x, y) => (x === y ? 'before=N after=N' : m));
        expect(leak(b.real.stdout)).toBe(leak(b.sim.stdout));
        expect(b.agree, b.report.join('\n')).toBe(true);
      },
      300_000,
    );

    it.skipIf(!HAVE_SELFTESTS)(
      'selftest udmabuf: the same TAP output, the strace logs agree',
      async () => {
        const b = await both([join(dir, 'udmabuf')]);
        expect(b.real.status).toBe(b.sim.status);
        expect(b.real.stdout.toString()).toBe(b.sim.stdout.toString());
        expect(b.agree, b.report.join('\n')).toBe(true);
      },
      300_000,
    );
  },
);
