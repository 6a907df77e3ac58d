/**
 * Deterministic fault injection, shaped after the kernel's (Documentation/fault-injection/: `failslab`,
 * `/proc/self/fail-nth`): a test arms a named site to fail "the next N hits" or "hit number K", and the
 * kernel code at that site takes its error path as it would when the allocation or the exporter fails. This
 * is how the rules no user space can provoke (ATT-6, ATT-9, ATT-11, ENQ-8, ENQ-15, V2-ENQ-13) are tested.
 *
 * Nothing is armed by default and nothing here is random. A site costs one test of
 * {@link FaultInjector.armed} while nothing is armed:
 * `if (faults.armed) { const err = faults.hit('site'); if (err) ... }`.
 */
import { ENOMEM } from '../uapi/errno.ts';
import type { Tracepoints } from './tracepoints.ts';

/** What a site models: an allocation (its caller answers `-ENOMEM`) or an operation with its own errno. */
export type FaultSiteKind = 'alloc' | 'op';

/** One injection site: the kernel function that fails there, what it is, and the rules its failure shows. */
export interface FaultSiteInfo {
  readonly kind: FaultSiteKind;
  readonly rules: readonly string[];
  /** Where it sits, as the kernel source spells it. */
  readonly where: string;
}

/** The injection sites, named after the kernel function whose failure they model. */
export const FAULT_SITES = {
  dma_buf_attach: {
    kind: 'op',
    rules: ['ATT-6'],
    where: "dma_buf_dynamic_attach(): the attachment's kzalloc or the exporter's attach op",
  },
  dma_buf_map_attachment: {
    kind: 'op',
    rules: ['ATT-9'],
    where: "dma_buf_map_attachment(): the exporter's map_dma_buf",
  },
  iio_dma_buffer_alloc_block: {
    kind: 'alloc',
    rules: ['ATT-11'],
    where: "iio_dma_buffer_attach_dmabuf() -> iio_dma_buffer_alloc_block(): the DMABUF block's kzalloc",
  },
  iio_dma_fence_alloc: {
    kind: 'alloc',
    rules: ['ENQ-8', 'V2-ENQ-13'],
    where:
      'iio_buffer_enqueue_dmabuf(): kmalloc of the iio_dma_fence (v2: iio_dma_buffer_create_dma_fence())',
  },
  dma_resv_reserve_fences: {
    kind: 'alloc',
    rules: ['ENQ-15'],
    where: 'iio_buffer_enqueue_dmabuf() -> dma_resv_reserve_fences(): growing the fence slot array',
  },
} as const satisfies Record<string, FaultSiteInfo>;

/** The name of an injection site. */
export type FaultSite = keyof typeof FAULT_SITES;

/** How to arm a site (the `fail-nth` and `times` of the kernel's fault injection, per site). */
export interface FaultSpec {
  readonly site: FaultSite;
  /** The first hit that fails, counted from 1 at arming (default 1: the next hit). */
  readonly nth?: number;
  /** How many hits fail from there on (default 1); the site disarms itself after the last. */
  readonly times?: number;
  /** The positive errno an `op` site fails with (default ENOMEM); `alloc` sites take only ENOMEM. */
  readonly errno?: number;
}

/** What a site has seen since it was last armed. */
export interface FaultSiteStats {
  /** Hits while armed. */
  readonly hits: number;
  /** Hits that were failed. */
  readonly failed: number;
  /** Still armed (failures left). */
  readonly armed: boolean;
}

interface Arming {
  readonly failFrom: number;
  readonly failTo: number;
  readonly ret: number;
  hits: number;
  failed: number;
}

/** The site names, for messages. */
const SITE_NAMES = Object.keys(FAULT_SITES).join(', ');

/** Largest errno a kernel function returns (`MAX_ERRNO`). */
const MAX_ERRNO = 4095;

function badArg(code: 'ERR_INVALID_ARG_TYPE' | 'ERR_OUT_OF_RANGE', message: string): Error {
  const err = code === 'ERR_INVALID_ARG_TYPE' ? new TypeError(message) : new RangeError(message);
  return Object.assign(err, { code });
}

function count(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number')
    throw badArg('ERR_INVALID_ARG_TYPE', `fault injection: ${name} must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 1 || value > max)
    throw badArg(
      'ERR_OUT_OF_RANGE',
      `fault injection: ${name} must be an integer in 1..${max}, got ${value}`,
    );
  return value;
}

/** The fault injection of one kernel. */
export class FaultInjector {
  /** True while any site is armed: the one test a site makes (read it before calling {@link hit}). */
  armed = false;
  readonly #trace: Tracepoints;
  readonly #sites = new Map<FaultSite, Arming>();

  constructor(trace: Tracepoints) {
    this.#trace = trace;
  }

  /**
   * Arms `spec.site`, replacing an earlier arming of it: hits `nth .. nth + times - 1` fail. A JavaScript
   * caller's mistake (unknown site, a fraction, an errno other than ENOMEM on an allocation site) throws, as
   * Node's fs does (`ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE`).
   */
  arm(spec: FaultSpec): void {
    const site = spec?.site;
    if (typeof site !== 'string' || !Object.hasOwn(FAULT_SITES, site))
      throw badArg(
        'ERR_INVALID_ARG_TYPE',
        `fault injection: unknown site ${JSON.stringify(site)} (sites: ${SITE_NAMES})`,
      );
    const nth = count('nth', spec.nth, 1, Number.MAX_SAFE_INTEGER);
    const times = count('times', spec.times, 1, Number.MAX_SAFE_INTEGER);
    const errno = count('errno', spec.errno, ENOMEM, MAX_ERRNO);
    if (FAULT_SITES[site].kind === 'alloc' && errno !== ENOMEM)
      throw badArg(
        'ERR_OUT_OF_RANGE',
        `fault injection: ${site} is an allocation: it fails with ENOMEM only`,
      );
    this.#sites.set(site, { failFrom: nth, failTo: nth + times - 1, ret: -errno, hits: 0, failed: 0 });
    this.armed = true;
  }

  /** Disarms `site`, or every site. */
  disarm(site?: FaultSite): void {
    if (site === undefined) this.#sites.clear();
    else this.#sites.delete(site);
    this.#update();
  }

  /**
   * A hit of `site` (only called while {@link armed}): the negative errno when this hit fails, else 0. A
   * forced failure is logged as the kernel's `FAULT_INJECTION: forcing a failure.` line is.
   */
  hit(site: FaultSite): number {
    const a = this.#sites.get(site);
    if (!a || a.failed > a.failTo - a.failFrom) return 0;
    a.hits++;
    if (a.hits < a.failFrom) return 0;
    a.failed++;
    this.#trace.log('warn', 'fault-inject', `FAULT_INJECTION: forcing a failure at ${site} (hit ${a.hits})`);
    if (a.failed > a.failTo - a.failFrom) this.#update();
    return a.ret;
  }

  /** What `site` saw since it was last armed; null if it never was (or was disarmed). */
  stats(site: FaultSite): FaultSiteStats | null {
    const a = this.#sites.get(site);
    if (!a) return null;
    return { hits: a.hits, failed: a.failed, armed: a.failed <= a.failTo - a.failFrom };
  }

  #update(): void {
    this.armed = false;
    for (const a of this.#sites.values()) if (a.failed <= a.failTo - a.failFrom) this.armed = true;
  }
}
