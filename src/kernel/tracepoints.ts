/**
 * The kernel's tracepoints: observation events on the bus that tracers, loggers, the summary and the
 * contract checker listen to. Like `trace_dma_fence_signaled()`, a tracepoint nobody listens to costs one
 * test: callers build a payload only after {@link Tracepoints.enabled} said someone listens.
 */
import { type Emitter, hasListeners } from '../hw/emitter.ts';
import type { KernelEvents } from './events.ts';

/** Emits kernel observation events; never drives the model. */
export class Tracepoints {
  readonly #bus: Emitter<KernelEvents>;
  readonly #now: () => number;

  constructor(bus: Emitter<KernelEvents>, now: () => number) {
    this.#bus = bus;
    this.#now = now;
  }

  /** Whether anyone listens to `name`: test this before building a payload. */
  enabled(name: keyof KernelEvents): boolean {
    return hasListeners(this.#bus, name);
  }

  /** Emits `name` (callers have checked {@link Tracepoints.enabled} when the payload costs anything). */
  emit<K extends keyof KernelEvents>(name: K, ...args: Parameters<KernelEvents[K]>): void {
    (this.#bus.emit as (n: K, ...a: Parameters<KernelEvents[K]>) => boolean)(name, ...args);
  }

  /** A kernel log line (`dev_err`, `dev_warn`, `WARN`). */
  log(level: 'err' | 'warn' | 'info', device: string, message: string): void {
    if (this.enabled('kernel:log')) this.emit('kernel:log', { level, device, message, time: this.#now() });
  }
}
