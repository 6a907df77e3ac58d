/**
 * The host side of the executor protocol (src/real/protocol.ts) and the memory mirror (src/real/memory.ts),
 * without an executor: frame reassembly, argument encoding, memory operations, and the mirror's regions,
 * faults and change tracking.
 */
import { describe, expect, it } from 'vitest';
import { SegmentationFault } from '../../src/kernel/mm.ts';
import { changedRuns, MirrorMemory } from '../../src/real/memory.ts';
import {
  ARENA,
  decodeMemOps,
  decodeResult,
  encodeCallHead,
  encodeFrame,
  encodeMemOpHead,
  FrameReader,
  FrameType,
  HDR_SIZE,
  MemOp,
  MOP_SIZE,
  toI64,
} from '../../src/real/protocol.ts';
import { PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/uapi/index.ts';

const RW = PROT_READ | PROT_WRITE;

function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

describe('frames', () => {
  it('a frame is its 16-byte header (length, type, flags, proc, seq) followed by the payload parts', () => {
    const f = encodeFrame(FrameType.CALL, 1, 7, 0x01020304, [new Uint8Array([9, 8]), new Uint8Array([7])]);
    expect(Array.from(f)).toEqual([19, 0, 0, 0, 0x10, 0, 1, 0, 7, 0, 0, 0, 4, 3, 2, 1, 9, 8, 7]);
  });

  it('FrameReader reassembles frames split across chunks at every byte, and several frames in one chunk', () => {
    const a = encodeFrame(FrameType.PING, 0, 0, 1, [new Uint8Array(40).fill(1)]);
    const b = encodeFrame(FrameType.LOG, 0, 3, 2, [new TextEncoder().encode('hi')]);
    const stream = concat([a, b, a]);
    for (let cut = 1; cut < stream.length; cut++) {
      const r = new FrameReader();
      const got = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))];
      expect(got.map((f) => [f.type, f.proc, f.seq, f.payload.length])).toEqual([
        [FrameType.PING, 0, 1, 40],
        [FrameType.LOG, 3, 2, 2],
        [FrameType.PING, 0, 1, 40],
      ]);
    }
  });

  it('FrameReader rejects a length shorter than the header', () => {
    const bad = new Uint8Array(HDR_SIZE);
    new DataView(bad.buffer).setUint32(0, 3, true);
    expect(() => new FrameReader().push(bad)).toThrow(/corrupt frame length 3/);
  });

  it('CALL arguments are two’s complement i64 (non-finite is 0, as the simulator’s int())', () => {
    const head = encodeCallHead(12, [-1, 0xc0184900, 2 ** 40, Number.NaN, -(2 ** 53), 1.9], null);
    const dv = new DataView(head.buffer);
    expect(dv.getUint32(0, true)).toBe(12);
    expect([0, 1, 2, 3, 4, 5].map((i) => dv.getBigInt64(8 + 8 * i, true))).toEqual([
      -1n,
      0xc0184900n,
      2n ** 40n,
      0n,
      -(2n ** 53n),
      1n,
    ]);
    expect(toI64(2 ** 64)).toBe(-1n);
  });

  it('memory operations and a RESULT decode back', () => {
    const data = new Uint8Array([1, 2, 3]);
    const ret = new Uint8Array(24);
    new DataView(ret.buffer).setBigInt64(0, -14n, true);
    new DataView(ret.buffer).setBigUint64(8, 1234n, true);
    new DataView(ret.buffer).setBigUint64(16, 99n, true);
    const payload = concat([
      ret,
      encodeMemOpHead(MemOp.DATA, 0x7fff0000, 3),
      data,
      encodeMemOpHead(MemOp.GONE, 0x1000, PAGE_SIZE),
    ]);
    const r = decodeResult(payload);
    expect(r.ret).toBe(-14);
    expect(r.guestNs).toBe(1234);
    expect(r.syncNs).toBe(99);
    expect(r.mem.map((m) => [m.kind, m.addr, m.len, m.data && Array.from(m.data)])).toEqual([
      [MemOp.DATA, 0x7fff0000, 3, [1, 2, 3]],
      [MemOp.GONE, 0x1000, PAGE_SIZE, undefined],
    ]);
    expect(() => decodeMemOps(new Uint8Array(MOP_SIZE - 1), 0)).toThrow(/truncated/);
  });
});

