import { describe, expect, it } from 'vitest';
import type { FlagTable } from '../../src/uapi/flags.ts';
import { formatFlags, formatXval } from '../../src/uapi/flags.ts';

const table: FlagTable = [
  ['Z', 0],
  ['AB', 3],
  ['A', 1],
  ['B', 2],
  ['C', 4],
];

describe('formatFlags (strace printflags)', () => {
  it('a zero-valued entry names 0', () => {
    expect(formatFlags(0, table)).toBe('Z');
  });

  it('0 without a zero-valued entry prints 0', () => {
    expect(formatFlags(0, [['A', 1]])).toBe('0');
    expect(formatFlags(0, [['A', 1]], 'X_???')).toBe('0');
  });

  it('table order decides: a multi-bit entry listed first wins', () => {
    expect(formatFlags(3, table)).toBe('AB');
    expect(formatFlags(7, table)).toBe('AB|C');
    expect(formatFlags(5, table)).toBe('A|C');
  });

  it('leftover bits print as |0x...; nothing known prints hex with the default comment', () => {
    expect(formatFlags(0x11, table)).toBe('A|0x10');
    expect(formatFlags(0x10, table)).toBe('0x10');
    expect(formatFlags(0x10, table, 'X_???')).toBe('0x10 /* X_??? */');
  });

  it('handles 64-bit values', () => {
    expect(formatFlags(1n << 63n, table)).toBe('0x8000000000000000');
    expect(formatFlags((1n << 40n) | 4n, table)).toBe('C|0x10000000000');
  });
});

describe('formatXval (strace printxval)', () => {
  it('exact match or hex with comment', () => {
    expect(formatXval(3, table)).toBe('AB');
    expect(formatXval(0, table)).toBe('Z');
    expect(formatXval(6, table, 'X_???')).toBe('0x6 /* X_??? */');
    expect(formatXval(6, table)).toBe('0x6');
  });
});
