/**
 * What travels through the queue between `recur sweep --queue` and `recur agent`: the job ids
 * (derived from the sweep and the trial, so a rerun finds its jobs again instead of adding
 * new ones), the trial job's data, its progress (one entry per evaluation) and its result.
 */
import type { Experiment } from '../../experiment/experiment.js';
import { digest, namePart, type FinishedTrial } from '../trials.js';
import type { Evals } from '../records.js';

/** The job that groups a sweep's trials (a BullMQ flow parent). */
export const SWEEP_JOB = 'sweep';
/** One trial of a sweep (a flow child). */
export const TRIAL_JOB = 'trial';

export interface TrialJobData {
  sweep: string;
  trial: string;
  /** 0-based position in the sweep, and the sweep's trial count. */
  index: number;
  total: number;
  parameters: Record<string, unknown>;
  /** The trial's experiment, validated on the sweep side; output.dir is its run folder there. */
  experiment: Experiment;
  /** True when the trial's parameters fix train.workers; else the agent gives it its cores. */
  fixedWorkers: boolean;
  /** The base experiment file, named in messages. */
  file: string;
  metric: { name: string; goal: 'minimize' | 'maximize' };
  /**
   * With early termination: the rung steps, and the Redis hash where the sweep side puts its
   * verdict at each rung (field: the rung step, value: 'continue' or 'stop'). Null without.
   */
  asha: { rungs: number[]; verdicts: string } | null;
}

export interface TrialProgress {
  step: number;
  steps: number;
  evals: Evals;
  agent: string;
}

/** A trial's outcome as the agent returns it (the error object stays behind), and who trained it with how many workers. */
export type TrialJobResult = Omit<FinishedTrial, 'cause'> & { agent: string; workers: number };

/**
 * A trial's job id: sweep name, trial id and a hash of the trial's experiment, so the same
 * sweep run again attaches to its jobs, while an edited base experiment makes new ones.
 */
export function trialJobId(sweep: string, trial: string, experiment: Experiment): string {
  return `${namePart(sweep)}.${trial}.${digest(experiment, 8)}`;
}

export function sweepJobId(sweep: string, trialJobIds: string[]): string {
  return `${namePart(sweep)}.sweep.${digest([...trialJobIds].sort(), 8)}`;
}

export function verdictsKey(trialJobId: string): string {
  return `recur:asha:${trialJobId}`;
}

/** How long verdicts stay in Redis after the last one (a week: any rerun of the sweep is long done). */
export const VERDICTS_TTL_SECONDS = 7 * 24 * 3600;