describe('changedRuns', () => {
  it('finds changed runs (whole 4-byte words in the aligned middle, bytes at unaligned edges), merging those closer than 32 bytes', () => {
    const old = new Uint8Array(256);
    const cur = old.slice();
    cur[1] = 1;
    cur[20] = 1;
    cur[100] = 1;
    cur[255] = 1;
    expect(changedRuns(cur, old, 0, 256)).toEqual([
      [0, 24],
      [100, 104],
      [252, 256],
    ]);
    expect(changedRuns(cur, old, 1, 3)).toEqual([[1, 2]]);
    expect(changedRuns(cur, old, 101, 255)).toEqual([]);
  });
});

describe('MirrorMemory', () => {
  it('alloc() hands out page blocks upwards from the simulator’s heap base, per ABI', () => {
    const m = new MirrorMemory('lp64');
    expect(m.alloc(1)).toBe(ARENA.lp64.base);
    expect(m.alloc(PAGE_SIZE + 1)).toBe(ARENA.lp64.base + PAGE_SIZE);
    expect(m.alloc(0)).toBe(ARENA.lp64.base + 3 * PAGE_SIZE);
    expect(new MirrorMemory('ilp32').alloc(8)).toBe(0x08050000);
  });

  it('scratch() reuses one block, and replaces it once freed, unmapped, remapped or outgrown (as the simulator)', () => {
    const m = new MirrorMemory('lp64');
    const page = (a: number) => (a - ARENA.lp64.base) / PAGE_SIZE;
    const a = [m.scratch(16), m.scratch(PAGE_SIZE)];
    m.free(a[1]!);
    a.push(m.scratch(16));
    m.unmapped(a[2]!, PAGE_SIZE);
    a.push(m.scratch(16));
    m.unmapped(a[3]!, PAGE_SIZE);
    m.mapped(a[3]!, PAGE_SIZE, RW);
    a.push(m.scratch(16));
    a.push(m.scratch(PAGE_SIZE + 1));
    expect(a.map(page)).toEqual([0, 0, 1, 2, 3, 4]);
    expect(() => m.free(a[4]!)).toThrow(/not a block that alloc returned/);
  });

  it('alloc() steps over a mapping the program placed in its way', () => {
    const m = new MirrorMemory('ilp32');
    m.mapped(ARENA.ilp32.base + PAGE_SIZE, PAGE_SIZE, RW);
    expect(m.alloc(2 * PAGE_SIZE)).toBe(ARENA.ilp32.base + 2 * PAGE_SIZE);
    expect(m.alloc(PAGE_SIZE)).toBe(ARENA.ilp32.base + 4 * PAGE_SIZE);
  });

  it('the first sync maps new blocks (ALLOC) and sends only the bytes written (WRITE)', () => {
    const m = new MirrorMemory('lp64');
    const a = m.alloc(100);
    m.write(a + 10, new Uint8Array([5, 6]));
    m.writeInt(a + 200, -2);
    const ops = decodeMemOps(concat(m.takeChanges()), 0);
    expect(ops.map((o) => [o.kind, o.addr - a, o.len, o.data && Array.from(o.data)])).toEqual([
      [MemOp.ALLOC, 0, PAGE_SIZE, undefined],
      [MemOp.WRITE, 10, 2, [5, 6]],
      [MemOp.WRITE, 200, 4, [0xfe, 0xff, 0xff, 0xff]],
    ]);
    expect(m.takeChanges()).toEqual([]);
    m.write(a + 10, new Uint8Array([5, 6]));
    expect(m.takeChanges()).toEqual([]);
  });

  it('a view is compared at every sync, since the program writes it freely', () => {
    const m = new MirrorMemory('lp64');
    const a = m.alloc(PAGE_SIZE);
    m.takeChanges();
    const v = m.view(a, 64);
    v[3] = 9;
    expect(decodeMemOps(concat(m.takeChanges()), 0).map((o) => [o.addr - a, o.len])).toEqual([[0, 4]]);
    v[60] = 1;
    expect(decodeMemOps(concat(m.takeChanges()), 0).map((o) => [o.addr - a, o.len])).toEqual([[60, 4]]);
  });

  it('changes from the guest land in the mirror and in live views', () => {
    const m = new MirrorMemory('lp64');
    const a = 0x7f0000000000;
    m.mapped(a, 2 * PAGE_SIZE, PROT_READ);
    const v = m.view(a + PAGE_SIZE, 4);
    m.applyChanges([{ kind: MemOp.DATA, addr: a + PAGE_SIZE, len: 4, data: new Uint8Array([1, 2, 3, 4]) }]);
    expect(Array.from(v)).toEqual([1, 2, 3, 4]);
    expect(m.readInt(a + PAGE_SIZE)).toBe(0x04030201);
    // The guest's bytes are already known there: nothing goes back.
    expect(m.takeChanges()).toEqual([]);
  });

  it('bad addresses raise the simulator’s SegmentationFault: unmapped, read-only, unreadable page', () => {
    const m = new MirrorMemory('lp64');
    const a = 0x7f0000000000;
    m.mapped(a, 2 * PAGE_SIZE, PROT_READ);
    expect(() => m.read(0x1000, 1)).toThrow(SegmentationFault);
    expect(() => m.write(a, new Uint8Array(1))).toThrow(/write at 0x7f0000000000/);
    m.applyChanges([{ kind: MemOp.GONE, addr: a + PAGE_SIZE, len: PAGE_SIZE }]);
    expect(() => m.read(a + PAGE_SIZE - 2, 4)).toThrow(/read at 0x7f0000001000/);
    expect(() => m.view(a + PAGE_SIZE, 1)).toThrow(SegmentationFault);
    expect(m.read(a, 2)).toEqual(new Uint8Array(2));
    m.applyChanges([{ kind: MemOp.BACK, addr: a + PAGE_SIZE, len: PAGE_SIZE }]);
    expect(m.read(a + PAGE_SIZE - 2, 4)).toEqual(new Uint8Array(4));
  });

  it('munmap splits a region; the rest keeps its bytes; a read across the hole faults at the hole', () => {
    const m = new MirrorMemory('lp64');
    const a = 0x7f0000000000;
    m.mapped(a, 3 * PAGE_SIZE, RW);
    m.write(a, new Uint8Array([1]));
    m.write(a + 2 * PAGE_SIZE, new Uint8Array([3]));
    m.unmapped(a + PAGE_SIZE, PAGE_SIZE);
    expect(m.regions.map((r) => [r.start - a, r.end - a])).toEqual([
      [0, PAGE_SIZE],
      [2 * PAGE_SIZE, 3 * PAGE_SIZE],
    ]);
    expect(Array.from(m.read(a, 1))).toEqual([1]);
    expect(Array.from(m.read(a + 2 * PAGE_SIZE, 1))).toEqual([3]);
    expect(() => m.read(a, 2 * PAGE_SIZE)).toThrow(/read at 0x7f0000001000/);
    // Both pieces still send what was written.
    expect(decodeMemOps(concat(m.takeChanges()), 0).map((o) => o.addr - a)).toEqual([0, 2 * PAGE_SIZE]);
  });

  it('two shared mappings of one file (MAPINFO) are windows of the same bytes: a store shows in both at once', () => {
    const m = new MirrorMemory('lp64');
    const a = 0x7f0000000000;
    const b = 0x7f0000100000;
    const info = (offset: number) => ({ file: '5:77', offset, size: 2 * PAGE_SIZE });
    m.mapped(a, 2 * PAGE_SIZE, RW);
    m.applyChanges([{ kind: MemOp.MAPINFO, addr: a, len: 2 * PAGE_SIZE, info: info(0) }]);
    m.mapped(b, PAGE_SIZE, PROT_READ);
    m.applyChanges([{ kind: MemOp.MAPINFO, addr: b, len: PAGE_SIZE, info: info(PAGE_SIZE) }]);
    m.write(a + PAGE_SIZE + 10, new Uint8Array([1, 2, 3]));
    expect(Array.from(m.read(b + 9, 5))).toEqual([0, 1, 2, 3, 0]);
    // Sent once, through the mapping that was written.
    expect(decodeMemOps(concat(m.takeChanges()), 0).map((o) => [o.addr - a, o.len])).toEqual([
      [PAGE_SIZE + 10, 3],
    ]);
    // Guest data through one mapping lands in the other too; munmap of one keeps the other's bytes.
    m.applyChanges([{ kind: MemOp.DATA, addr: b, len: 1, data: new Uint8Array([9]) }]);
    expect(m.read(a + PAGE_SIZE, 1)[0]).toBe(9);
    m.unmapped(a, 2 * PAGE_SIZE);
    expect(Array.from(m.read(b + 10, 3))).toEqual([1, 2, 3]);
  });

  it('compat: munmap/mmap lengths wrap at 32 bits as the i386 syscall sees them', () => {
    const m = new MirrorMemory('ilp32');
    m.mapped(0x10000000, 2 ** 32 + PAGE_SIZE, RW);
    expect(m.regions.map((r) => r.end - r.start)).toEqual([PAGE_SIZE]);
  });
});
