/**
 * How a run on the simulator and the same run on a real kernel are compared: every rule that makes the
 * comparison hold although the two clocks differ, in one table ({@link COMPARISON_RULES}, also the
 * "Comparison rules" section of docs/oracle.md), and the comparison of recorded syscalls
 * ({@link compareCall}, {@link compareProcess}). Anything no rule covers is compared exactly: the call, its
 * arguments (pointers by what they point to), its result, what it wrote back and the bytes it read.
 */
import type { CallRecord, ProcessLog } from './diff-record.ts';

/** Where a rule applies. */
export type RuleScope = 'syscall' | 'data' | 'expectation' | 'order' | 'fault' | 'outcome';

/** One comparison rule: what differs between the two runs, how it is compared instead, and why that holds. */
export interface ComparisonRule {
  /** Short id, used in notes and reports. */
  readonly id: string;
  readonly scope: RuleScope;
  /** What is compared, and how. */
  readonly rule: string;
  /** Why the rule holds (and why exact comparison would not). */
  readonly why: string;
}

/** Every comparison rule, in the order docs/oracle.md lists them. */
export const COMPARISON_RULES = [
  {
    id: 'mmap-address',
    scope: 'syscall',
    rule: 'A successful mmap() is compared as a success (both results are addresses); an address argument inside a mapping is compared as the mapping (by the order of successful mmaps) and the offset in it (`map#1+0x40`).',
    why: 'Where a mapping lands is the kernel’s choice (the simulator’s mm and the guest’s top-down layout under the vDSO differ); what a program can observe is that it got one, and what it then passes is relative to it. Heap blocks (`sys.mem.alloc`) need no rule: both sides use the same bump allocator from the same base.',
  },
  {
    id: 'iio-data',
    scope: 'data',
    rule: 'Bytes read from an IIO buffer fd, and the contents of mapped DMABUFs, are not compared byte for byte: the read’s length is compared exactly, the values through the step’s `samples` expectation, checked on each side (see samples-order).',
    why: 'Which scans a block holds depends on when it was submitted relative to the converter’s clock: sample n counts from the enable on both, but in real time the gaps between blocks (scans lost while no block was queued) depend on how fast the guest runs.',
  },
  {
    id: 'samples-order',
    scope: 'data',
    rule: 'A `samples` check on the real kernel holds when its scans are one contiguous run of the device’s signal (or table) whose first sample comes at or after where the process’s previous check of the same channels ended; on the simulator the checks form one stream, each continuing exactly where the last ended.',
    why: 'Within one DMA block (or one fileio block, which a read never crosses, FILEIO-8) the converter writes consecutive scans on both; between blocks real time decides how many scans were lost, and the sample index only ever grows. A ramp wraps (every 4096 samples for 12 bits), so order is checked modulo the signal’s period.',
  },
  {
    id: 'data-available',
    scope: 'data',
    rule: 'What a read of a buffer’s `data_available` attribute returns is compared as a number (both sides a decimal and a newline), not by value.',
    why: 'It is the amount of data the device has produced and no one has read yet: how much that is at the moment of the read depends on how much real time passed since the enable (a triggered kfifo device fills at its own rate), as the lost-scans count does.',
  },
  {
    id: 'raw-sample',
    scope: 'data',
    rule: 'What a read of a channel’s `in_*_raw` attribute returns is compared as a number (both sides a signed decimal and a newline), not by value.',
    why: 'It is the converter’s sample at the moment of the read (`read_raw`): which one that is depends on how much real time passed since the device started, as for data-available. Only whole programs read it (`iio_info` lists every attribute’s value, through `iio-sim exec`); the rule tests read it on the simulator’s manual clock.',
  },
  {
    id: 'nonblocking-read',
    scope: 'syscall',
    rule: 'A read() or write() on an O_NONBLOCK IIO buffer fd that returns -EAGAIN on one side and a byte count on the other is tolerated. In the strace logs of a whole program, an -EAGAIN read or write that one side repeated more often is passed over.',
    why: 'Whether a block completed before the call depends on the converter’s progress in real time against the guest’s speed; both answers are correct for some timing.',
  },
  {
    id: 'poll-readiness',
    scope: 'syscall',
    rule: 'A poll() whose results differ only in IIO buffer fds being readable (POLLIN, POLLRDNORM) or writable (POLLOUT, POLLWRNORM) on one side and not on the other, and in its count of ready fds accordingly, is tolerated. In the strace logs of a whole program (`iio-sim exec` against the kernel), a poll that found nothing ready (`= 0`), which one side repeated more often, is passed over.',
    why: 'Whether a block has completed (input) or been consumed (output) when the call looks depends on the converter’s progress in real time against the guest’s speed. Readiness itself is compared exactly wherever time cannot change it: in the contract histories, whose kernel runs on the manual clock.',
  },
  {
    id: 'poll-timeout',
    scope: 'syscall',
    rule: 'In the strace logs of a whole program (`iio-sim exec` against the kernel), a poll()’s timeout is compared by what it asks for (to wait forever: negative; not to wait: 0; to wait a while: positive), not by its number of milliseconds.',
    why: 'A program may compute the timeout from a deadline of its own on its own clock: libiio passes what is left of its one-second timeout, from clock_gettime() before the call, which the guest (slower, and without KVM here) reaches later than the host does (999 ms instead of 1000). In the contract histories and scenarios the timeout is the step’s own, compared exactly.',
  },
  {
    id: 'virtual-time',
    scope: 'expectation',
    rule: 'A step’s `minNs`/`maxNs`, and every duration and timestamp (when exactly a poll or a blocking read or SYNC woke), are not compared, only what the call returned; `sys.now()` and `until` are real time on the kernel.',
    why: 'The simulator’s clock is virtual and platform-modelled (syscall cost, wake-up latency); the guest runs under TCG emulation, tens of times slower than the hardware the platforms describe.',
  },
  {
    id: 'lost-scans',
    scope: 'expectation',
    rule: '`expect.lost` (scans lost to overflow or underflow, exactly) is checked on the simulator only.',
    why: 'How many scans are lost is how long no block was queued, in real time: a property of the platform’s and the guest’s speed, not of the kernel’s rules.',
  },
  {
    id: 'live-objects',
    scope: 'expectation',
    rule: '`expect.liveObjects` is checked on the simulator only.',
    why: 'The kernel’s object census (fences, attachments, blocks) is not observable from user space.',
  },
  {
    id: 'blocked-reason',
    scope: 'outcome',
    rule: 'A process blocked at the end of the run is compared by its status and the call it is blocked in (same call, same arguments); `expect.blockedReason` (the simulator’s sleep reason) is checked on the simulator only. When the simulator ends with a blocked or running process, the kernel’s run lasts at least 3 s of real time.',
    why: 'The reason text is the simulator’s own description of the wait queue; the call a process sleeps in is what user space sees. A guest under TCG needs longer than the scenario’s virtual `until` to get there.',
  },
  {
    id: 'unsynced-access',
    scope: 'data',
    rule: 'A data check of a mapped DMABUF made while the process has no DMA_BUF_IOCTL_SYNC START open on it is skipped on the real kernel.',
    why: 'Such an access is a data race with the DMA (what it sees depends on whether the transfer ended yet) and depends on the platform’s cache coherence, which the simulator models (`coherentDma: false`) and the x86 guest does not have.',
  },
  {
    id: 'order',
    scope: 'order',
    rule: 'On the kernel each process starts its k-th call only once every call, body end and fault that came before that call on the simulator has happened (started, ended, exited, delivered); `startAt` is real time on top of that.',
    why: 'Several processes interleave by virtual time on the simulator and by real time in the guest; replaying the simulator’s order makes causal interleavings (one process freeing what the next one takes) the same on both, without assuming how fast the guest runs. A call never waits for a call that ended after it started, so the replay cannot deadlock a run the simulator completed.',
  },
  {
    id: 'kill-fault',
    scope: 'fault',
    rule: 'A `kill` fault is delivered on the kernel at the same point of the programs as on the simulator (by the order rule), and counts as delivered once the process is gone.',
    why: 'Its virtual time means a point in the programs’ progress (the victim asleep with its transfers in flight), which real time does not reproduce.',
  },
  {
    id: 'dma-error-fault',
    scope: 'fault',
    rule: 'A `dmaError` fault is written to the test module’s `dma_error` parameter at the same point of the programs as on the simulator (by the order rule), and counts as delivered once the write returned: the device’s next transfer to complete fails with that residue.',
    why: 'Which transfer is running at a virtual time depends on how fast the guest runs; the point in the programs’ progress is what the scenario means, and user space cannot tell a failed transfer anyway (DMAQ-6).',
  },
  {
    id: 'sim-only-fault',
    scope: 'fault',
    rule: '`lateIrq`, `removeDevice` and `kernelFault` faults are injected on the simulator only.',
    why: 'They act on the simulated hardware (the IRQ’s timing), unbind a driver at a virtual time, or fail a kernel allocation (the guest kernel has no fault injection); the test module does not model the first and the last, and the diff does not schedule the second. A scenario with such a fault still compares every syscall; a call a `kernelFault` fails differs.',
  },
] as const satisfies readonly ComparisonRule[];

