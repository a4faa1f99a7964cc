/**
 * Asynchronous successive halving (ASHA, Li et al. 2018) as early stopping, the way Ray Tune's
 * ASHAScheduler and W&B's `early_terminate: hyperband` use it: rungs at minSteps·eta^k steps;
 * when a trial reaches a rung its metric joins the rung's list, and the trial goes on only if
 * it is in the top 1/eta of the trials that reached that rung so far (itself included; the
 * first trial at a rung always goes on). Trials need not run in step: each decision uses what
 * the rung holds at that moment, so the same code serves a local sweep and a queue of agents.
 *
 * Pure: no clock, no I/O. The sweep feeds it every evaluation; it answers 'stop' or 'continue'.
 */

export interface AshaSpec {
  /** The first rung, in training steps. */
  minSteps: number;
  /** Reduction factor: the top 1/eta of each rung go on to the next. */
  eta: number;
  /** No rung at or beyond this step (a trial there has finished anyway). */
  maxSteps: number;
}

export type Goal = 'minimize' | 'maximize';
export type AshaVerdict = 'continue' | 'stop';

/** The rung steps: minSteps·eta^k below maxSteps, ascending. */
export function rungSteps(spec: AshaSpec): number[] {
  const steps: number[] = [];
  for (let step = spec.minSteps; step < spec.maxSteps; step *= spec.eta) steps.push(Math.round(step));
  return steps;
}

/** Index of the highest rung at or below `step`, or -1. */
function highestRungIndex(rungs: readonly number[], step: number): number {
  for (let r = rungs.length - 1; r >= 0; r--) if (step >= rungs[r]!) return r;
  return -1;
}

/**
 * For a trial that runs elsewhere (an agent): the rung its evaluation at `step` reaches for the
 * first time, given the rungs it has reached before (updated), or null — the trial's side of
 * `Asha.rungOf`, so the agent knows when to wait for a verdict.
 */
export function newRung(rungs: readonly number[], reached: Set<number>, step: number): number | null {
  const r = highestRungIndex(rungs, step);
  if (r < 0 || reached.has(rungs[r]!)) return null;
  reached.add(rungs[r]!);
  return rungs[r]!;
}

/** How many of `n` trials at a rung go on: the top 1/eta, at least one. */
export function survivors(n: number, eta: number): number {
  return Math.max(1, Math.floor(n / eta));
}

export class Asha {
  readonly rungs: number[];
  /** Per rung (same order as `rungs`): trial id → the metric it reached the rung with. */
  private readonly recorded: Map<string, number>[];

  constructor(readonly spec: AshaSpec, readonly goal: Goal) {
    this.rungs = rungSteps(spec);
    this.recorded = this.rungs.map(() => new Map());
  }

  /**
   * An evaluation of `trial` at `step`. It counts for the highest rung at or below `step` that
   * the trial has not reached before (evaluations need not fall on rung steps); any other
   * evaluation is 'continue'. A non-finite metric ranks below every finite one.
   */
  report(trial: string, step: number, metric: number): AshaVerdict {
    const r = this.rungIndex(trial, step);
    if (r < 0) return 'continue';
    const rung = this.recorded[r]!;
    rung.set(trial, metric);
    return this.rank(rung, trial) <= survivors(rung.size, this.spec.eta) ? 'continue' : 'stop';
  }

  /** The rung step an evaluation of `trial` at `step` would count for, or null (see `report`). */
  rungOf(trial: string, step: number): number | null {
    const r = this.rungIndex(trial, step);
    return r < 0 ? null : this.rungs[r]!;
  }

  private rungIndex(trial: string, step: number): number {
    const r = highestRungIndex(this.rungs, step);
    return r >= 0 && !this.recorded[r]!.has(trial) ? r : -1;
  }

  /** Replays a trial's earlier evaluations (a rerun rebuilding the rungs from trials.jsonl); returns the last verdict. */
  replay(trial: string, evals: ReadonlyArray<readonly [step: number, metric: number]>): AshaVerdict {
    let verdict: AshaVerdict = 'continue';
    for (const [step, metric] of evals) {
      verdict = this.report(trial, step, metric);
      if (verdict === 'stop') break;
    }
    return verdict;
  }

  /** The metrics recorded at each rung (for summaries and tests). */
  rungTable(): { step: number; trials: Map<string, number> }[] {
    return this.rungs.map((step, r) => ({ step, trials: new Map(this.recorded[r]) }));
  }

  /** 1-based rank of `trial` in `rung`; ties go the trial's way. */
  private rank(rung: Map<string, number>, trial: string): number {
    const mine = score(rung.get(trial)!, this.goal);
    let better = 0;
    for (const [id, metric] of rung) if (id !== trial && score(metric, this.goal) > mine) better++;
    return better + 1;
  }
}

/** Higher is better; NaN and the wrong infinity are worst. */
function score(metric: number, goal: Goal): number {
  if (Number.isNaN(metric)) return -Infinity;
  return goal === 'minimize' ? -metric : metric;
}

/** Steps a sweep did not train because ASHA stopped trials early: per stopped trial, its planned steps minus the steps it ran. */
export function stepsSaved(trials: ReadonlyArray<{ status: string; steps?: number; plannedSteps?: number }>): { saved: number; planned: number } {
  let saved = 0, planned = 0;
  for (const t of trials) {
    if (t.plannedSteps === undefined) continue;
    planned += t.plannedSteps;
    if (t.status === 'stopped' && t.steps !== undefined) saved += Math.max(0, t.plannedSteps - t.steps);
  }
  return { saved, planned };
}
