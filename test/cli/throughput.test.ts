import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.ts';

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** What 200 ms of the read() benchmark prints on zcu102 (4 x 4096-sample blocks). */
const READ_200_MS = [
  'read: 100 ms: Throughput: 116 MiB/s',
  'read: 200 ms: Throughput: 116 MiB/s',
  'read: 4096-sample blocks x 4 on zcu102: 115.6 MiB/s (device 468.75 MiB/s, 9255938 scans lost)',
];

describe('iio-sim throughput', () => {
  it('prints iio_rwdev -B style reports every 100 ms of simulated time and the average', async () => {
    const r = await cli(['throughput', '--path', 'read', '-b', '4096', '--duration', '200']);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    expect(r.out).toEqual(READ_200_MS);
  });

  it('a cache-coherent zcu102 (--coherent) reads at the converter rate', async () => {
    const r = await cli(['throughput', '--path', 'read', '--coherent', '--duration', '100']);
    expect(r.out.at(-1)).toBe(
      'read: 4096-sample blocks x 4 on zcu102: 468.2 MiB/s (device 468.75 MiB/s, 0 scans lost)',
    );
  });

  it('unusable options: one line saying why, the usage, exit status 2', async () => {
    for (const [args, why] of [
      [['--path', 'mmap'], "--path must be read, dmabuf or both, got 'mmap'"],
      [['-b', '0'], "-b must be a positive integer, got '0'"],
      [['--platform', 'vax'], "unknown platform 'vax' (known: zcu102, pluto, laptop, ideal)"],
      [['--bogus'], "Unknown option '--bogus'"],
    ] as const) {
      const r = await cli(['throughput', ...args]);
      expect(r.code).toBe(2);
      expect(r.err[0]).toContain(`iio-sim throughput: ${why}`);
      expect(r.err[1]).toMatch(/^usage: iio-sim throughput/);
    }
  });
});

describe('iio-sim capture --benchmark (iio_rwdev -B)', () => {
  it('reads with read() by default and prints the same reports as throughput --path read', async () => {
    const r = await cli(['capture', '--benchmark', '-b', '4096', '--duration', '200']);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    expect(r.out).toEqual(READ_200_MS);
  });

  it('--dmabuf -n 4 takes the DMABUF path with 4 blocks', async () => {
    const r = await cli([
      'capture',
      '--dmabuf',
      '--benchmark',
      '-n',
      '4',
      '--buffer-size=4096',
      '--duration',
      '100',
    ]);
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe('dmabuf: 100 ms: Throughput: 469 MiB/s');
    expect(r.out.at(-1)).toBe(
      'dmabuf: 4096-sample blocks x 4 on zcu102: 468.6 MiB/s (device 468.75 MiB/s, 0 scans lost)',
    );
  });

  it('a DEVICE argument or --dmabuf with --path: one line, the usage, exit status 2', async () => {
    for (const [args, why] of [
      [['sim-adc'], "unexpected argument 'sim-adc' (the benchmark captures from its AD9361-like ADC)"],
      [['--dmabuf', '--path', 'read'], '--dmabuf and --path contradict'],
    ] as const) {
      const r = await cli(['capture', '--benchmark', ...args]);
      expect(r.code).toBe(2);
      expect(r.err[0]).toBe(`iio-sim capture --benchmark: ${why}`);
      expect(r.err[1]).toMatch(/^usage: iio-sim throughput/);
    }
  });
});
