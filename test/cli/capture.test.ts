/**
 * `iio-sim capture` and `iio-sim play` (src/cli/capture.ts): captures checked sample by sample against the
 * ADC's ramp (raw and CSV, read() and DMABUF on both ABIs), and playbacks checked against what the DAC
 * recorded.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/board.ts';
import { captureCommand, playCommand } from '../../src/cli/capture.ts';
import { main } from '../../src/cli.ts';
import type { Simulator } from '../../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'iio-sim-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The default sim-adc's channel c at scan n: a 12-bit ramp starting at 1024 × c, as signed codes. */
const RAMP = (n: number, c: number) => ((n + 1024 * c) % 4096) - 2048;

interface Io extends CliIo {
  readonly lines: string[];
  readonly errs: string[];
  bytes(): Uint8Array;
}

function io(): Io {
  const lines: string[] = [];
  const errs: string[] = [];
  const chunks: Uint8Array[] = [];
  return {
    lines,
    errs,
    out: (l) => lines.push(l),
    err: (l) => errs.push(l),
    outBytes: (b) => chunks.push(b),
    bytes: () => Buffer.concat(chunks),
  };
}

/** Every value of `scans` 4-channel s16 scans against the ramp: the mismatches. */
function rampMismatches(bytes: Uint8Array, scans: number, first = 0): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let bad = 0;
  for (let n = 0; n < scans; n++)
    for (let c = 0; c < 4; c++) if (dv.getInt16(8 * n + 2 * c, true) !== RAMP(first + n, c)) bad++;
  return bad;
}

describe('iio-sim capture', () => {
  it.each([
    ['read()', 'mainline', []],
    ['4 DMABUFs', 'mainline', ['--dmabuf']],
    ['2 DMABUFs', 'v2', ['--dmabuf', '-n', '2']],
  ] as const)(
    'raw, %s (%s): 5000 scans in blocks of 1000, every sample on the ramp from scan 0',
    async (_what, abi, extra) => {
      const o = io();
      const code = await main(['capture', '-s', '5000', '-b', '1000', '--abi', abi, ...extra], o);
      expect(o.errs.at(-1)).toMatch(
        /5000 scans of 8 bytes .* 5 blocks of up to 1000 scans; 0 scans lost to overflow during the capture;/,
      );
      expect(code).toBe(0);
      const bytes = o.bytes();
      expect(bytes.length).toBe(5000 * 8);
      expect(rampMismatches(bytes, 5000)).toBe(0);
    },
  );

  it.each([
    ['read()', []],
    ['DMABUF', ['--dmabuf', '-b', '64']],
  ] as const)(
    'CSV, %s, channels voltage1 and in_voltage3 to a file: a header, then the ramp line by line',
    async (_what, extra) => {
      const out = join(dir, `c-${extra.length}.csv`);
      const o = io();
      const code = await main(
        ['capture', 'sim-adc', 'voltage1', 'in_voltage3', '-s', '300', '--csv', '-o', out, ...extra],
        o,
      );
      expect(code).toBe(0);
      const lines = readFileSync(out, 'utf8').split('\n');
      expect(lines[0]).toBe('in_voltage1,in_voltage3');
      expect(lines).toHaveLength(302);
      expect(lines.at(-1)).toBe('');
      for (let n = 0; n < 300; n++) expect(lines[n + 1]).toBe(`${RAMP(n, 1)},${RAMP(n, 3)}`);
      expect(o.errs.at(-1)).toMatch(
        /^iio-sim capture: 300 scans of 4 bytes \(in_voltage1, in_voltage3\) from sim-adc \(iio:device0\)/,
      );
    },
  );

  it('blocks of 10 scans at 1 MHz cannot keep up: the scans lost are reported, and the per-block hook sees every block', async () => {
    const o = io();
    const blocks: number[] = [];
    const code = await captureCommand([], { samples: '2000', 'buffer-size': '10' }, o, {
      onBlock: (b) => blocks.push(b.scans),
    });
    expect(code).toBe(0);
    expect(blocks).toHaveLength(200);
    expect(blocks.every((n) => n === 10)).toBe(true);
    const lost = Number(/; (\d+) scans lost to overflow/.exec(o.errs.at(-1)!)![1]);
    expect(lost).toBeGreaterThan(0);
  });

  it('errors: a DAC, an unknown channel or device, bad numbers: one line, exit 1 or 2', async () => {
    const run = async (args: string[]) => {
      const o = io();
      return { code: await main(args, o), errs: o.errs };
    };
    expect(await run(['capture', 'sim-dac'])).toEqual({
      code: 1,
      errs: [
        'iio-sim capture: sim-dac (iio:device1) has no input scan elements: capture needs an input (ADC) device',
      ],
    });
    expect(await run(['capture', 'sim-adc', 'voltage9'])).toEqual({
      code: 1,
      errs: [
        "iio-sim capture: sim-adc has no channel 'voltage9' (its channels: in_voltage0, in_voltage1, in_voltage2, in_voltage3)",
      ],
    });
    expect((await run(['capture', 'nope'])).errs[0]).toBe(
      "iio-sim capture: no IIO device 'nope' (the board has 3 devices: see iio-sim info)",
    );
    expect(await run(['capture', '-b', '0'])).toEqual({
      code: 2,
      errs: ['iio-sim capture: -b/--buffer-size takes a number of scans from 1 to 16777216'],
    });
    expect((await run(['capture', '-s', '1.5'])).code).toBe(2);
    // One channel is 2 bytes: a DMABUF of 3 scans is 6 bytes, not a multiple of the DMA's 8-byte alignment.
    const odd = await run(['capture', 'sim-adc', 'voltage0', '--dmabuf', '-b', '3']);
    expect(odd.code).toBe(1);
    expect(odd.errs).toEqual([
      "iio-sim capture: a DMABUF of 3 scans is 6 bytes, not a multiple of the DMA's 8-byte length alignment (buffer0/length_align_bytes): choose another -b",
    ]);
  });
});

