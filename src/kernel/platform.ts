/**
 * Platform cost profiles: what a syscall, a byte copied between kernel and user, and a wake-up cost in
 * virtual time on a given board. They make throughput and overflow experiments mean something; the
 * figures are typical orders of magnitude for each SoC, not measurements of one board.
 */

/** Costs charged to a simulated process. All times are integer ns. */
export interface PlatformProfile {
  /** Profile name. */
  readonly name: string;
  /** One line on what it models. */
  readonly description: string;
  /** Entry + exit overhead of any syscall. */
  readonly syscallNs: number;
  /** copy_to_user / copy_from_user cost, picoseconds per byte. */
  readonly copyPsPerByte: number;
  /** Fixed delay between a wake-up and the woken task running again. */
  readonly wakeLatencyNs: number;
  /** Extra uniformly distributed delay in [0, wakeJitterNs), drawn from the simulator's seed. */
  readonly wakeJitterNs: number;
  /**
   * DMA is cache-coherent with the CPU (default true). False models arm64 boards whose DMA masters bypass
   * the CPU caches (Zynq PL DMA on HP ports): the CPU sees mapped DMABUFs through a cache that only
   * DMA_BUF_IOCTL_SYNC maintains, so a program that skips it reads stale data and its stores stay unseen.
   */
  readonly coherentDma: boolean;
}

/** Built-in profiles. */
export const PLATFORMS = {
  zcu102: {
    name: 'zcu102',
    description: 'Xilinx ZCU102: Cortex-A53 at 1.2 GHz, ~1.5 GB/s memcpy, PREEMPT kernel',
    syscallNs: 1_000,
    copyPsPerByte: 670,
    wakeLatencyNs: 20_000,
    wakeJitterNs: 0,
    coherentDma: true,
  },
  pluto: {
    name: 'pluto',
    description: 'ADALM-Pluto: Zynq-7010 Cortex-A9 at 667 MHz, ~400 MB/s memcpy',
    syscallNs: 2_500,
    copyPsPerByte: 2_500,
    wakeLatencyNs: 50_000,
    wakeJitterNs: 0,
    coherentDma: true,
  },
  laptop: {
    name: 'laptop',
    description: 'x86-64 laptop: fast syscalls, ~10 GB/s memcpy',
    syscallNs: 200,
    copyPsPerByte: 100,
    wakeLatencyNs: 5_000,
    wakeJitterNs: 0,
    coherentDma: true,
  },
  ideal: {
    name: 'ideal',
    description: 'no CPU cost at all: syscalls, copies and wake-ups are instantaneous',
    syscallNs: 0,
    copyPsPerByte: 0,
    wakeLatencyNs: 0,
    wakeJitterNs: 0,
    coherentDma: true,
  },
} as const satisfies Record<string, PlatformProfile>;

/** Name of a built-in profile. */
export type PlatformName = keyof typeof PLATFORMS;

/** The profile used when none is given. */
export const DEFAULT_PLATFORM: PlatformName = 'zcu102';

/** Time in ns a syscall that copied `bytes` costs on `p`. */
export function syscallCost(p: PlatformProfile, bytes: number): number {
  return p.syscallNs + Math.ceil((bytes * p.copyPsPerByte) / 1000);
}
