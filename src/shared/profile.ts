/**
 * Opt-in timing of a worker's step (RECUR_PROFILE=1): milliseconds per phase and per kernel.
 * Off by default so the hot loop carries no timing calls at all.
 */
export type PhaseTotals = Record<string, number>;

export class Profile {
  readonly totals: PhaseTotals = {};

  add(phase: string, ms: number): void {
    this.totals[phase] = (this.totals[phase] ?? 0) + ms;
  }

  /** Times fn under `phase`. */
  time<T>(phase: string, fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.add(phase, performance.now() - t0);
    }
  }
}

/** The same ops object with every function timed under `kernel:<name>`. */
export function profiledOps<T extends object>(ops: T, profile: Profile): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(ops)) {
    out[name] = typeof fn === 'function'
      ? (...args: unknown[]) => profile.time(`kernel:${name}`, () => (fn as (...a: unknown[]) => unknown).apply(ops, args))
      : fn;
  }
  return out as T;
}
