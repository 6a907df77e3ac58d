/**
 * The bench's peak RSS (bench/peak-rss.ts): a child's own peak, not its forking parent's resident size,
 * which Linux carries into `resourceUsage().maxRSS` across exec.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peakRssKiB } from '../../bench/peak-rss.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const HAVE_HWM =
  existsSync('/proc/self/status') && /^VmHWM:/m.test(readFileSync('/proc/self/status', 'utf8'));
if (!HAVE_HWM) console.log('bench peak RSS tests skipped: no VmHWM in /proc/self/status (Linux only)');

describe.skipIf(!HAVE_HWM)('bench peak RSS', () => {
  it("is this process's VmHWM", () => {
    const hwm = Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
    const peak = peakRssKiB();
    // Read one after the other: the peak can only have grown in between.
    expect(peak).toBeGreaterThanOrEqual(hwm);
    expect(peak).toBeLessThan(hwm + 64 * 1024);
  });

  it("a child of a process holding 512 MiB reads its own peak, where maxRSS reads the parent's", () => {
    const held = new Uint8Array(512 << 20).fill(1);
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "import('./bench/peak-rss.ts').then((m) => console.log(JSON.stringify({ peak: m.peakRssKiB(), maxRss: process.resourceUsage().maxRSS })))",
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    const { peak, maxRss } = JSON.parse(out) as { peak: number; maxRss: number };
    expect(held[held.length - 1]).toBe(1);
    expect(maxRss).toBeGreaterThan(512 * 1024);
    expect(peak).toBeLessThan(512 * 1024);
    expect(peak).toBeGreaterThan(0);
  });
});