/** A comparison rule's id. */
export type RuleId = (typeof COMPARISON_RULES)[number]['id'];

/** The rule with id `id`. */
export function comparisonRule(id: RuleId): ComparisonRule {
  return COMPARISON_RULES.find((r) => r.id === id)!;
}

/** How one pair of recorded calls compares. */
export type CallVerdict =
  /** Equal, exactly or under the rules listed. */
  | { readonly kind: 'agree'; readonly rules: readonly RuleId[] }
  /** Different in a way a rule allows. */
  | { readonly kind: 'tolerated'; readonly rule: RuleId }
  /** Different. */
  | { readonly kind: 'differ'; readonly what: string };

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const EAGAIN = -11;

/** Bytes that are a decimal count and a newline, as `data_available` reads. */
function isCount(b: Uint8Array | undefined): boolean {
  return b !== undefined && /^\d+\n$/.test(Buffer.from(b).toString('latin1'));
}

/** POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM: the readiness a converter's progress decides. */
const DATA_READINESS = 0x0001 | 0x0040 | 0x0004 | 0x0100;

/** Two polls that differ, and only in IIO buffers' data readiness (the poll-readiness rule). */
function pollReadinessOnly(sim: CallRecord, real: CallRecord): boolean {
  const a = sim.poll;
  const b = real.poll;
  if (sim.call !== 'poll' || !a || !b || a.revents.length !== b.revents.length) return false;
  let differs = false;
  for (const [i, x] of a.revents.entries()) {
    const d = x ^ b.revents[i]!;
    if (d === 0) continue;
    if (a.kinds[i] !== 'iio-buffer' || (d & ~DATA_READINESS) !== 0) return false;
    differs = true;
  }
  const ready = (r: readonly number[]) => r.filter((x) => x !== 0).length;
  return differs && sim.ret === ready(a.revents) && real.ret === ready(b.revents);
}

