/**
 * sim-dummy's trigger when nobody reads (KFIFO-4): the scans a full kfifo drops run inside the trigger's
 * event while no other event comes first, in bulk when nobody traces the drops. A run that lets the trigger
 * step ahead and one that cannot (a stopWhen test after every event) must be the same run: the same
 * statistics (events counted), the same bytes read and the same discards at the same times.
 */
import { describe, expect, it } from 'vitest';
import { createSimulator, type Simulator, type Sys } from '../../../src/index.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../../../src/user/iio.ts';

const MS = 1_000_000;

/**
 * One process: enables sim-dummy's voltage0 and timestamp at t=0, sleeps `sleeps` ns one after another and
 * after each reads what the 2-scan kfifo holds. Returns the bytes each read gave, as hex.
 */
async function sleeper(sys: Sys, sleeps: readonly number[]): Promise<string[]> {
  expect(await enableChannels(sys, 2, ['in_voltage0', 'in_timestamp'])).toBe(0);
  const ob = await openBuffer(sys, 2);
  if (typeof ob === 'number') throw new Error(`openBuffer: ${ob}`);
  expect(await setBufferEnabled(sys, 2, true)).toBe(1);
  const buf = sys.mem.alloc(64);
  const got: string[] = [];
  for (const ns of sleeps) {
    expect(await sys.nanosleep(ns)).toBe(0);
    const n = await sys.read(ob.fd, buf, 64);
    got.push(`${n}:${Buffer.from(sys.mem.read(buf, Math.max(n, 0))).toString('hex')}`);
  }
  return got;
}

/** Runs {@link sleeper} to its end, stepping or not, with or without a listener on `iio:discard`. */
async function run(stepAhead: boolean, traced: boolean, sleeps: readonly number[]) {
  const sim: Simulator = createSimulator({ platform: 'ideal' });
  const discards: number[] = [];
  if (traced) sim.events.on('iio:discard', (e) => discards.push(e.time));
  let value: string[] = [];
  sim.spawn('reader', async (sys) => {
    value = await sleeper(sys, sleeps);
    return 0;
  });
  await sim.advance(stepAhead ? {} : { stopWhen: () => false });
  return {
    value,
    discards,
    stats: sim.stats(),
    now: sim.now,
    inlineSteps: sim.clock.inlineSteps,
  };
}

describe('sim-dummy: scans a full kfifo drops (KFIFO-4)', () => {
  // Reads land on scan times (ties with the trigger), between them, and after long idle stretches.
  const sleeps = [5 * MS, 2 * MS + 500_000, 1000 * MS, 3 * MS, 250 * MS + 1];

  it('KFIFO-4: stepping ahead inside the trigger event gives the same run as an event per scan', async () => {
    const ahead = await run(true, false, sleeps);
    const perEvent = await run(false, false, sleeps);
    expect(perEvent.inlineSteps).toBe(0);
    expect(ahead.inlineSteps).toBeGreaterThan(1000);
    expect(ahead.value).toEqual(perEvent.value);
    expect(ahead.stats).toEqual(perEvent.stats);
    expect(ahead.now).toBe(perEvent.now);
    // 1260.5 ms of scans from the enable, two kept per read: the rest were dropped.
    const dummy = ahead.stats.devices['sim-dummy'];
    expect(dummy?.kfifoOverflow).toBe(perEvent.stats.devices['sim-dummy']?.kfifoOverflow);
    expect(dummy?.kfifoOverflow).toBeGreaterThan(1200);
    expect(ahead.value.map((v) => v.split(':')[0])).toEqual(['32', '32', '32', '32', '32']);
  });

  it('KFIFO-4: with iio:discard traced, each dropped scan is still reported at its own time', async () => {
    const ahead = await run(true, true, sleeps);
    const perEvent = await run(false, true, sleeps);
    expect(ahead.inlineSteps).toBeGreaterThan(1000);
    expect(ahead.discards).toEqual(perEvent.discards);
    expect(ahead.discards.length).toBe(ahead.stats.devices['sim-dummy']?.kfifoOverflow);
    expect(ahead.value).toEqual(perEvent.value);
    expect(ahead.stats).toEqual(perEvent.stats);
  });
});
