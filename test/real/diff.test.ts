/**
 * `iio-sim diff` against Debian's Linux 7.3 in QEMU: every bundled mainline lesson runs on the simulator and on
 * the kernel and agrees call for call (under the comparison rules of docs/oracle.md), the v2 lesson is not
 * comparable, and a real difference is reported with the call, its arguments and both results; and
 * createRealKernel() without a channel (the VM it boots itself). Needs the
 * setup (`iio-sim kernel setup`); skipped with one line otherwise.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIO_DIR } from '../../src/cli.ts';
import { diffFiles, diffScenario, formatDiff, type KernelFactory } from '../../src/real/diff.ts';
import { realPaths } from '../../src/real/paths.ts';
import { createRealKernel } from '../../src/real/runtime.ts';
import { checkSetup, SETUP_SKIP_MESSAGE } from '../../src/real/setup.ts';
import { bootVm, type Vm } from '../../src/real/vm.ts';
import { loadScenario } from '../../src/scenario/load.ts';

const ready = checkSetup().ready;
if (!ready) console.info(SETUP_SKIP_MESSAGE);

function scenario(text: string) {
  const loaded = loadScenario(text, 'inline.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.scenario;
}

describe.skipIf(!ready)('iio-sim diff against Linux 7.3', () => {
  let vm: Vm;
  const kernel: KernelFactory = (devices, seed) =>
    createRealKernel({ channel: vm.socket, seed, ...(devices ? { devices } : {}) });

  beforeAll(async () => {
    vm = await bootVm();
    vm.socket.on('error', () => {});
  }, 180_000);

  afterAll(async () => {
    await vm?.close();
  });

  it('every bundled mainline lesson agrees with the kernel; the v2 lesson is not comparable', async () => {
    const names = readdirSync(SCENARIO_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    const out: string[] = [];
    const err: string[] = [];
    const status = await diffFiles(
      names.map((n) => ({ name: n, text: readFileSync(join(SCENARIO_DIR, n), 'utf8') })),
      kernel,
      { out: (l) => out.push(l), err: (l) => err.push(l) },
    );
    console.info(out.join('\n'));
    expect(err).toEqual([]);
    expect(out.filter((l) => l.startsWith('  => '))).toEqual(
      names.filter((n) => !n.includes('v2')).map(() => '  => agree'),
    );
    expect(out.at(-1)).toBe(`diff: ${names.length - 1} agree, 0 differ, 1 not comparable`);
    expect(out).toContain('  not comparable: a v2 scenario: only mainline exists on the real kernel');
    expect(status).toBe(0);
  }, 900_000);

  it('the edge-case probes of test/real/diff-probes agree (sysfs, DAC writes, odd reads, kfifo, files, fds and paths, signals; LP64 and ILP32)', async () => {
    const dir = new URL('./diff-probes/', import.meta.url);
    const names = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    const out: string[] = [];
    const status = await diffFiles(
      names.map((n) => ({ name: n, text: readFileSync(new URL(n, dir), 'utf8') })),
      kernel,
      { out: (l) => out.push(l), err: (l) => out.push(l) },
    );
    expect(out.at(-1), out.join('\n')).toBe(`diff: ${names.length} agree, 0 differ, 0 not comparable`);
    expect(status).toBe(0);
  }, 600_000);

  it('a difference (the real char device number in sysfs) is the first differing call with both results', async () => {
    const d = await diffScenario(
      scenario(`
platform: ideal
processes:
  - name: p
    stdio: false
    steps:
      - open: { path: /sys/bus/iio/devices/iio:device0/name, as: nm }
      - read: { fd: nm, len: 64 }
        expect: { data: { text: "sim-adc\\n" } }
      - open: { path: /sys/bus/iio/devices/iio:device0/dev, as: dev }
      - read: { fd: dev, len: 64 }
        expect: { data: { text: "241:0\\n" } }
      - close: dev
      - close: nm
`),
      'dev.yaml',
      kernel,
    );
    expect(d.status).toBe('differ');
    const p = d.processes[0]!;
    expect(p.calls.agreed).toBe(3);
    expect(p.calls.first).toMatchObject({ index: 3, what: 'different data' });
    expect(p.calls.first!.sim!.text).toBe('read(1, 0x555555555000, 64)');
    expect(p.calls.first!.real!.step).toBe('steps[3] read');
    expect(p.simFailures).toEqual([]);
    expect(p.realFailures.map((f) => [f.step, f.expected])).toEqual([['steps[3] read', '"241:0\\n"']]);
    const lines = formatDiff(d);
    expect(lines[1]).toBe('  p: differs at syscall 4 of 4, steps[3] read: different data');
    expect(lines[3]).toBe('      simulator: 6 "241:0\\n"');
    expect(lines[4]).toMatch(/^ {6}kernel: {4}\d+ "\d+:0\\n"$/);
    expect(lines.at(-1)).toBe('  => DIFFER');
  }, 300_000);

  it('durations, lost scans and unsynced looks are noted, not compared; a kill fault follows the simulator', async () => {
    const d = await diffScenario(
      scenario(
        `
platform: ideal
faults:
  - at: 1ms
    kill: { process: victim }
processes:
  - name: victim
    steps:
      - heap_alloc: { size: 4096, as: b }
      - check: { in: b, len: 16 }
        expect: { data: { fill: 0 } }
      - sleep: 100ms
        expect: { minNs: 100ms }
  - name: after
    startAt: 2ms
    steps:
      - sleep: 1ms
        expect: { minNs: 1ms }
expect:
  processes: { victim: killed }
  lost: { sim-adc: 0 }
`,
      ),
      'kill.yaml',
      kernel,
    );
    expect(formatDiff(d)).toContain('  => agree');
    expect(d.processes.map((p) => [p.name, p.sim.status, p.real.status])).toEqual([
      ['victim', 'killed', 'killed'],
      ['after', 'exited', 'exited'],
    ]);
    expect(d.notes.map((n) => n.rule).sort()).toEqual([
      'kill-fault',
      'lost-scans',
      'unsynced-access',
      'virtual-time',
    ]);
  }, 300_000);

  it('createRealKernel() without a channel boots a VM of its own when none runs, and ends it at close()', async () => {
    const sockets = () =>
      readdirSync(realPaths().vmDir)
        .filter((f) => f.startsWith(`vm-${process.pid}-`))
        .sort();
    const before = sockets();
    const k = await createRealKernel({ instance: 'iio-sim-test-no-such-vm' });
    expect(sockets().length).toBe(before.length + 1);
    k.spawn('p', async (sys) => sys.getpid(), { stdio: false });
    const r = await k.run({ untilNs: 60e9 });
    expect(r.processes.map((p) => [p.status, p.value])).toEqual([['exited', 100]]);
    expect(r.release).toBe('7.3-amd64');
    await k.close();
    expect(sockets()).toEqual(before);
    expect(() => k.spawn('q', async () => 0)).toThrow('spawn() on a closed RealKernel');
  }, 300_000);
});
