/**
 * `iio-sim info` (src/cli/info.ts): every attribute value it prints is the one the simulated sysfs holds,
 * read through a simulated process's open()/read(), and every attribute file of the board is printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readDevicesFile } from '../../src/cli/board.ts';
import { main } from '../../src/cli.ts';
import { createSimulator, type Simulator } from '../../src/index.ts';
import type { DeviceConfig } from '../../src/sim/devices.ts';
import { readAttr } from '../../src/user/iio.ts';

const dir = mkdtempSync(join(tmpdir(), 'iio-sim-info-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: readonly string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** A board whose ADC channels carry constants, so that every raw value is the same whenever it is read. */
const BOARD: DeviceConfig[] = [
  {
    kind: 'adc',
    name: 'adc-a',
    sampleRateHz: 48_000,
    channels: [
      { id: 'voltage0', type: 'le:s12/16>>0', signal: { kind: 'constant', value: -5 } },
      { id: 'voltage1', type: 'le:u16/16>>0', signal: { kind: 'constant', value: 40000 } },
      { id: 'accel_x', type: 'be:s14/16>>2', signal: { kind: 'constant', value: 3 } },
    ],
  },
  { kind: 'dac', name: 'dac-b', sampleRateHz: 2000, channels: [{ id: 'voltage0', type: 'le:s16/16>>0' }] },
  { kind: 'dummy', name: 'dummy-c', sampleRateHz: 100 },
];

/** Every attribute file of the board and its value, read by a simulated process: path relative to its device. */
async function sysfsValues(sim: Simulator): Promise<Map<string, string>> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const n of sim.kernel.paths.list(d) ?? []) {
      const p = `${d}/${n}`;
      if (sim.kernel.paths.list(p)) walk(p);
      else files.push(p);
    }
  };
  walk('/sys/bus/iio/devices');
  const values = new Map<string, string>();
  sim.spawn('reader', async (sys) => {
    for (const f of files) {
      const v = await readAttr(sys, f);
      values.set(
        f.replace('/sys/bus/iio/devices/', ''),
        typeof v === 'string' ? v.replace(/\n$/, '') : `errno ${v}`,
      );
    }
    return 0;
  });
  await sim.run();
  return values;
}

/** The attributes `info` printed, as `iio:deviceN/<file>` -> value (scan element index and type included). */
function printed(lines: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  let dev = '';
  let scope: { kind: 'device' } | { kind: 'channel'; stem: string } | { kind: 'buffer'; name: string } = {
    kind: 'device',
  };
  for (const l of lines) {
    let m = /^\t(iio:device\d+|trigger\d+): (.*?)( \(buffer capable\))?$/.exec(l);
    if (m) {
      dev = m[1]!;
      out.set(`${dev}/name`, m[2]!);
      scope = { kind: 'device' };
      continue;
    }
    m = /^\t\t\t(\S+): \((input|output)(?:, index: (\d+), format: (\S+))?\)$/.exec(l);
    if (m) {
      const stem = `${m[2] === 'input' ? 'in' : 'out'}_${m[1]}`;
      scope = { kind: 'channel', stem };
      if (m[3] !== undefined) {
        out.set(`${dev}/buffer0/${stem}_index`, m[3]);
        out.set(`${dev}/buffer0/${stem}_type`, m[4]!);
      }
      continue;
    }
    if (/^\t\t\d+ device-specific attributes found:$/.test(l)) scope = { kind: 'device' };
    m = /^\t\t(buffer\d+): \d+ buffer-specific attributes found:$/.exec(l);
    if (m) scope = { kind: 'buffer', name: m[1]! };
    m = /^\t\tCurrent trigger: (.*)$/.exec(l);
    if (m) out.set(`${dev}/trigger/current_trigger`, m[1]!);
    m = /^\t+attr +\d+: (\S+) value: (.*)$/.exec(l);
    if (m) {
      const where =
        scope.kind === 'channel'
          ? `${scope.stem}_${m[1]}`
          : scope.kind === 'buffer'
            ? `${scope.name}/${m[1]}`
            : m[1];
      out.set(`${dev}/${where}`, m[2]!);
    }
  }
  return out;
}

describe('iio-sim info', () => {
  it('prints every attribute of the board with the value the simulated sysfs holds', async () => {
    const file = join(dir, 'board.yaml');
    writeFileSync(file, stringify(BOARD));
    const r = await cli(['info', '--devices', file]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const shown = printed(r.out);
    const actual = await sysfsValues(createSimulator({ devices: BOARD }));
    // What info leaves out on purpose: char device numbers, the driver core's uevent and power/ files, the
    // legacy buffer/ and scan_elements/ views of buffer0, and the scan elements' enable bits.
    const expected = new Map(
      [...actual].filter(
        ([p]) => !/\/(dev|uevent)$/.test(p) && !/\/(buffer|scan_elements|power)\//.test(p) && !/_en$/.test(p),
      ),
    );
    expect(expected.size).toBe(50);
    expect(Object.fromEntries(shown)).toEqual(Object.fromEntries(expected));
    // Spot checks of the values themselves.
    expect(shown.get('iio:device0/in_voltage0_raw')).toBe('-5');
    expect(shown.get('iio:device0/in_voltage1_raw')).toBe('40000');
    expect(shown.get('iio:device0/in_accel_x_raw')).toBe('3');
    expect(shown.get('iio:device0/in_voltage1_scale')).toBe('0.038146972');
    expect(shown.get('iio:device0/buffer0/in_accel_x_type')).toBe('be:s14/16>>2');
    expect(shown.get('iio:device1/sampling_frequency')).toBe('2000');
  });

  it('the default board: header, sim-adc first, raw and scale on each ADC channel', async () => {
    const r = await cli(['info']);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(
      /^iio-sim: simulated board \(profile mainline, seed 1\), read by a simulated process at \d+\.\d{3} ms$/,
    );
    expect(r.out.slice(1, 5)).toEqual([
      'IIO context has 4 devices:',
      '\tiio:device0: sim-adc (buffer capable)',
      '\t\t4 channels found:',
      '\t\t\tvoltage0: (input, index: 0, format: le:s12/16>>0)',
    ]);
    expect(r.out.filter((l) => /attr {2}1: scale value: 1\.220703125$/.test(l))).toHaveLength(4);
  });

  it('a bad --devices file is one located line and exit 2', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'devices:\n  - kind: adc\n    name: x\n');
    const r = await cli(['info', '--devices', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^.*bad\.yaml:1:1: devices\.0\.sampleRateHz: /);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, '[1, 2\n');
    expect(readDevicesFile(broken)).toMatch(/broken\.yaml:\d+:\d+: /);
    expect((await cli(['info', '--devices', join(dir, 'missing.yaml')])).err).toEqual([
      `${join(dir, 'missing.yaml')}:1:1: cannot read the file (no such file)`,
    ]);
    expect((await cli(['info', '--seed', 'x'])).err).toEqual([
      "iio-sim info: --seed takes an integer from 0 to 4294967295, not 'x'",
    ]);
  });
});
