/**
 * Platform cost profiles: what a syscall, a byte copied between kernel and user, a byte read by the CPU, a
 * cache line maintained for DMA and a wake-up cost in virtual time on a given board. They decide the
 * throughput a program reaches (lesson 13 reproduces the DMABUF series' ZCU102 figures with them). Each
 * figure says where it comes from in the README's platform table; estimates are marked as such there.
 */

/** Costs charged to a simulated process. All times are integers (ns, or ps where the unit says so). */
export interface PlatformProfile {
  /** Profile name. */
  readonly name: string;
  /** One line on what it models. */
  readonly description: string;
  /** Entry + exit overhead of any syscall (fd lookup and the call's own bookkeeping included). */
  readonly syscallNs: number;
  /** copy_to_user / copy_from_user between cacheable kernel memory and user memory, ps per byte. */
  readonly copyPsPerByte: number;
  /**
   * copy_to_user whose source is mapped Normal Non-Cacheable, ps per byte (charged instead of
   * {@link PlatformProfile.copyPsPerByte}): `dma_alloc_coherent()` memory of a device that is not
   * cache-coherent, which is what the fileio blocks of `industrialio-buffer-dma` are when `coherentDma` is
   * false. Every load goes to DRAM without line fills or prefetch.
   */
  readonly uncachedReadPsPerByte: number;
  /**
   * A user program reading data it did not just write from cacheable memory (a streaming read through the
   * caches, prefetch included), ps per byte: what consuming a block costs (`measureThroughput`'s `touch`).
   */
  readonly cpuReadPsPerByte: number;
  /** `dc cvac` (clean to PoC) of one 64-byte line, ns: SYNC_END and the map at ATTACH when not coherent. */
  readonly cacheCleanNsPerLine: number;
  /** `dc ivac`/`dc civac` (invalidate to PoC) of one 64-byte line, ns: SYNC_START and the unmap at DETACH. */
  readonly cacheInvalidateNsPerLine: number;
  /** `dma_map_sgtable()`/`dma_unmap_sgtable()` bookkeeping per 4 KiB page, ns (cache maintenance apart). */
  readonly dmaMapNsPerPage: number;
  /**
   * Peak DRAM bandwidth in bytes/s, shared by the CPU and the DMA masters: while converters stream at D
   * bytes/s, the CPU's memory-bound costs (copies, uncached and streaming reads) are multiplied by
   * `memoryBytesPerSecond / (memoryBytesPerSecond - D)`. 0 means unlimited (no contention).
   */
  readonly memoryBytesPerSecond: number;
  /** Fixed delay between a wake-up and the woken task running again. */
  readonly wakeLatencyNs: number;
  /** Extra uniformly distributed delay in [0, wakeJitterNs), drawn from the simulator's seed. */
  readonly wakeJitterNs: number;
  /**
   * DMA is cache-coherent with the CPU. False models arm64 boards whose DMA masters bypass the CPU caches
   * (Zynq PL DMA on the HP ports): the CPU sees mapped DMABUFs through a cache that only DMA_BUF_IOCTL_SYNC
   * maintains (a program that skips it reads stale data), that maintenance costs time per line, and
   * `dma_alloc_coherent()` memory (the fileio blocks) is mapped non-cacheable.
   */
  readonly coherentDma: boolean;
}

/** Built-in profiles. Sources of every figure: the README's "Platform profiles" table. */
export const PLATFORMS = {
  zcu102: {
    name: 'zcu102',
    description:
      'Xilinx ZCU102: Cortex-A53 at 1.2 GHz, DDR4-2400 x 64, PL DMA on HP ports (not coherent), PREEMPT kernel',
    syscallNs: 1_000,
    copyPsPerByte: 670,
    uncachedReadPsPerByte: 8_000,
    cpuReadPsPerByte: 400,
    cacheCleanNsPerLine: 8,
    cacheInvalidateNsPerLine: 8,
    dmaMapNsPerPage: 50,
    memoryBytesPerSecond: 19_200_000_000,
    wakeLatencyNs: 20_000,
    wakeJitterNs: 0,
    coherentDma: false,
  },
  pluto: {
    name: 'pluto',
    description: 'ADALM-Pluto: Zynq-7010 Cortex-A9 at 667 MHz, DDR3L x 16, PL DMA on HP ports (not coherent)',
    syscallNs: 2_500,
    copyPsPerByte: 2_500,
    uncachedReadPsPerByte: 10_000,
    cpuReadPsPerByte: 1_500,
    cacheCleanNsPerLine: 30,
    cacheInvalidateNsPerLine: 30,
    dmaMapNsPerPage: 150,
    memoryBytesPerSecond: 2_132_000_000,
    wakeLatencyNs: 50_000,
    wakeJitterNs: 0,
    coherentDma: false,
  },
  laptop: {
    name: 'laptop',
    description: 'x86-64 laptop: fast syscalls, ~10 GB/s memcpy, DMA snooped by the caches (coherent)',
    syscallNs: 200,
    copyPsPerByte: 100,
    uncachedReadPsPerByte: 100,
    cpuReadPsPerByte: 60,
    cacheCleanNsPerLine: 0,
    cacheInvalidateNsPerLine: 0,
    dmaMapNsPerPage: 20,
    memoryBytesPerSecond: 51_200_000_000,
    wakeLatencyNs: 5_000,
    wakeJitterNs: 0,
    coherentDma: true,
  },
  ideal: {
    name: 'ideal',
    description: 'no CPU cost at all: syscalls, copies and wake-ups are instantaneous; coherent DMA',
    syscallNs: 0,
    copyPsPerByte: 0,
    uncachedReadPsPerByte: 0,
    cpuReadPsPerByte: 0,
    cacheCleanNsPerLine: 0,
    cacheInvalidateNsPerLine: 0,
    dmaMapNsPerPage: 0,
    memoryBytesPerSecond: 0,
    wakeLatencyNs: 0,
    wakeJitterNs: 0,
    coherentDma: true,
  },
} as const satisfies Record<string, PlatformProfile>;

/** Name of a built-in profile. */
export type PlatformName = keyof typeof PLATFORMS;

/** The profile used when none is given. */
export const DEFAULT_PLATFORM: PlatformName = 'zcu102';

/**
 * How much slower memory-bound CPU work runs while DMA masters move `dmaBytesPerSecond`: the share of the
 * DRAM bandwidth left to the CPU, inverted (1 when the profile sets no bandwidth; capped at 20).
 */
export function memoryContention(p: PlatformProfile, dmaBytesPerSecond: number): number {
  if (p.memoryBytesPerSecond <= 0 || dmaBytesPerSecond <= 0) return 1;
  const left = p.memoryBytesPerSecond - dmaBytesPerSecond;
  return left <= p.memoryBytesPerSecond / 20 ? 20 : p.memoryBytesPerSecond / left;
}

/**
 * Time in ns a syscall that copied `bytes` (from cacheable memory) costs on `p`, memory-bound part scaled by
 * `contention` ({@link memoryContention}).
 */
export function syscallCost(p: PlatformProfile, bytes: number, contention = 1): number {
  return p.syscallNs + Math.ceil((bytes * p.copyPsPerByte * contention) / 1000);
}
