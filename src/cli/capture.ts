/**
 * `iio-sim capture` (libiio's `iio_readdev`) and `iio-sim play` (`iio_writedev`): a simulated process
 * streams scans from an input device to a file or stdout, raw or as CSV, or from a file or stdin to an
 * output device, through read()/write() or DMABUFs; `play` then checks what the DAC recorded against the
 * input.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeFieldBigInt, encodeScans, readScans, type ScanLayout } from '../hw/scan.ts';
import { rawCodeRange } from '../hw/signal.ts';
import type { Sys } from '../sim/process.ts';
import type { Simulator } from '../sim/simulator.ts';
import { boardSimulator, type CliIo, type CliOptions } from './board.ts';
import {
  type BlockHook,
  type CaptureData,
  captureProgram,
  type PlayResult,
  playProgram,
  type StreamError,
  type StreamOptions,
  type StreamSetup,
} from './stream.ts';

/** What a caller of {@link captureCommand} or {@link playCommand} may watch. */
export interface StreamHooks {
  /** Each block as it is consumed (capture) or queued (play): throughput measurements. */
  readonly onBlock?: BlockHook;
  /** The simulator once the run is over (tests read the DAC's recorded output from it). */
  readonly onSimulator?: (sim: Simulator) => void;
}

/** Options of `capture` and `play` in the CLI's option table. */
export const STREAM_OPTIONS = {
  'buffer-size': { type: 'string', short: 'b' },
  samples: { type: 'string', short: 's' },
  blocks: { type: 'string', short: 'n' },
  dmabuf: { type: 'boolean' },
  csv: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  input: { type: 'string', short: 'i' },
  devices: { type: 'string' },
  abi: { type: 'string' },
  platform: { type: 'string' },
} as const;

/** Defaults: blocks of 256 scans (iio_readdev's buffer size), 4 DMABUFs, one block of samples. */
const DEFAULT_BLOCK_SCANS = 256;
const DEFAULT_DMABUFS = 4;

/** Largest capture the CLI holds in memory: 2^24 scans. */
const MAX_SCANS = 1 << 24;

function positiveInt(v: unknown, fallback: number, max: number): number | null {
  if (v === undefined) return fallback;
  const s = String(v);
  const n = Number(s);
  return /^\d+$/.test(s) && n >= 1 && n <= max ? n : null;
}

/** The stream options of a command line, or the error line. */
function streamOptions(
  command: string,
  args: readonly string[],
  opts: CliOptions,
  device: string,
): (StreamOptions & { scans: number }) | string {
  const blockScans = positiveInt(opts['buffer-size'], DEFAULT_BLOCK_SCANS, MAX_SCANS);
  const blocks = positiveInt(opts.blocks, DEFAULT_DMABUFS, 64);
  if (blockScans === null)
    return `iio-sim ${command}: -b/--buffer-size takes a number of scans from 1 to ${MAX_SCANS}`;
  if (blocks === null) return `iio-sim ${command}: -n/--blocks takes a number of DMABUFs from 1 to 64`;
  const scans = positiveInt(opts.samples, blockScans, MAX_SCANS);
  if (scans === null)
    return `iio-sim ${command}: -s/--samples takes a number of scans from 1 to ${MAX_SCANS}`;
  const [dev, ...channels] = args;
  return { device: dev ?? device, channels, blockScans, blocks, dmabuf: opts.dmabuf === true, scans };
}

/** Runs `program` as the only process of `sim` and returns its value, or prints why it failed. */
async function runProgram<T>(
  sim: Simulator,
  name: string,
  program: (sys: Sys) => Promise<T | StreamError>,
  command: string,
  io: CliIo,
): Promise<T | null> {
  let value: T | StreamError | undefined;
  sim.spawn(name, async (sys) => {
    value = await program(sys);
    return 0;
  });
  const r = await sim.run();
  const p = r.processes[0]!;
  if (value === undefined) {
    io.err(`iio-sim ${command}: the ${name} process did not finish: ${p.reason}`);
    return null;
  }
  if (typeof value === 'object' && value !== null && 'error' in value) {
    io.err(`iio-sim ${command}: ${(value as StreamError).error}`);
    return null;
  }
  return value as T;
}

/** The scans of `data` as CSV lines: a header of channel names, then one line of decimal values per scan. */
export function csvLines(setup: StreamSetup, data: Uint8Array): string[] {
  const { layout } = setup;
  const bpd = layout.bytesPerScan;
  const lines = [setup.elements.map((e) => e.name).join(',')];
  for (let base = 0; base + bpd <= data.length; base += bpd)
    lines.push(
      layout.fields.map((f) => decodeFieldBigInt(data, base + f.offset, f.type).toString()).join(','),
    );
  return lines;
}

