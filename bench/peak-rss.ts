/** The peak resident size of this process, for the bench's memory rows (bench/memory.ts). */
import { readFileSync } from 'node:fs';

/**
 * This process's peak RSS in KiB: the high-water mark of its own address space (`VmHWM` in /proc/self/status)
 * where Linux gives it. `process.resourceUsage().maxRSS` is the fallback only: Linux carries the address
 * space's high-water mark across exec into it, so a child forked by a large parent reads at least the
 * parent's RSS there (the bench's 128 MiB memcpy arrays made every row read the same 168.8 MiB).
 */
export function peakRssKiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux: no /proc
  }
  return process.resourceUsage().maxRSS;
}
