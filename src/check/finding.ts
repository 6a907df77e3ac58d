/**
 * What the contract checker reports, and the event that carries it on a simulation's bus (next to the
 * kernel's tracepoints, so traces show findings where they happen).
 */

/** One contract finding. */
export interface CheckFinding {
  /** Stable kind, e.g. `cpu-access-outside-sync`. */
  readonly kind: string;
  readonly pid: number | null;
  readonly comm: string;
  readonly message: string;
  readonly time: number;
}

/** The checker's event. */
export interface CheckEvents {
  'check:finding': (e: CheckFinding) => void;
}
