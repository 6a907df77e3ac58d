/**
 * strace-style rendering of flag words and enumerated values (its `printflags`/`printxval` in the default,
 * abbreviated style).
 *
 * @packageDocumentation
 */

/** Names and values, in print order. A zero-valued entry is printed only when the whole value is 0. */
export type FlagTable = readonly (readonly [name: string, value: number | bigint])[];

function hex(v: bigint): string {
  return v === 0n ? '0' : `0x${v.toString(16)}`;
}

function toBig(v: number | bigint): bigint {
  return typeof v === 'bigint' ? BigInt.asUintN(64, v) : BigInt.asUintN(64, BigInt(Math.trunc(v)));
}

/**
 * Renders a flag word as `A|B`, strace style: entries whose bits are all set, in table order; leftover bits as
 * `|0x...`; bits set but none known gives the hex value followed by a C comment holding `dflt` (bare hex without
 * `dflt`); 0 gives the table's zero-valued name if it has one, else `0`.
 */
export function formatFlags(value: number | bigint, table: FlagTable, dflt?: string): string {
  let rest = toBig(value);
  const parts: string[] = [];
  for (const [name, raw] of table) {
    const v = toBig(raw);
    if ((rest === 0n && v === 0n && parts.length === 0) || (v !== 0n && (rest & v) === v)) {
      parts.push(name);
      rest &= ~v;
    }
    if (rest === 0n && parts.length > 0) break;
  }
  if (parts.length > 0) return rest === 0n ? parts.join('|') : `${parts.join('|')}|${hex(rest)}`;
  if (rest === 0n) return '0';
  return dflt === undefined ? hex(rest) : `${hex(rest)} /* ${dflt} */`;
}

/** Renders one enumerated value by exact match: its name, else its hex value and a C comment holding `dflt`. */
export function formatXval(value: number | bigint, table: FlagTable, dflt?: string): string {
  const v = toBig(value);
  for (const [name, raw] of table) if (toBig(raw) === v) return name;
  return dflt === undefined ? hex(v) : `${hex(v)} /* ${dflt} */`;
}
