/**
 * `iio-sim throughput`: {@link measureThroughput} from the command line, printing like `iio_rwdev -B`.
 * It parses its own options (as `iio-sim kernel` does), so it adds nothing to the main command table.
 */
import { parseArgs } from 'node:util';
import { PLATFORMS, type PlatformName } from '../kernel/platform.ts';
import { measureThroughput } from '../sim/throughput.ts';

/** Help text of the command. */
export const THROUGHPUT_USAGE = `usage: iio-sim throughput [--path read|dmabuf|both] [-b SAMPLES] [--blocks N] [--touch]
                          [--platform ${Object.keys(PLATFORMS).join('|')}] [--coherent|--no-coherent] [--duration MS]
       iio-sim capture --benchmark [--dmabuf] [-b SAMPLES] [-n N] [--touch] [--platform P] [--duration MS]
  Captures from an AD9361-like ADC (61.44 MSPS, 2 x I/Q of 16 bits) as iio_rwdev -b SAMPLES -B does and
  prints MiB/s in simulated time every 100 ms (default: both paths, 4096 samples, 4 blocks, zcu102, 1000 ms).`;

/**
 * `iio-sim capture --benchmark [--dmabuf] [-b N] [-n N] [OPTIONS]` as `iio-sim throughput` options: capture's
 * spelling of iio_rwdev's `-B` (`--dmabuf` chooses the DMABUF path, read() otherwise; `-n`/`--blocks` and
 * `-b`/`--buffer-size` keep their capture meaning). Throws with a one-line message for a DEVICE argument:
 * the benchmark always captures from its AD9361-like ADC.
 */
export function captureBenchmarkArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let path: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--benchmark') continue;
    if (a === '--dmabuf') path = 'dmabuf';
    else if (a.startsWith('--buffer-size=')) out.push(`--block-samples=${a.slice('--buffer-size='.length)}`);
    else if (a.startsWith('-')) {
      out.push(a === '-n' ? '--blocks' : a === '--buffer-size' ? '-b' : a);
      if (
        /^(-b|-n|--buffer-size|--blocks|--platform|--duration|--path|--block-samples)$/.test(a) &&
        i + 1 < argv.length
      )
        out.push(argv[++i]!);
    } else throw new Error(`unexpected argument '${a}' (the benchmark captures from its AD9361-like ADC)`);
  }
  if (path !== undefined) {
    if (out.includes('--path')) throw new Error('--dmabuf and --path contradict');
    out.push('--path', path);
  } else if (!out.some((a) => a === '--path' || a.startsWith('--path='))) out.push('--path', 'read');
  return out;
}

/** Output streams (the CLI's). */
export interface ThroughputIo {
  out(line: string): void;
  err(line: string): void;
}

function positiveInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v)))
    throw new Error(`${name} must be a positive integer, got '${v}'`);
  return Number(v);
}

/**
 * Runs `iio-sim throughput ARGS` (or, with `asCapture`, `iio-sim capture --benchmark ARGS`); resolves to the
 * exit status (2 for unusable options).
 */
export async function throughputCommand(
  argv: readonly string[],
  io: ThroughputIo,
  asCapture = false,
): Promise<number> {
  let opts: ReturnType<typeof parse>;
  try {
    opts = parse(asCapture ? captureBenchmarkArgv(argv) : argv);
  } catch (e) {
    io.err(
      `iio-sim ${asCapture ? 'capture --benchmark' : 'throughput'}: ${e instanceof Error ? e.message : String(e)}`,
    );
    io.err(THROUGHPUT_USAGE);
    return 2;
  }
  if (opts === null) {
    io.out(THROUGHPUT_USAGE);
    return 0;
  }
  for (const path of opts.paths) {
    const r = await measureThroughput({
      path,
      blockSamples: opts.blockSamples,
      blocks: opts.blocks,
      touch: opts.touch,
      durationNs: opts.durationMs * 1_000_000,
      platform:
        opts.coherent === undefined ? opts.platform : { base: opts.platform, coherentDma: opts.coherent },
      onReport: (x) =>
        io.out(`${path}: ${(x.timeNs / 1e6).toFixed(0)} ms: Throughput: ${x.mibPerSecond.toFixed(0)} MiB/s`),
    });
    io.out(
      `${path}: ${opts.blockSamples}-sample blocks x ${opts.blocks}${opts.touch ? ', data touched' : ''} on ${opts.platform}: ` +
        `${r.mibPerSecond.toFixed(1)} MiB/s (device ${r.deviceMibPerSecond.toFixed(2)} MiB/s, ${r.lostScans} scans lost)`,
    );
  }
  return 0;
}

/** The options, or null for --help; throws with a one-line message for unusable ones. */
function parse(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      path: { type: 'string' },
      'block-samples': { type: 'string', short: 'b' },
      blocks: { type: 'string' },
      touch: { type: 'boolean' },
      platform: { type: 'string' },
      coherent: { type: 'boolean' },
      'no-coherent': { type: 'boolean' },
      duration: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
  if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0]}'`);
  const path = values.path ?? 'both';
  if (path !== 'read' && path !== 'dmabuf' && path !== 'both')
    throw new Error(`--path must be read, dmabuf or both, got '${path}'`);
  const platform = values.platform ?? 'zcu102';
  if (!Object.hasOwn(PLATFORMS, platform))
    throw new Error(`unknown platform '${platform}' (known: ${Object.keys(PLATFORMS).join(', ')})`);
  if (values.coherent && values['no-coherent']) throw new Error('--coherent and --no-coherent contradict');
  return {
    paths: path === 'both' ? (['read', 'dmabuf'] as const) : ([path] as const),
    blockSamples: positiveInt('-b', values['block-samples'], 4096),
    blocks: positiveInt('--blocks', values.blocks, 4),
    touch: values.touch ?? false,
    platform: platform as PlatformName,
    coherent: values.coherent ? true : values['no-coherent'] ? false : undefined,
    durationMs: positiveInt('--duration', values.duration, 1000),
  };
}
