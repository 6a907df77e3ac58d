/**
 * Reference counts with an asserted release, in the manner of `struct kref` (include/linux/kref.h).
 * Unlike the kernel's refcount_t, which saturates and warns, an underflow here is always a
 * {@link KernelBug}: the simulator exists to show lifetimes exactly.
 */
import { KernelBug } from './bug.ts';

/** Live objects per kind in one simulated kernel, so tests can assert that everything was freed. */
export class Census {
  readonly #live = new Map<string, number>();
  /** Objects ever created per kind. */
  readonly #created = new Map<string, number>();

  /** Records a new object of `kind`. */
  born(kind: string): void {
    this.#live.set(kind, (this.#live.get(kind) ?? 0) + 1);
    this.#created.set(kind, (this.#created.get(kind) ?? 0) + 1);
  }

  /** Records that an object of `kind` was freed. */
  died(kind: string): void {
    const n = (this.#live.get(kind) ?? 0) - 1;
    if (n < 0) throw new KernelBug(`more ${kind} objects freed than created`);
    this.#live.set(kind, n);
  }

  /** Live objects per kind (kinds with none omitted), sorted by kind. */
  live(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const kind of [...this.#live.keys()].sort()) {
      const n = this.#live.get(kind)!;
      if (n !== 0) out[kind] = n;
    }
    return out;
  }

  /** Live objects of `kind` now (what {@link Census.live} lists for it, or 0). */
  count(kind: string): number {
    return this.#live.get(kind) ?? 0;
  }

  /** Kinds whose live count went below zero, sorted by kind, with their counts (checked after every step). */
  negative(): [string, number][] {
    const out: [string, number][] = [];
    // By value first: nothing is allocated in the usual case of no negative count.
    let any = false;
    for (const n of this.#live.values()) any ||= n < 0;
    if (!any) return out;
    for (const [kind, n] of this.#live) if (n < 0) out.push([kind, n]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Objects ever created of `kind`. */
  created(kind: string): number {
    return this.#created.get(kind) ?? 0;
  }
}

/** A reference count that runs `release` exactly once, when the last reference goes. */
export class Kref {
  readonly kind: string;
  readonly #census: Census;
  readonly #release: () => void;
  #count = 1;

  /** Starts at one reference (`kref_init`). `kind` names the object for the census and bug reports. */
  constructor(census: Census, kind: string, release: () => void) {
    this.kind = kind;
    this.#census = census;
    this.#release = release;
    census.born(kind);
  }

  /** Current count (0 once released). */
  get count(): number {
    return this.#count;
  }

  /** Takes a reference (`kref_get`). Taking one on a released object is a bug. */
  get(): void {
    if (this.#count <= 0) throw new KernelBug(`kref_get on a released ${this.kind}`);
    this.#count++;
  }

  /** Drops a reference (`kref_put`); returns true when this was the last one and release ran. */
  put(): boolean {
    if (this.#count <= 0) throw new KernelBug(`refcount underflow on ${this.kind}`);
    if (--this.#count > 0) return false;
    this.#census.died(this.kind);
    this.#release();
    return true;
  }
}

/**
 * An object whose lifetime is one {@link Kref}, as kernel objects embed their `struct kref`: `get()` takes a
 * reference, `put()` drops one, and `release()` runs with the last.
 */
export abstract class Refcounted {
  readonly ref: Kref;

  constructor(census: Census, kind: string) {
    this.ref = new Kref(census, kind, () => this.release());
  }

  /** Runs once, when the last reference goes. */
  protected abstract release(): void;

  /** Takes a reference. */
  get(): this {
    this.ref.get();
    return this;
  }

  /** Drops a reference; the last one releases the object. */
  put(): void {
    this.ref.put();
  }
}
