/**
 * The contract checker: flags what a real kernel lets a program do but a real board punishes. It watches a
 * simulation's observation events and reports
 *
 * - `cpu-access-outside-sync`: the CPU touched a mapped DMABUF with no DMA_BUF_IOCTL_SYNC START open (or
 *   stored into it after a START for reading only). On a non-coherent board it reads stale cache lines or
 *   its stores never reach memory (`coherentDma: false` shows it).
 * - `cpu-access-while-dma-pending`: the CPU touched a mapped DMABUF while a fence its access conflicts with
 *   was unsignalled (DMA still writing it, or still reading it for a store).
 * - `enqueue-during-cpu-access`: a DMABUF was enqueued while a CPU access to it was open (START without
 *   END): the device and the CPU now own it at once.
 * - `bytes-used-not-whole-scans`: an ENQUEUE whose bytes_used (v2: 0 meaning the whole block) is not a
 *   multiple of the buffer's scan size: a controller that needs bus-width lengths refuses the block (it is
 *   wedged and its fence carries the error, ENQ-21), one that takes it cuts the last scan.
 * - `fd-leaked-at-exit`, `dmabuf-leaked-at-exit`: a program that returned still had fds open (stdio
 *   excepted, inherited or not), DMABUFs among them.
 * - `blocked-forever`: a process sleeps with nothing left that could wake it, with the reason.
 *
 * Each finding is reported once per (kind, process, DMABUF); repeats are counted. Findings go to the
 * simulation's bus as `check:finding` events, so traces show them where they happen.
 */
import { bufferScanBytes } from '../kernel/iio/buffer.ts';
import type { RunResult, SimEvents, Simulator } from '../sim/simulator.ts';
import { DMA_BUF_SYNC_END, DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE } from '../uapi/dma-buf.ts';
import { IIO_BUFFER_DIRECTION_IN } from '../uapi/iio.ts';
import type { CheckFinding } from './finding.ts';

/** The payload of event `K`. */
type Event<K extends keyof SimEvents> = Parameters<SimEvents[K]>[0];

export type { CheckFinding };

/** Finding kinds, in the order the summary lists them. */
export const FINDING_KINDS = [
  'cpu-access-outside-sync',
  'cpu-access-while-dma-pending',
  'enqueue-during-cpu-access',
  'bytes-used-not-whole-scans',
  'fd-leaked-at-exit',
  'dmabuf-leaked-at-exit',
  'blocked-forever',
] as const;

/** A finding kind. */
export type FindingKind = (typeof FINDING_KINDS)[number];

/** Watches one simulation. */
export class ContractChecker {
  /** Findings in the order they happened (one per kind, process and DMABUF). */
  readonly findings: CheckFinding[] = [];
  /** Occurrences per kind, repeats included. */
  readonly occurrences = new Map<FindingKind, number>();
  readonly #sim: Simulator;
  readonly #seen = new Set<string>();
  /** Open CPU accesses: `pid:ino` → SYNC direction bits of the START. */
  readonly #open = new Map<string, number>();
  readonly #offs: (() => void)[] = [];

  /** Starts watching `sim` (attach it before the processes run). */
  constructor(sim: Simulator) {
    this.#sim = sim;
    this.#listen('dmabuf:sync', (e) => this.#onSync(e));
    this.#listen('dmabuf:cpu-access', (e) => this.#onCpuAccess(e));
    this.#listen('iio:enqueue', (e) => this.#onEnqueue(e));
    this.#listen('task:exiting', (e) => this.#onExiting(e));
  }