function channelList(setup: StreamSetup): string {
  return setup.elements.map((e) => e.name).join(', ');
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function ms(ns: number): string {
  return `${(ns / 1e6).toFixed(3)} ms`;
}

/**
 * `iio-sim capture [DEVICE [CHANNEL...]]`: captures `-s` scans (default one block) from DEVICE (default
 * sim-adc) in blocks of `-b` scans, to `-o FILE` or stdout, raw or `--csv`. `onBlock` sees every block.
 */
export async function captureCommand(
  args: readonly string[],
  opts: CliOptions,
  io: CliIo,
  hooks: StreamHooks = {},
): Promise<number> {
  const so = streamOptions('capture', args, opts, 'sim-adc');
  if (typeof so === 'string') {
    io.err(so);
    return 2;
  }
  const sim = boardSimulator('capture', opts, io);
  if (!sim) return 2;
  // Scans lost inside the capture: gaps counted before its last block was consumed (the converter runs on
  // until the disable, with nothing queued after the last block).
  const gaps: { channel: string; scans: number; time: number }[] = [];
  sim.events.on('dma:gap', (e) => gaps.push(e));
  let lastBlock = 0;
  const hook: BlockHook = (b) => {
    lastBlock = b.time;
    hooks.onBlock?.(b);
  };
  const got = await runProgram<CaptureData>(
    sim,
    'iio_readdev',
    (sys) => captureProgram(sys, sim, so, hook),
    'capture',
    io,
  );
  hooks.onSimulator?.(sim);
  if (!got) return 1;
  const { setup, data } = got;
  if (!writeOutput(opts, io, setup, data)) return 2;
  const lost = gaps
    .filter((g) => g.channel === `${setup.name}-dma` && g.time <= lastBlock)
    .reduce((n, g) => n + g.scans, 0);
  io.err(
    `iio-sim capture: ${so.scans} scans of ${setup.layout.bytesPerScan} bytes (${channelList(setup)}) from ${setup.name} (${setup.node}) via ${so.dmabuf ? plural(Math.min(so.blocks, got.blocks), 'DMABUF') : 'read()'}, ${plural(got.blocks, 'block')} of up to ${so.blockScans} scans; ${lost} scans lost to overflow during the capture; ${ms(sim.now)} of simulated time`,
  );
  return 0;
}

function writeOutput(opts: CliOptions, io: CliIo, setup: StreamSetup, data: Uint8Array): boolean {
  const out = opts.output === undefined || opts.output === '-' ? null : String(opts.output);
  const bytes = opts.csv === true ? new TextEncoder().encode(`${csvLines(setup, data).join('\n')}\n`) : data;
  if (out === null) {
    if (io.outBytes) io.outBytes(bytes);
    else process.stdout.write(bytes);
    return true;
  }
  try {
    writeFileSync(out, bytes);
    return true;
  } catch (e) {
    io.err(`${out}:1:1: cannot write the capture (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    return false;
  }
}

/** Parses CSV scans (an optional header line, then one line of integers per scan) into the layout's bytes. */
export function csvToScans(text: string, file: string, setup: StreamSetup): Uint8Array | StreamError {
  const { layout } = setup;
  const lines = text.split(/\r?\n/);
  const rows: { line: number; cells: string[] }[] = [];
  lines.forEach((l, i) => {
    if (l.trim() !== '') rows.push({ line: i + 1, cells: l.split(',').map((c) => c.trim()) });
  });
  if (rows.length > 0 && rows[0]!.cells.some((c) => !/^-?\d+$/.test(c))) rows.shift();
  if (rows.length > MAX_SCANS) return { error: `${file}: more than ${MAX_SCANS} scans` };
  const values = layout.fields.map(() => new Float64Array(rows.length));
  for (const [i, row] of rows.entries()) {
    if (row.cells.length !== layout.fields.length)
      return {
        error: `${file}:${row.line}:1: ${row.cells.length} values, expected ${layout.fields.length} (${channelList(setup)})`,
      };
    for (const [j, f] of layout.fields.entries()) {
      const v = Number(row.cells[j]);
      const { min, max } = rawCodeRange({ signed: f.type.sign === 's', realbits: f.type.realbits });
      if (!/^-?\d+$/.test(row.cells[j]!) || v < min || v > max)
        return {
          error: `${file}:${row.line}:1: '${row.cells[j]}' is no ${f.type.sign}${f.type.realbits} code (${min}..${max}) for ${setup.elements[j]!.name}`,
        };
      values[j]![i] = v;
    }
  }
  const out = new Uint8Array(rows.length * layout.bytesPerScan);
  encodeScans(out, 0, layout, rows.length, values);
  return out;
}

function readInput(opts: CliOptions): { bytes: Uint8Array; name: string } | string {
  const file = opts.input === undefined || opts.input === '-' ? null : String(opts.input);
  try {
    return { bytes: new Uint8Array(readFileSync(file ?? 0)), name: file ?? '<stdin>' };
  } catch (e) {
    return `${file ?? '<stdin>'}:1:1: cannot read the input (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
}

/**
 * Compares what the DAC recorded in its last run with `queued`: the first scan played with data must be
 * the first scan queued, and every scan after it the next one. Returns the scans of underflow before the
 * data, or the first scan that differs.
 */
export function checkPlayed(
  sim: Simulator,
  setup: StreamSetup,
  queued: Uint8Array,
): { ok: true; before: number } | { ok: false; message: string } {
  const dac = sim.devices.find((d) => d.iio.devName === setup.node)?.dac;
  if (!dac) return { ok: false, message: `${setup.name} records no output` };
  const layout: ScanLayout = setup.layout;
  const want = readScans(queued, 0, layout, queued.length / layout.bytesPerScan);
  const played = dac.playedScans(dac.runs.length - 1, want.length + 10_000_000);
  const first = played.findIndex((s) => s !== null);
  if (first < 0) return { ok: false, message: `${setup.name} played nothing` };
  for (let i = 0; i < want.length; i++) {
    const got = played[first + i];
    if (!got) return { ok: false, message: `${setup.name} starved at scan ${i} of the input (underflow)` };
    if (got.some((v, j) => v !== want[i]![j]))
      return {
        ok: false,
        message: `${setup.name} played scan ${i} as [${got.join(', ')}], the input has [${want[i]!.join(', ')}]`,
      };
  }
  return { ok: true, before: first };
}

/**
 * `iio-sim play [DEVICE [CHANNEL...]]`: plays scans from `-i FILE` or stdin (raw, or `--csv`) on DEVICE
 * (default sim-dac) in blocks of `-b` scans, then checks the DAC's recorded output against them (exit 1
 * when it differs).
 */
export async function playCommand(
  args: readonly string[],
  opts: CliOptions,
  io: CliIo,
  hooks: StreamHooks = {},
): Promise<number> {
  const so = streamOptions('play', args, opts, 'sim-dac');
  if (typeof so === 'string') {
    io.err(so);
    return 2;
  }
  const input = readInput(opts);
  if (typeof input === 'string') {
    io.err(input);
    return 2;
  }
  const sim = boardSimulator('play', opts, io);
  if (!sim) return 2;
  let queued: Uint8Array = new Uint8Array(0);
  let inputError = false;
  const toScans = (setup: StreamSetup): Uint8Array | StreamError => {
    const bpd = setup.layout.bytesPerScan;
    const bytes =
      opts.csv === true ? csvToScans(new TextDecoder().decode(input.bytes), input.name, setup) : input.bytes;
    if (!(bytes instanceof Uint8Array)) {
      inputError = true;
      return bytes;
    }
    if (bytes.length === 0 || bytes.length % bpd !== 0) {
      inputError = true;
      return {
        error: `${input.name}: ${bytes.length} bytes are not whole scans of ${bpd} bytes (${channelList(setup)})`,
      };
    }
    queued = bytes;
    return bytes;
  };
  const got = await runProgram<PlayResult>(
    sim,
    'iio_writedev',
    (sys) => playProgram(sys, sim, so, toScans, hooks.onBlock),
    'play',
    io,
  );
  hooks.onSimulator?.(sim);
  if (!got) return inputError ? 2 : 1;
  const padded = new Uint8Array(got.scans * got.setup.layout.bytesPerScan);
  padded.set(queued);
  const check = checkPlayed(sim, got.setup, padded);
  const what = `${queued.length / got.setup.layout.bytesPerScan} scans (${channelList(got.setup)}) to ${got.setup.name} (${got.setup.node}) via ${so.dmabuf ? 'DMABUFs' : 'write()'}, ${plural(got.blocks, 'block')} of up to ${so.blockScans} scans${got.padding ? ` (the last filled up with ${plural(got.padding, 'zero scan')})` : ''}`;
  if (!check.ok) {
    io.err(`iio-sim play: ${what}; FAIL: ${check.message}`);
    return 1;
  }
  io.err(
    `iio-sim play: ${what}; the DAC played every scan as given, after ${check.before} scans of underflow; ${ms(sim.now)} of simulated time`,
  );
  return 0;
}
