/**
 * The program's own allocator (`sys.mem.alloc`, MM.allocHeap in src/kernel/mm.ts): it hands out fresh
 * page-granular blocks upwards from the ABI's heap base, and steps over mappings the program placed itself
 * with MAP_FIXED where the next block would have gone, like malloc falling back to fresh pages.
 */
import { describe, expect, it } from 'vitest';
import type { Sys } from '../../src/index.ts';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/uapi/index.ts';
import { ascii, runOne } from '../helpers.ts';

const RW = PROT_READ | PROT_WRITE;
const FIXED_ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const MiB = 1 << 20;

/** The heap bases of the two layouts in src/kernel/mm.ts. */
const ABIS = [
  { name: 'LP64', compat: false, heapBase: 0x555555554000 },
  { name: 'ILP32', compat: true, heapBase: 0x08050000 },
] as const;

/** True when `[a, a + alen)` and `[b, b + blen)` share no byte. */
function disjoint(a: number, alen: number, b: number, blen: number): boolean {
  return a + alen <= b || b + blen <= a;
}

/** Writes `text` at `addr` and reads it back. */
function roundTrip(sys: Sys, addr: number, text: string): string {
  sys.mem.write(addr, ascii(text));
  return new TextDecoder().decode(sys.mem.read(addr, text.length));
}

describe.each(ABIS)('MM.allocHeap: $name', ({ compat, heapBase }) => {
  it('MM.allocHeap: the first block of a fresh process is at the heap base', async () => {
    const { value } = await runOne(async (sys) => [sys.compat, sys.mem.alloc(4096)], { spawn: { compat } });
    expect(value).toEqual([compat, heapBase]);
  });

  it('MM.allocHeap: steps over a 1 MiB MAP_FIXED mapping at the heap base instead of hitting a KernelBug', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fixed = await sys.mmap(heapBase, MiB, RW, FIXED_ANON, -1, 0);
        sys.mem.write(fixed, ascii('head'));
        sys.mem.write(fixed + MiB - 4, ascii('tail'));
        const p = sys.mem.alloc(4096);
        const zeroed = sys.mem.read(p, 4096).every((b) => b === 0);
        const back = roundTrip(sys, p + 100, 'hello heap');
        const q = sys.mem.alloc(2 * PAGE_SIZE);
        const backQ = roundTrip(sys, q + 2 * PAGE_SIZE - 5, 'qtail');
        const fixedKept = [
          new TextDecoder().decode(sys.mem.read(fixed, 4)),
          new TextDecoder().decode(sys.mem.read(fixed + MiB - 4, 4)),
        ];
        return { fixed, p, q, zeroed, back, backQ, fixedKept };
      },
      { spawn: { compat } },
    );
    expect(value.fixed).toBe(heapBase);
    expect(disjoint(value.p, 4096, heapBase, MiB), `p=0x${value.p.toString(16)}`).toBe(true);
    expect(disjoint(value.q, 2 * PAGE_SIZE, heapBase, MiB), `q=0x${value.q.toString(16)}`).toBe(true);
    expect(disjoint(value.p, 4096, value.q, 2 * PAGE_SIZE)).toBe(true);
    expect(value.p % PAGE_SIZE).toBe(0);
    expect(value.p).toBeLessThan(compat ? 2 ** 32 : 2 ** 47);
    expect(value).toMatchObject({
      zeroed: true,
      back: 'hello heap',
      backQ: 'qtail',
      fixedKept: ['head', 'tail'],
    });
  });

  it('MM.allocHeap: a block that would partly overlap a MAP_FIXED page goes past it whole', async () => {
    const { value } = await runOne(
      async (sys) => {
        const a = sys.mem.alloc(PAGE_SIZE);
        // One page, one page above the current heap top: the next 3-page block would straddle it.
        const fixedAt = a + 2 * PAGE_SIZE;
        const fixed = await sys.mmap(fixedAt, PAGE_SIZE, RW, FIXED_ANON, -1, 0);
        sys.mem.write(fixed, ascii('mine'));
        const b = sys.mem.alloc(3 * PAGE_SIZE);
        sys.mem.write(b, new Uint8Array(3 * PAGE_SIZE).fill(0xa5));
        const filled = sys.mem.read(b, 3 * PAGE_SIZE).every((x) => x === 0xa5);
        const fixedKept = new TextDecoder().decode(sys.mem.read(fixed, 4));
        return { a, fixedAt, fixed, b, filled, fixedKept };
      },
      { spawn: { compat } },
    );
    expect(value.a).toBe(heapBase);
    expect(value.fixed).toBe(value.fixedAt);
    expect(disjoint(value.b, 3 * PAGE_SIZE, value.fixed, PAGE_SIZE)).toBe(true);
    expect(disjoint(value.b, 3 * PAGE_SIZE, value.a, PAGE_SIZE)).toBe(true);
    expect(value).toMatchObject({ filled: true, fixedKept: 'mine' });
  });
});