  #listen<K extends keyof SimEvents>(name: K, fn: SimEvents[K]): void {
    const ev = this.#sim.events;
    (ev.on as (n: K, f: SimEvents[K]) => void)(name, fn);
    this.#offs.push(() => (ev.off as (n: K, f: SimEvents[K]) => void)(name, fn));
  }

  #onSync(e: Event<'dmabuf:sync'>): void {
    const key = `${e.pid}:${e.ino}`;
    if (e.flags & DMA_BUF_SYNC_END) this.#open.delete(key);
    else
      this.#open.set(key, (this.#open.get(key) ?? 0) | (e.flags & (DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE)));
  }

  #onCpuAccess(e: Event<'dmabuf:cpu-access'>): void {
    const dir = this.#open.get(`${e.pid}:${e.ino}`);
    const what = `${e.write ? 'store to' : 'load from'} DMABUF ${e.ino} at 0x${e.addr.toString(16)} (${e.len} bytes)`;
    const report = (kind: FindingKind, message: string) =>
      this.#report(kind, e.pid, e.comm, e.ino, e.time, message);
    if (dir === undefined) report('cpu-access-outside-sync', `${what} with no DMA_BUF_IOCTL_SYNC START open`);
    else if (e.write && !(dir & DMA_BUF_SYNC_WRITE))
      report(
        'cpu-access-outside-sync',
        `${what} after a SYNC START for reading only: the END will not clean the cache`,
      );
    if (e.pendingFences > 0) {
      const n = e.pendingFences;
      report(
        'cpu-access-while-dma-pending',
        `${what} while ${n} fence${n > 1 ? 's' : ''} of the DMA ${e.write ? 'reading or writing' : 'writing'} it ${n > 1 ? 'are' : 'is'} pending`,
      );
    }
  }

  #onEnqueue(e: Event<'iio:enqueue'>): void {
    for (const key of this.#open.keys()) {
      const [pid, ino] = key.split(':').map(Number);
      if (ino !== e.ino) continue;
      const holder = this.#sim.kernel.tasks.get(pid!)?.comm ?? String(pid);
      this.#report(
        'enqueue-during-cpu-access',
        e.pid,
        e.comm,
        e.ino,
        e.time,
        `DMABUF ${e.ino} enqueued on ${e.device} while ${holder}[${pid}] has CPU access open (SYNC START without END)`,
      );
    }
    const buffer = this.#sim.device(e.device).iio.buffers[e.buffer]!;
    // prep_slave_single fills a whole input block whatever bytes_used says (V2-SUB-2): nothing to cut then.
    if (this.#sim.kernel.abi.iio.dmaengine.singlePrep && buffer.direction === IIO_BUFFER_DIRECTION_IN) return;
    const scanBytes = bufferScanBytes(buffer);
    const bytes = e.bytesUsed === 0 ? e.blockBytes : e.bytesUsed;
    if (scanBytes > 0 && bytes % scanBytes !== 0)
      this.#report(
        'bytes-used-not-whole-scans',
        e.pid,
        e.comm,
        e.ino,
        e.time,
        `bytes_used ${bytes}${e.bytesUsed === 0 ? ' (0: the whole block)' : ''} on ${e.device} is not a whole number of ${scanBytes}-byte scans (${Math.floor(bytes / scanBytes)} scans and ${bytes % scanBytes} bytes)`,
      );
  }

  #onExiting(e: Event<'task:exiting'>): void {
    for (const key of [...this.#open.keys()]) if (key.startsWith(`${e.pid}:`)) this.#open.delete(key);
    if (!e.returned) return;
    // The stdio the process started with: /dev/null, or the host terminal of `stdio: inherit`.
    const leaked = e.fds.filter((f) => !(f.fd <= 2 && (f.path === '/dev/null' || f.path === '/dev/pts/0')));
    const dmabufs = leaked.filter((f) => f.dmabuf !== null);
    const others = leaked.filter((f) => f.dmabuf === null);
    if (others.length > 0)
      this.#report(
        'fd-leaked-at-exit',
        e.pid,
        e.comm,
        null,
        e.time,
        `exited with ${others.length} fd${others.length > 1 ? 's' : ''} open: ${others.map((f) => `${f.fd} (${f.path})`).join(', ')}`,
      );
    if (dmabufs.length > 0)
      this.#report(
        'dmabuf-leaked-at-exit',
        e.pid,
        e.comm,
        null,
        e.time,
        `exited with ${dmabufs.length} DMABUF fd${dmabufs.length > 1 ? 's' : ''} open: ${dmabufs.map((f) => `${f.fd} (DMABUF ${f.dmabuf})`).join(', ')}`,
      );
  }

  #report(
    kind: FindingKind,
    pid: number | null,
    comm: string,
    ino: number | null,
    time: number,
    message: string,
  ): void {
    this.occurrences.set(kind, (this.occurrences.get(kind) ?? 0) + 1);
    const key = `${kind}:${pid}:${ino}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    const finding: CheckFinding = { kind, pid, comm, message, time };
    this.findings.push(finding);
    this.#sim.events.emit('check:finding', finding);
  }

  /** Adds the findings only the end of a run shows: processes blocked forever. */
  finish(result: RunResult): void {
    for (const p of result.processes)
      if (p.status === 'blocked' && p.blockedIn)
        this.#report(
          'blocked-forever',
          p.pid,
          p.name,
          null,
          result.time,
          `blocked forever in ${p.blockedIn.syscall}() since ${(p.blockedIn.since / 1e9).toFixed(6)} s: ${p.blockedIn.reason}`,
        );
  }

  /** Stops watching. */
  detach(): void {
    for (const off of this.#offs.splice(0)) off();
  }

  /** The summary lines: a count per kind, or that nothing was found. */
  summaryLines(): string[] {
    if (this.findings.length === 0) return ['contract check: no findings'];
    const kinds = FINDING_KINDS.filter((k) => this.occurrences.has(k)).map(
      (k) => `${k} ×${this.occurrences.get(k)}`,
    );
    return [
      `contract check: ${this.findings.length} finding${this.findings.length > 1 ? 's' : ''} (${kinds.join(', ')})`,
    ];
  }
}
