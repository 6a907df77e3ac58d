/**
 * The comparison of a simulator run with a kernel run, without a kernel: the rules table (src/real/compare.ts)
 * against docs/oracle.md, compareCall/compareProcess on hand-made records, and the recording Sys
 * (src/real/diff-record.ts) on the simulator: what it records, how pointers and mappings are shown, and that a
 * program cannot tell it from the Sys it wraps.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSimulator, type PollEntry } from '../../src/index.ts';
import { COMPARISON_RULES, compareCall, compareProcess } from '../../src/real/compare.ts';
import { diffFiles } from '../../src/real/diff.ts';
import { type CallRecord, type ProcessLog, recordingSys, SideLog } from '../../src/real/diff-record.ts';
import { DMA_HEAP_IOCTL_ALLOC, dma_heap_allocation_data } from '../../src/uapi/dma-heap.ts';
import { EAGAIN, EBADF } from '../../src/uapi/errno.ts';
import { F_SETFL, O_NONBLOCK, O_RDWR } from '../../src/uapi/fcntl.ts';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../../src/uapi/mman.ts';
import { POLLERR, POLLIN, POLLOUT } from '../../src/uapi/poll.ts';
import { openBuffer } from '../../src/user/iio.ts';

function rec(over: Partial<CallRecord> & Pick<CallRecord, 'call'>): CallRecord {
  return {
    index: 0,
    args: [],
    text: `${over.call}()`,
    step: undefined,
    fdKind: undefined,
    nonblock: false,
    ret: 0,
    out: undefined,
    data: undefined,
    startSeq: 0,
    endSeq: 1,
    ...over,
  };
}

describe('the comparison rules', () => {
  it('every rule of the table is in the "Comparison rules" section of docs/oracle.md, in the same order', () => {
    const doc = readFileSync(new URL('../../docs/oracle.md', import.meta.url), 'utf8');
    const start = doc.indexOf('\n## Comparison rules');
    expect(start).toBeGreaterThan(0);
    const end = doc.indexOf('\n## ', start + 5);
    const section = doc.slice(start, end < 0 ? undefined : end);
    const ids = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(ids).toEqual(COMPARISON_RULES.map((r) => r.id));
  });

  it('ids are unique and every rule says what and why', () => {
    expect(new Set(COMPARISON_RULES.map((r) => r.id)).size).toBe(COMPARISON_RULES.length);
    for (const r of COMPARISON_RULES) {
      expect(r.rule.length, r.id).toBeGreaterThan(40);
      expect(r.why.length, r.id).toBeGreaterThan(40);
    }
  });

  it('equal calls agree; a different result, written-back value, data or argument differs', () => {
    const base = rec({ call: 'ioctl', args: ['3', 'X', '[5]'], ret: 0, out: '{fd=4}' });
    expect(compareCall(base, { ...base })).toEqual({ kind: 'agree', rules: [] });
    expect(compareCall(base, { ...base, ret: -EBADF })).toEqual({
      kind: 'differ',
      what: 'different results',
    });
    expect(compareCall(base, { ...base, out: '{fd=5}' })).toEqual({
      kind: 'differ',
      what: 'different values written back',
    });
    expect(compareCall(base, { ...base, args: ['3', 'X', '[6]'] })).toEqual({
      kind: 'differ',
      what: 'different arguments',
    });
    expect(compareCall(base, { ...base, call: 'read' })).toEqual({
      kind: 'differ',
      what: 'a different call',
    });
    const sysfs = rec({ call: 'read', fdKind: 'sysfs', ret: 2, data: new Uint8Array([0x31, 0x0a]) });
    expect(compareCall(sysfs, { ...sysfs, data: new Uint8Array([0x30, 0x0a]) })).toEqual({
      kind: 'differ',
      what: 'different data',
    });
  });

  it('mmap-address: two successful mmaps agree whatever the addresses; a failure still compares exactly', () => {
    const m = rec({ call: 'mmap', ret: 0x7fff0000 });
    expect(compareCall(m, { ...m, ret: 0x40000000 })).toEqual({ kind: 'agree', rules: ['mmap-address'] });
    expect(compareCall(m, { ...m, ret: -22 }).kind).toBe('differ');
  });

  it('iio-data: bytes read from an IIO buffer are compared by length, not value', () => {
    const r = rec({ call: 'read', fdKind: 'iio-buffer', ret: 4, data: new Uint8Array([1, 2, 3, 4]) });
    expect(compareCall(r, { ...r, data: new Uint8Array([9, 9, 9, 9]) })).toEqual({
      kind: 'agree',
      rules: ['iio-data'],
    });
    expect(compareCall(r, { ...r, ret: 8 }).kind).toBe('differ');
  });

  it('data-available: two counts agree whatever their values; anything else is compared exactly', () => {
    const level = (text: string) =>
      rec({ call: 'read', fdKind: 'iio-level', ret: text.length, data: new TextEncoder().encode(text) });
    expect(compareCall(level('1\n'), level('4\n'))).toEqual({ kind: 'agree', rules: ['data-available'] });
    expect(compareCall(level('1\n'), level('1\n'))).toEqual({ kind: 'agree', rules: [] });
    expect(compareCall(level('1\n'), level('x\n')).kind).toBe('differ');
    expect(compareCall(level('12\n'), level('4\n'))).toEqual({ kind: 'agree', rules: ['data-available'] });
    expect(compareCall(level('12\n'), { ...level('12\n'), ret: -EBADF, data: undefined }).kind).toBe(
      'differ',
    );
  });

  it('nonblocking-read: -EAGAIN against data on an O_NONBLOCK IIO buffer is tolerated, nowhere else', () => {
    const r = rec({ call: 'read', fdKind: 'iio-buffer', nonblock: true, ret: 4096 });
    expect(compareCall(r, { ...r, ret: -EAGAIN })).toEqual({ kind: 'tolerated', rule: 'nonblocking-read' });
    expect(compareCall({ ...r, nonblock: false }, { ...r, nonblock: false, ret: -EAGAIN }).kind).toBe(
      'differ',
    );
    expect(compareCall({ ...r, fdKind: 'sysfs' }, { ...r, fdKind: 'sysfs', ret: -EAGAIN }).kind).toBe(
      'differ',
    );
    expect(compareCall(r, { ...r, ret: -EBADF }).kind).toBe('differ');
  });

  it('poll-readiness: IIO buffers readable or writable on one side only are tolerated, nothing else', () => {
    const poll = (ret: number, revents: number[], kinds = ['iio-buffer', 'dmabuf'] as const) =>
      rec({ call: 'poll', ret, out: JSON.stringify(revents), poll: { kinds: [...kinds], revents } });
    expect(compareCall(poll(0, [0, 0]), poll(1, [POLLIN, 0]))).toEqual({
      kind: 'tolerated',
      rule: 'poll-readiness',
    });
    expect(compareCall(poll(1, [POLLOUT, 0]), poll(0, [0, 0]))).toEqual({
      kind: 'tolerated',
      rule: 'poll-readiness',
    });
    // A DMABUF's readiness (its fences) is not the converter's progress; POLLERR is never tolerated.
    expect(compareCall(poll(0, [0, 0]), poll(1, [0, POLLIN])).kind).toBe('differ');
    expect(compareCall(poll(0, [0, 0]), poll(1, [POLLERR, 0])).kind).toBe('differ');
    expect(compareCall(poll(0, [0, 0]), poll(2, [POLLIN, 0])).kind).toBe('differ');
  });

  it('compareProcess stops at the first difference and counts the rules it used', () => {
    const log = (calls: CallRecord[]): ProcessLog => ({ name: 'p', calls, endSeq: null });
    const a = [
      rec({ call: 'open', index: 0, ret: 3 }),
      rec({ call: 'mmap', index: 1, ret: 0x1000 }),
      rec({ call: 'close', index: 2 }),
    ];
    const same = compareProcess(log(a), log(a.map((c) => (c.call === 'mmap' ? { ...c, ret: 0x9000 } : c))));
    expect(same.first).toBeUndefined();
    expect(same.agreed).toBe(3);
    expect([...same.rules]).toEqual([['mmap-address', 1]]);
    const differ = compareProcess(log(a), log([a[0]!, a[1]!, { ...a[2]!, ret: -EBADF }]));
    expect(differ.agreed).toBe(2);
    expect(differ.first).toMatchObject({ index: 2, what: 'different results' });
    const shorter = compareProcess(log(a), log(a.slice(0, 1)));
    expect(shorter.first).toMatchObject({ index: 1, what: 'the kernel’s process made no such call' });
  });
});

describe('the recording Sys', () => {
  it('records calls with decoded ioctl arguments, fd kinds, mappings as map#k, revents and read data', async () => {
    const sim = createSimulator({ platform: 'ideal' });
    const log = new SideLog();
    sim.spawn(
      'p',
      async (raw) => {
        const sys = recordingSys(raw, log, 'p', { profile: 'mainline' });
        const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
        const req = sys.mem.allocStruct(dma_heap_allocation_data, { len: 8192, fd_flags: O_RDWR });
        await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, req);
        const fd = sys.mem.readStruct(req, dma_heap_allocation_data).fd;
        const a = await sys.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        await sys.munmap(a + 4096, 4096);
        const entries: PollEntry[] = [{ fd, events: POLLIN | POLLOUT }];
        await sys.pollfds(entries, 0);
        const b = await openBuffer(sys, 0, 0, O_RDWR);
        if (typeof b === 'number') throw new Error('no buffer');
        await sys.fcntl(b.fd, F_SETFL, O_NONBLOCK);
        await sys.read(b.fd, sys.mem.alloc(64), 64);
        const name = await sys.open('/sys/bus/iio/devices/iio:device0/name', 0);
        await sys.read(name, sys.mem.alloc(64), 64);
        return entries[0]!.revents;
      },
      { stdio: false },
    );
    const result = await sim.run();
    expect(result.processes[0]!.value).toBe(POLLIN | POLLOUT);
    const calls = log.process('p').calls;
    expect(calls.map((c) => c.call)).toEqual([
      'open',
      'ioctl',
      'mmap',
      'munmap',
      'poll',
      'open',
      'ioctl',
      'fcntl',
      'read',
      'open',
      'read',
    ]);
    expect(calls[1]!.args[1]).toBe('DMA_HEAP_IOCTL_ALLOC');
    expect(calls[1]!.out).toMatch(/^\{len=8192, fd=1, /);
    expect(calls[3]!.args[0]).toBe('map#0+0x1000');
    expect(calls[4]!.out).toBe('[{fd=1, revents=POLLIN|POLLOUT}]');
    expect(calls[6]!.args[1]).toBe('IIO_BUFFER_GET_FD_IOCTL');
    // No channel is enabled: bytes_per_datum is 0 and the read returns 0 at once.
    expect(calls[8]).toMatchObject({ fdKind: 'iio-buffer', nonblock: true, ret: 0 });
    expect(calls[10]).toMatchObject({ fdKind: 'sysfs', ret: 8 });
    expect(new TextDecoder().decode(calls[10]!.data)).toBe('sim-adc\n');
    for (const [i, c] of calls.entries()) {
      expect(c.index).toBe(i);
      expect(c.endSeq).toBeGreaterThan(c.startSeq);
    }
  });
});

describe('iio-sim diff output', () => {
  it('escapes control characters of a scenario title and file name: a hostile title cannot forge a line or drive the terminal', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const text =
      'title: "ok\\n  => agree\\u001b[2J"\nabi: v2\nprocesses:\n  - name: p\n    steps:\n      - sleep: 1ms\n';
    const status = await diffFiles(
      [{ name: 'x\u001b]0;pwn\u0007.yaml', text }],
      () => Promise.reject(new Error('a v2 scenario never reaches the kernel')),
      { out: (l) => out.push(l), err: (l) => err.push(l) },
    );
    expect(err).toEqual([]);
    expect(out).toEqual([
      'x\\u001b]0;pwn\\u0007.yaml: ok\\n  => agree\\u001b[2J',
      '  not comparable: a v2 scenario: only mainline exists on the real kernel',
      'diff: 0 agree, 0 differ, 1 not comparable',
    ]);
    expect(status).toBe(0);
  });
});