describe.each(ABIS)('sys.mem.free: $name', ({ compat, heapBase }) => {
  it('MM.freeHeap: a freed block faults; the next block is the next one up, zeroed', async () => {
    const { value } = await runOne(
      async (sys) => {
        const p = sys.mem.alloc(100);
        sys.mem.write(p, ascii('dirty'));
        sys.mem.free(p);
        let faulted = false;
        try {
          sys.mem.read(p, 1);
        } catch {
          faulted = true;
        }
        const q = sys.mem.alloc(100);
        return { p, q, faulted, zeroed: sys.mem.read(q, 4096).every((b) => b === 0) };
      },
      { spawn: { compat } },
    );
    expect(value).toEqual({ p: heapBase, q: heapBase + PAGE_SIZE, faulted: true, zeroed: true });
  });

  it('MM.freeHeap: freeing an address alloc did not return (or twice) throws', async () => {
    const { value } = await runOne(
      async (sys) => {
        const p = sys.mem.alloc(2 * PAGE_SIZE);
        const errors: string[] = [];
        for (const a of [p + PAGE_SIZE, p, p])
          try {
            sys.mem.free(a);
          } catch (e) {
            errors.push((e as Error).message);
          }
        return errors;
      },
      { spawn: { compat } },
    );
    expect(value).toEqual([
      `free(0x${(heapBase + PAGE_SIZE).toString(16)}): not a block that alloc returned`,
      `free(0x${heapBase.toString(16)}): not a block that alloc returned`,
    ]);
  });

  it('MM.freeHeap: a block the program partly unmapped is freed whole', async () => {
    const { value } = await runOne(
      async (sys) => {
        const p = sys.mem.alloc(3 * PAGE_SIZE);
        const un = await sys.munmap(p + PAGE_SIZE, PAGE_SIZE);
        sys.mem.free(p);
        const faults = [p, p + 2 * PAGE_SIZE].map((a) => {
          try {
            sys.mem.read(a, 1);
            return false;
          } catch {
            return true;
          }
        });
        return { un, faults };
      },
      { spawn: { compat } },
    );
    expect(value).toEqual({ un: 0, faults: [true, true] });
  });
});

describe('MM.copyFromUserSmall', () => {
  it('UACC-1: copies what copyFromUser copies, into shared bytes the next copy reuses; unreadable is null', async () => {
    const { MM, SMALL_COPY } = await import('../../src/kernel/mm.ts');
    const mm = new MM(false);
    const a = mm.allocHeap(4096);
    mm.store(a, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]));
    const first = mm.copyFromUserSmall(a, 8)!;
    expect([...first]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...first]).toEqual([...mm.copyFromUser(a, 8)!]);
    const second = mm.copyFromUserSmall(a + 8, 8)!;
    expect([...second]).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
    expect(second.buffer).toBe(first.buffer);
    // An odd address and length inside one block, and a single byte.
    expect([...mm.copyFromUserSmall(a + 3, 5)!]).toEqual([4, 5, 6, 7, 8]);
    expect([...mm.copyFromUserSmall(a + 15, 1)!]).toEqual([16]);
    expect(mm.copyFromUserSmall(0x10000, 8)).toBeNull();
    // Larger than the shared bytes: a copy of its own.
    expect(mm.copyFromUserSmall(a, SMALL_COPY + 1)!.buffer).not.toBe(first.buffer);
    expect(mm.copyFromUserSmall(a, SMALL_COPY + 1)!.length).toBe(SMALL_COPY + 1);
  });
});

describe('MM.copyFromUserPrefix and copyFromUser: no buffer sized by the length asked for', () => {
  it('UACC-2: a prefix copy of 2^31 bytes from a 48-byte readable block returns those 48 bytes in a buffer of 48', async () => {
    const { MM } = await import('../../src/kernel/mm.ts');
    const mm = new MM(false);
    // Two pages readable, then nothing mapped: the copy stops at the end of the block.
    const a = mm.allocHeap(2 * 4096);
    const bytes = Uint8Array.from({ length: 48 }, (_, i) => i + 1);
    mm.store(a + 2 * 4096 - 48, bytes);
    const out = mm.copyFromUserPrefix(a + 2 * 4096 - 48, 2 ** 31);
    expect([...out]).toEqual([...bytes]);
    expect(out.buffer.byteLength).toBe(48);
    // Across two mappings: both pieces, in order; the first byte unmapped: nothing.
    const b = mm.allocHeap(4096);
    expect(b).toBe(a + 2 * 4096);
    mm.store(b, new Uint8Array([200, 201]));
    expect([...mm.copyFromUserPrefix(a + 2 * 4096 - 2, 4)]).toEqual([47, 48, 200, 201]);
    expect(mm.copyFromUserPrefix(0x10000, 2 ** 31).length).toBe(0);
    // Longer than any typed array can be: the two bytes and b's whole page, where the mappings end.
    const long = mm.copyFromUserPrefix(a + 2 * 4096 - 2, 2 ** 40);
    expect([long.length, ...long.subarray(0, 4)]).toEqual([2 + 4096, 47, 48, 200, 201]);
  });

  it('UACC-1: a copy that faults is null without a buffer of its length; one that does not is the bytes', async () => {
    const { MM } = await import('../../src/kernel/mm.ts');
    const mm = new MM(false);
    const a = mm.allocHeap(4096);
    const b = mm.allocHeap(4096);
    mm.store(a + 4094, new Uint8Array([1, 2]));
    mm.store(b, new Uint8Array([3, 4]));
    expect([...mm.copyFromUser(a + 4094, 4)!]).toEqual([1, 2, 3, 4]);
    // 2^40 bytes: no typed array can be that long, so a buffer of the length asked for would throw.
    expect(mm.copyFromUser(a, 2 ** 40)).toBeNull();
    expect(mm.copyFromUser(0x10000, 2 ** 40)).toBeNull();
  });
});
