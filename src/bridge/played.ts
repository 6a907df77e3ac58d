/**
 * What a simulated DAC played, as raw bytes in its scan layout: `iio-sim exec --played DEV=FILE` writes it
 * so that a test can compare it with what the program was given (a real program's output cannot be checked
 * from inside it).
 *
 * @packageDocumentation
 */
import type { Dac } from '../hw/converter.ts';

/** The scans a DAC played over all its runs, and the scans it starved. */
export interface PlayedBytes {
  /** Played scans, run after run, in the run's scan layout; starved scans between two played ones are zeros. */
  readonly bytes: Uint8Array;
  /** Scans in `bytes`. */
  readonly scans: number;
  /** Starved scans before each run's first played scan (underflow at the start), summed over the runs. */
  readonly before: number;
  /** Starved scans between played ones (zeros in `bytes`). */
  readonly gaps: number;
  readonly runs: number;
}

/** Largest recording written (the simulator's memory is the limit, not the file). */
const MAX_BYTES = 256 << 20;

/**
 * The bytes `dac` played, from each run's first scan with data to its last, run after run; the stream bytes a
 * run played are found in its segments (a cyclic segment repeats its bytes).
 */
export function playedBytes(dac: Dac, now: number): PlayedBytes {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let before = 0;
  let gaps = 0;
  let scansPlayed = 0;
  for (const run of dac.runs) {
    const bps = run.layout.bytesPerScan;
    const endByte = Math.min(run.end ?? dac.scansBy(now) * bps, MAX_BYTES - total);
    const scans = Math.floor(endByte / bps);
    const out = new Uint8Array(scans * bps);
    const played = new Uint8Array(scans);
    for (const seg of run.segments) {
      const segEnd = Math.min(seg.end, scans * bps);
      for (let b = Math.ceil(seg.start / bps) * bps; b + bps <= segEnd; b += bps) {
        const rel = (b - seg.start) % seg.bytes.length;
        if (rel + bps > seg.bytes.length) continue;
        out.set(seg.bytes.subarray(rel, rel + bps), b);
        played[b / bps] = 1;
      }
    }
    const first = played.indexOf(1);
    if (first < 0) {
      before += scans;
      continue;
    }
    const last = played.lastIndexOf(1);
    before += first;
    for (let s = first; s <= last; s++) if (!played[s]) gaps++;
    chunks.push(out.subarray(first * bps, (last + 1) * bps));
    total += (last + 1 - first) * bps;
    scansPlayed += last + 1 - first;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { bytes, scans: scansPlayed, before, gaps, runs: dac.runs.length };
}
