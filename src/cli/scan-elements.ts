/**
 * The scan elements of a simulated device as a user-space program finds them (libiio's local backend): the
 * `bufferN/*_en` files name the channels, `*_index` and `*_type` are read through open()/read(), and the scan
 * layout is computed from them the way the kernel packs a scan (each element aligned to its own size, the
 * scan to its largest element).
 */
import type { ScanLayout, ScanType } from '../hw/scan.ts';
import { parseScanType } from '../sim/drivers-converter.ts';
import type { Sys } from '../sim/process.ts';
import type { Simulator } from '../sim/simulator.ts';
import { readAttr } from '../user/iio.ts';
import { listSysfsDir } from './board.ts';

/** One scan element of a buffer. */
export interface ScanElement {
  /** `in_voltage0`, `out_voltage1`, `in_timestamp`. */
  readonly name: string;
  readonly index: number;
  readonly type: ScanType;
  /** The type as sysfs shows it (`le:s12/16>>0`). */
  readonly typeText: string;
}

/** The scan element names of `bufferN` of a device directory, from its `*_en` files (sorted by name). */
export function scanElementNames(sim: Simulator, devDir: string, buffer = 0): string[] {
  return (listSysfsDir(sim, `${devDir}/buffer${buffer}`) ?? [])
    .filter((n) => n.endsWith('_en'))
    .map((n) => n.slice(0, -3));
}

/**
 * Reads `_index` and `_type` of each named scan element through the process's syscalls; sorted by index.
 * Returns the elements, or the first failure as `{ path, ret }`.
 */
export async function readScanElements(
  sys: Sys,
  devDir: string,
  names: readonly string[],
  buffer = 0,
): Promise<ScanElement[] | { path: string; ret: number | string }> {
  const out: ScanElement[] = [];
  for (const name of names) {
    const base = `${devDir}/buffer${buffer}/${name}`;
    const index = await readAttr(sys, `${base}_index`);
    if (typeof index === 'number') return { path: `${base}_index`, ret: index };
    const type = await readAttr(sys, `${base}_type`);
    if (typeof type === 'number') return { path: `${base}_type`, ret: type };
    const typeText = type.trim();
    let parsed: ScanType;
    try {
      parsed = parseScanType(typeText);
    } catch {
      return { path: `${base}_type`, ret: `unreadable scan type '${typeText}'` };
    }
    out.push({ name, index: Number(index.trim()), type: parsed, typeText });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** Bytes one element of `t` takes in a scan: storage bytes times the power-of-two slots of a repeat. */
function elementBytes(t: ScanType): number {
  const repeat = t.repeat ?? 1;
  return (t.storagebits / 8) * (repeat > 1 ? 2 ** Math.ceil(Math.log2(repeat)) : 1);
}

/**
 * The layout of a scan of `elements` (sorted by index), as user space computes it from the scan types:
 * each field at the next multiple of its size, the scan rounded up to its largest field.
 */
export function scanLayoutOf(elements: readonly ScanElement[]): ScanLayout {
  let bytes = 0;
  let largest = 1;
  const fields = elements.map((e, i) => {
    const size = elementBytes(e.type);
    bytes = Math.ceil(bytes / size) * size;
    const field = { channel: i, offset: bytes, type: e.type };
    bytes += size;
    largest = Math.max(largest, size);
    return field;
  });
  return { bytesPerScan: Math.ceil(bytes / largest) * largest, fields };
}