/** Compares one call of the simulator with the same call of the kernel, under {@link COMPARISON_RULES}. */
export function compareCall(sim: CallRecord, real: CallRecord): CallVerdict {
  if (sim.call !== real.call) return { kind: 'differ', what: 'a different call' };
  if (sim.args.join('\0') !== real.args.join('\0')) return { kind: 'differ', what: 'different arguments' };
  if (sim.ret === null || real.ret === null)
    return sim.ret === real.ret
      ? { kind: 'agree', rules: [] }
      : { kind: 'differ', what: 'one never returned' };
  const rules: RuleId[] = [];
  if (sim.call === 'mmap' && sim.ret >= 0 && real.ret >= 0) return { kind: 'agree', rules: ['mmap-address'] };
  const iioData = sim.fdKind === 'iio-buffer';
  if (
    iioData &&
    sim.nonblock &&
    ['read', 'write', 'pread', 'pwrite'].includes(sim.call) &&
    sim.ret !== real.ret &&
    (sim.ret === EAGAIN || real.ret === EAGAIN) &&
    Math.max(sim.ret, real.ret) >= 0
  )
    return { kind: 'tolerated', rule: 'nonblocking-read' };
  if (pollReadinessOnly(sim, real)) return { kind: 'tolerated', rule: 'poll-readiness' };
  // A count's length is part of its value: compare the read as a count before its result.
  if (
    sim.fdKind === 'iio-level' &&
    isCount(sim.data) &&
    isCount(real.data) &&
    !sameBytes(sim.data, real.data)
  )
    return { kind: 'agree', rules: ['data-available'] };
  if (sim.ret !== real.ret) return { kind: 'differ', what: 'different results' };
  if (sim.out !== real.out) return { kind: 'differ', what: 'different values written back' };
  if (iioData && sim.data !== undefined) rules.push('iio-data');
  else if (!sameBytes(sim.data, real.data)) return { kind: 'differ', what: 'different data' };
  return { kind: 'agree', rules };
}

/** The first difference between two processes' calls. */
export interface CallDifference {
  /** Index of the call (from 0). */
  readonly index: number;
  /** The call on each side (undefined: that side made no such call). */
  readonly sim: CallRecord | undefined;
  readonly real: CallRecord | undefined;
  readonly what: string;
}

/** How the calls of one process compare. */
export interface ProcessComparison {
  /** Calls compared and found in agreement (exactly, under a rule, or tolerated). */
  readonly agreed: number;
  /** The first difference, if any. */
  readonly first: CallDifference | undefined;
  /** How often each rule was used to find agreement. */
  readonly rules: ReadonlyMap<RuleId, number>;
  /** How often each tolerated difference occurred. */
  readonly tolerated: ReadonlyMap<RuleId, number>;
}

/** Compares the calls of one process, in order, up to the first difference. */
export function compareProcess(sim: ProcessLog, real: ProcessLog): ProcessComparison {
  const rules = new Map<RuleId, number>();
  const tolerated = new Map<RuleId, number>();
  const bump = (m: Map<RuleId, number>, id: RuleId) => m.set(id, (m.get(id) ?? 0) + 1);
  const n = Math.max(sim.calls.length, real.calls.length);
  for (let i = 0; i < n; i++) {
    const s = sim.calls[i];
    const r = real.calls[i];
    if (!s || !r) {
      const what = s ? 'the kernel’s process made no such call' : 'the simulator’s process made no such call';
      return { agreed: i, first: { index: i, sim: s, real: r, what }, rules, tolerated };
    }
    const v = compareCall(s, r);
    if (v.kind === 'differ')
      return { agreed: i, first: { index: i, sim: s, real: r, what: v.what }, rules, tolerated };
    if (v.kind === 'tolerated') bump(tolerated, v.rule);
    else for (const id of v.rules) bump(rules, id);
  }
  return { agreed: n, first: undefined, rules, tolerated };
}
