/**
 * The part of an eventemitter3 emitter that a model object needs to publish observation events. Typed per
 * layer, so one bus carrying every layer's events can be handed to each.
 */
import { EventEmitter } from 'eventemitter3';

/** Emit-only view of an {@link EventEmitter} with event map `E`. */
export type Emitter<E extends object> = Pick<EventEmitter<E>, 'emit' | 'listenerCount'> & {
  /** Present on a {@link CountingEmitter}: changes whenever a listener is added or removed. */
  readonly listenerGeneration?: number;
  /** Present on a {@link CountingEmitter}: {@link CountingEmitter.listens}. */
  readonly listens?: (name: EventEmitter.EventNames<E>) => boolean;
};

/** Whether `name` has listeners on `e`: remembered by a {@link CountingEmitter}, asked of any other emitter. */
export function hasListeners<E extends object>(e: Emitter<E>, name: EventEmitter.EventNames<E>): boolean {
  return e.listens ? e.listens(name) : e.listenerCount(name) > 0;
}

/**
 * An eventemitter3 emitter that counts every change of its listeners, so that a hot path (a syscall's entry
 * and return) can remember whether an event has listeners until the count moves, instead of asking per call.
 */
export class CountingEmitter<E extends object> extends EventEmitter<E> {
  /** Bumped by every `on`, `addListener`, `once`, `off`, `removeListener` and `removeAllListeners`. */
  listenerGeneration = 0;
  /** What {@link CountingEmitter.listens} answered, while the generation was {@link CountingEmitter.#knownAt}. */
  #known = new Map<EventEmitter.EventNames<E>, boolean>();
  #knownAt = 0;

  /** Whether `name` has listeners, remembered until the listeners change (a tracepoint's test on a hot path). */
  listens(name: EventEmitter.EventNames<E>): boolean {
    if (this.#knownAt !== this.listenerGeneration) {
      this.#known.clear();
      this.#knownAt = this.listenerGeneration;
    }
    let v = this.#known.get(name);
    if (v === undefined) {
      v = this.listenerCount(name) > 0;
      this.#known.set(name, v);
    }
    return v;
  }
}

for (const name of ['on', 'addListener', 'once', 'off', 'removeListener', 'removeAllListeners'] as const) {
  const base = EventEmitter.prototype[name] as (...args: unknown[]) => unknown;
  Object.defineProperty(CountingEmitter.prototype, name, {
    value: function (this: CountingEmitter<object>, ...args: unknown[]) {
      this.listenerGeneration++;
      return base.apply(this, args);
    },
    writable: true,
    configurable: true,
  });
}
