/**
 * The part of an eventemitter3 emitter that a model object needs to publish observation events. Typed per
 * layer, so one bus carrying every layer's events can be handed to each.
 */
import type { EventEmitter } from 'eventemitter3';

/** Emit-only view of an {@link EventEmitter} with event map `E`. */
export type Emitter<E extends object> = Pick<EventEmitter<E>, 'emit' | 'listenerCount'>;