/** `n` scans of the default DAC (2 × le:s16): channel 0 a fast ramp, channel 1 its negation. */
function dacScans(n: number): { bytes: Uint8Array; rows: number[][] } {
  const bytes = new Uint8Array(4 * n);
  const dv = new DataView(bytes.buffer);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const a = ((i * 37) % 60000) - 30000;
    dv.setInt16(4 * i, a, true);
    dv.setInt16(4 * i + 2, -a, true);
    rows.push([a, -a]);
  }
  return { bytes, rows };
}

/** What the DAC played in its last run, from its first scan with data, as long as `rows`. */
function playedFrom(sim: Simulator, length: number): (readonly number[] | null)[] {
  const dac = sim.device('sim-dac').dac!;
  const played = dac.playedScans();
  const first = played.findIndex((s) => s !== null);
  return played.slice(first, first + length);
}

describe('iio-sim play', () => {
  it.each([
    ['write()', 'mainline', []],
    ['DMABUFs', 'mainline', ['--dmabuf']],
    ['DMABUFs', 'v2', ['--dmabuf', '-n', '3']],
  ] as const)(
    'raw input via %s (%s): the DAC plays every scan as given, in order',
    async (_w, abi, extra) => {
      const { bytes, rows } = dacScans(3000);
      const file = join(dir, `dac-${abi}-${extra.length}.bin`);
      writeFileSync(file, bytes);
      const o = io();
      let sim: Simulator | null = null;
      const code = await playCommand(
        [],
        {
          input: file,
          'buffer-size': '500',
          abi,
          dmabuf: extra.length > 0,
          ...(extra.length > 1 ? { blocks: '3' } : {}),
        },
        o,
        { onSimulator: (s) => (sim = s) },
      );
      expect(o.errs.at(-1)).toMatch(
        /^iio-sim play: 3000 scans \(out_voltage0, out_voltage1\) to sim-dac \(iio:device1\) .*the DAC played every scan as given/,
      );
      expect(code).toBe(0);
      expect(playedFrom(sim!, 3000)).toEqual(rows);
    },
  );

  it('CSV input on one channel, with a last write() block filled up with zeros', async () => {
    const file = join(dir, 'dac.csv');
    writeFileSync(file, 'out_voltage1\n5\n-6\n7\n');
    const o = io();
    let sim: Simulator | null = null;
    const code = await playCommand(
      ['sim-dac', 'voltage1'],
      { input: file, csv: true, 'buffer-size': '4' },
      o,
      {
        onSimulator: (s) => (sim = s),
      },
    );
    expect(code).toBe(0);
    expect(o.errs.at(-1)).toMatch(/3 scans \(out_voltage1\) .* \(the last filled up with 1 zero scan\)/);
    expect(playedFrom(sim!, 4)).toEqual([[5], [-6], [7], [0]]);
  });

  it('a ring of one DMABUF starves the DAC between blocks: the check sees the underflow (exit 1)', async () => {
    const { bytes } = dacScans(8);
    const file = join(dir, 'dac-starve.bin');
    writeFileSync(file, bytes);
    const o = io();
    const code = await main(['play', '-i', file, '--dmabuf', '-n', '1', '-b', '4'], o);
    expect(code).toBe(1);
    expect(o.errs.at(-1)).toMatch(/FAIL: sim-dac starved at scan 4 of the input \(underflow\)$/);
  });

  it('bad input: not whole scans, a CSV code out of range, an ADC: one line each', async () => {
    const half = join(dir, 'half.bin');
    writeFileSync(half, new Uint8Array(6));
    const o1 = io();
    expect(await main(['play', '-i', half], o1)).toBe(2);
    expect(o1.errs).toEqual([
      `iio-sim play: ${half}: 6 bytes are not whole scans of 4 bytes (out_voltage0, out_voltage1)`,
    ]);
    const csv = join(dir, 'big.csv');
    writeFileSync(csv, '1,2\n40000,0\n');
    const o2 = io();
    expect(await main(['play', '-i', csv, '--csv'], o2)).toBe(2);
    expect(o2.errs).toEqual([
      `iio-sim play: ${csv}:2:1: '40000' is no s16 code (-32768..32767) for out_voltage0`,
    ]);
    const o3 = io();
    expect(await main(['play', 'sim-adc', '-i', half], o3)).toBe(1);
    expect(o3.errs[0]).toBe(
      'iio-sim play: sim-adc (iio:device0) has no output scan elements: play needs an output (DAC) device',
    );
  });
});
