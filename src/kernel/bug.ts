/**
 * Simulator bugs, as opposed to user errors. A user's bad input gets an errno; a broken invariant of the
 * model (a refcount going negative, a fence signalled twice) is a bug in the simulator and must never
 * pass silently, so it throws {@link KernelBug}, the simulator's BUG().
 */

/** A broken invariant of the kernel model. Thrown, never returned to a simulated program. */
export class KernelBug extends Error {
  constructor(message: string) {
    super(`kernel BUG: ${message}`);
    this.name = 'KernelBug';
  }
}

/** Throws {@link KernelBug} when `condition` holds, like the kernel's BUG_ON(). */
export function BUG_ON(condition: boolean, message: string): void {
  if (condition) throw new KernelBug(message);
}
