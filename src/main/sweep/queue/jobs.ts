/**
 * What travels through the queue between `recur sweep --queue` and `recur agent`: the job ids
 * (derived from the sweep and the trial, so a rerun finds its jobs again instead of adding
 * new ones), the trial job's data, its progress (one entry per evaluation) and its result.
 */
import { createHash } from 'node:crypto';
import type { Experiment } from '../../experiment/experiment.js';

/** The job that groups a sweep's trials (a BullMQ flow parent). */
export const SWEEP_JOB = 'sweep';
/** One trial of a sweep (a flow child). */
export const TRIAL_JOB = 'trial';

/** [step, metric] of every evaluation so far. */
export type Evals = [step: number, metric: number][];

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

export interface TrialJobResult {
  status: 'ok' | 'failed' | 'stopped';
  metric: number | null;
  error?: string;
  /** Steps trained, evaluations seen, seconds of this attempt, and who trained it with how many workers. */
  steps: number;
  evals: Evals;
  seconds: number;
  agent: string;
  workers: number;
}

/** Characters BullMQ accepts in a custom job id (no ':'), and that read well in redis-cli. */
function idPart(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function shortHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 8);
}

/**
 * A trial's job id: sweep name, trial id and a hash of the trial's experiment, so the same
 * sweep run again attaches to its jobs, while an edited base experiment makes new ones.
 */
export function trialJobId(sweep: string, trial: string, experiment: Experiment): string {
  return `${idPart(sweep)}.${trial}.${shortHash(experiment)}`;
}

export function sweepJobId(sweep: string, trialJobIds: string[]): string {
  return `${idPart(sweep)}.sweep.${shortHash([...trialJobIds].sort())}`;
}

export function verdictsKey(trialJobId: string): string {
  return `recur:asha:${trialJobId}`;
}

/** How long verdicts stay in Redis after the last one (a week: any rerun of the sweep is long done). */
export const VERDICTS_TTL_SECONDS = 7 * 24 * 3600;

/** The value of the sweep's metric on a metrics line, when the line has it. */
export function metricOf(line: object, name: string): number | undefined {
  const value = (line as Record<string, unknown>)[name];
  return typeof value === 'number' ? value : undefined;
}
