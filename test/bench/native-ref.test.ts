/**
 * The bench's native reference (bench/native-ref.ts): bench/native.c built with `cc`, its first timing of the
 * three loops, and the `native serve` child that times one loop again per request without a fork.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Native, type NativeRef, native } from '../../bench/native-ref.ts';

const HAVE_CC = spawnSync('cc', ['--version']).status === 0;
if (!HAVE_CC) console.log('bench native reference tests skipped: no `cc` (install gcc to run them)');

describe.skipIf(!HAVE_CC)('bench native reference', () => {
  let dir = '';
  let ref: NativeRef;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'iio-bench-test-'));
    ref = native(dir, 2000);
  });
  afterAll(() => {
    ref?.server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('times all three loops once, in ns per syscall', () => {
    expect(ref.note).toBe(
      'native: read(2) from /dev/zero; DMABUF loop = poll(2) on a ready eventfd + 3 ioctl(FIONREAD)',
    );
    expect(Object.keys(ref.ns!).sort()).toEqual(['dmabufLoop', 'read16k', 'read512']);
    for (const ns of Object.values(ref.ns!)) {
      expect(Number.isFinite(ns)).toBe(true);
      expect(ns).toBeGreaterThan(0);
    }
  });

  it('the serve child answers one request per loop, in order, from one process', async () => {
    const pid = ref.server!.pid;
    for (const which of ['read512', 'read16k', 'dmabufLoop', 'read512'] as const) {
      const ns = await ref.server!.time(which, 400);
      expect(Number.isFinite(ns)).toBe(true);
      expect(ns).toBeGreaterThan(0);
    }
    expect(ref.server!.pid).toBe(pid);
  });

  it('an unknown loop ends the child: it and every later request reject with its exit status', async () => {
    const other = native(dir, 400);
    await expect(other.server!.time('nope' as keyof Native, 400)).rejects.toThrow('native serve exited (1)');
    await expect(other.server!.time('read512', 400)).rejects.toThrow('native serve exited (1)');
    other.server!.close();
  });
});
