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

/** The matrix products, (C, cOff, A, aOff, B, bOff, M, N, K, beta): their shapes are recorded too. */
const PRODUCTS = new Set(['abt', 'ab', 'atb']);

/** Key of a product's shape in the totals: `<PRODUCT_KEY><name> <M>x<N>x<K>` (ms) and the same with `flops:` (FLOPs). */
export const PRODUCT_KEY = 'product:';

/**
 * The same ops object with every function timed under `kernel:<name>`; each matrix product also
 * under its shape (`product:abt 32x2048x512`, with its FLOPs under `flops:product:…`), so a
 * profile can say at what GFLOP/s each product ran inside the step.
 */
export function profiledOps<T extends object>(ops: T, profile: Profile): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(ops)) {
    if (typeof fn !== 'function') { out[name] = fn; continue; }
    const call = (args: unknown[]): unknown => (fn as (...a: unknown[]) => unknown).apply(ops, args);
    out[name] = PRODUCTS.has(name)
      ? (...args: unknown[]) => {
        const [M, N, K] = args.slice(6, 9) as number[];
        const t0 = performance.now();
        const result = profile.time(`kernel:${name}`, () => call(args));
        const shape = `${PRODUCT_KEY}${name} ${M}x${N}x${K}`;
        profile.add(shape, performance.now() - t0);
        profile.add(`flops:${shape}`, 2 * M * N * K);
        return result;
      }
      : (...args: unknown[]) => profile.time(`kernel:${name}`, () => call(args));
  }
  return out as T;
}
