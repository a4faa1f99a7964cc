/**
 * `recur agent`: takes trials from the queue and trains them with the multi-core engine, one at
 * a time. Training runs in worker threads, so this thread stays free to renew the trial's lock;
 * an agent that dies stops renewing it, and BullMQ's stalled-job check hands the trial to
 * another agent, which resumes from the last checkpoint when it can see the run folder. Each
 * evaluation is reported as job progress; the sweep side decides ASHA stops and sets a key the
 * agent reads at the next evaluation. The final metrics are the job's result.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { Job, Queue, WaitingError, Worker } from 'bullmq';
import { loadCheckpoint } from '../../checkpoint/checkpoint.js';
import { firstLine, InputError, RunError } from '../../errors.js';
import type { Experiment } from '../../experiment/experiment.js';
import { readMetrics } from '../../report/metrics.js';
import { CHECKPOINT_FILE, METRICS_FILE } from '../../training/run-folder.js';
import {
  commandClient, connectionOptions, connectOrFail, parseQueueUrl, queueTiming, sleep, SWEEP_QUEUES_KEY, watchRedis,
} from './connection.js';
import { newRung } from '../asha.js';
import { SWEEP_JOB, type TrialJobData, type TrialJobResult, type TrialProgress } from './jobs.js';
import { metricOf, runTrialOnce } from '../trials.js';
import type { Evals } from '../records.js';

export interface AgentOptions {
  /** redis://HOST:PORT[/DB] */
  queue: string;
  /** Worker threads per trial (default: every core; a trial whose parameters fix train.workers keeps its own). */
  workers?: number;
  /** Exit once no trial is waiting, delayed or running anywhere. */
  once?: boolean;
  /** Folder for run folders on this machine (default: the folder the sweep side named, when it can be written). */
  outDir?: string;
  onNotice?: (text: string) => void;
  /** Checkpoint the running trial, give it back to the queue, and return. */
  stopSignal?: AbortSignal;
}

export interface AgentSummary {
  /** Trials this agent finished (ok, failed or stopped). */
  finished: number;
  status: 'drained' | 'interrupted';
}

/** How often the agent looks at the sweep queues (to move on, or to see that all have run dry). */
const IDLE_CHECK_MS = 500;

/** A sweep queue's trials that can be taken, and those some agent is training. */
export interface QueueLoad {
  name: string;
  ready: number;
  active: number;
}

/**
 * The sweep queue an idle agent should serve next, or null for none. It stays where it is while
 * trials there can be taken; else it goes where trials can be taken; else it watches a queue
 * whose trials other agents are training (its stalled-job check hands on a trial whose agent
 * died), staying at least `watchMs` (two checks) before looking at the next one.
 */
export function nextQueue(loads: QueueLoad[], current: string | null, servedMs: number, watchMs: number): string | null {
  const here = loads.find((q) => q.name === current);
  if (here && here.ready > 0) return here.name;
  const ready = loads.find((q) => q.ready > 0);
  if (ready) return ready.name;
  const watched = loads.filter((q) => q.active > 0);
  if (watched.length === 0) return null;
  if (here && here.active > 0 && servedMs < 2 * watchMs) return here.name;
  // Round-robin over the watched queues, so every one gets its stalled-job checks.
  const after = watched.findIndex((q) => q.name > (current ?? ''));
  return watched[after === -1 ? 0 : after]!.name;
}

export async function runAgent(opts: AgentOptions): Promise<AgentSummary> {
  const target = parseQueueUrl(opts.queue);
  if (opts.workers !== undefined && (!Number.isInteger(opts.workers) || opts.workers < 1)) {
    throw new InputError(`--workers: expected a positive integer, got ${opts.workers}`);
  }
  const timing = queueTiming();
  const notice = opts.onNotice ?? (() => undefined);
  const agent = `${hostname()}:${process.pid}`;
  const redis = commandClient(target, timing);
  await connectOrFail(redis, target, timing);

  // The agent stops for a signal (give the trial back) or for a lost Redis (exit 1).
  const stop = new AbortController();
  let lost: RunError | null = null;
  const watchdog = watchRedis(redis, target, timing, (err) => { lost = err; stop.abort(); });
  const onSignal = (): void => stop.abort();
  opts.stopSignal?.addEventListener('abort', onSignal);
  if (opts.stopSignal?.aborted) stop.abort();

  const connection = connectionOptions(target);
  let finished = 0;
  let busy = false;
  // The trial being trained, so a lost Redis still lets it write its checkpoint before exit.
  let training: Promise<unknown> = Promise.resolve();
  const processJob = async (job: Job<TrialJobData>, token: string | undefined): Promise<unknown> => {
    busy = true;
    try {
      if (job.name === SWEEP_JOB) return { trials: Object.keys(await job.getChildrenValues()).length };
      const run = runTrialJob(job, token, { redis, agent, workers: opts.workers, outDir: opts.outDir, notice, stop: stop.signal });
      training = run.catch(() => undefined);
      const result = await run;
      if (result === 'given back') {
        if (lost) throw lost; // its lock lapses, and the stalled-job check hands it on
        notice(`giving trial ${job.id} back to the queue`);
        await job.moveToWait(token);
        throw new WaitingError();
      }
      finished++;
      return result;
    } finally {
      busy = false;
    }
  };
  // One sweep queue at a time, so the agent trains one trial at a time; `counts` reads every
  // registered sweep queue through the command client.
  const counters = new Map<string, Queue>();
  const loads = async (): Promise<QueueLoad[]> => {
    const names = (await redis.smembers(SWEEP_QUEUES_KEY)).sort();
    return Promise.all(names.map(async (name) => {
      let queue = counters.get(name);
      if (!queue) {
        queue = new Queue(name, { connection: redis });
        queue.on('error', () => undefined);
        counters.set(name, queue);
      }
      const c = await queue.getJobCounts('wait', 'delayed', 'prioritized', 'active');
      return { name, ready: (c.wait ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0 };
    }));
  };
  // Read through `here`: TypeScript would narrow a plain `let` to its initial null in the loop.
  const here: { serving: { name: string; worker: Worker; since: number } | null } = { serving: null };
  const serve = (name: string): void => {
    const worker = new Worker<TrialJobData, unknown>(name, processJob, {
      connection, concurrency: 1, autorun: false,
      lockDuration: timing.lockMs, stalledInterval: timing.stalledIntervalMs,
      // A trial may lose its agent a few times (machines die) before it counts as failed.
      maxStalledCount: 3,
    });
    worker.on('error', () => undefined);
    worker.on('failed', (job, err) => { if (job && !(err instanceof WaitingError)) notice(`trial ${job.id} failed: ${firstLine(err)}`); });
    worker.run().catch(() => undefined); // its errors surface as 'error' events and the watchdog
    here.serving = { name, worker, since: Date.now() };
  };
  const leave = async (force: boolean): Promise<void> => {
    const current = here.serving;
    here.serving = null;
    if (!current) return;
    if (force) void current.worker.close(true).catch(() => undefined);
    else await current.worker.close();
  };
  notice(`agent ${agent}: taking trials from ${target.display}${opts.once ? ' until no sweep has any left' : ''}`);

  try {
    while (!stop.signal.aborted) {
      let all: QueueLoad[] | undefined;
      try {
        all = await unlessStopped(loads(), stop.signal);
      } catch {
        // Redis trouble: the watchdog decides.
      }
      if (all !== undefined && !busy) {
        const current = here.serving;
        const next = nextQueue(all, current?.name ?? null, current ? Date.now() - current.since : 0, timing.stalledIntervalMs);
        if (next !== (current?.name ?? null)) {
          await leave(false);
          if (next !== null) serve(next);
        }
        // --once: done when nothing is left anywhere — no trial waiting, delayed or running (a
        // running one may still come back if its agent dies).
        if (opts.once && next === null && all.every((q) => q.ready === 0 && q.active === 0)) break;
      }
      await sleep(IDLE_CHECK_MS, stop.signal);
    }
  } finally {
    opts.stopSignal?.removeEventListener('abort', onSignal);
    watchdog.stop();
    if (lost) {
      // Nothing reaches Redis any more: let the trial checkpoint, then drop the connections
      // without waiting on them (its lock lapses and another agent takes it when Redis is back).
      await Promise.race([training, new Promise((r) => setTimeout(r, 10_000).unref())]);
      await leave(true);
      for (const queue of counters.values()) void queue.disconnect().catch(() => undefined);
      redis.disconnect();
    } else {
      await leave(false);
      await Promise.allSettled([...counters.values()].map((queue) => queue.close()));
      await redis.quit().catch(() => redis.disconnect());
    }
  }
  if (lost) throw lost;
  return { finished, status: stop.signal.aborted ? 'interrupted' : 'drained' };
}

interface TrialContext {
  redis: ReturnType<typeof commandClient>;
  agent: string;
  workers: number | undefined;
  outDir: string | undefined;
  notice: (text: string) => void;
  stop: AbortSignal;
}

/** Trains one trial; 'given back' when the agent is stopping and the trial must go back to the queue. */
async function runTrialJob(job: Job<TrialJobData>, token: string | undefined, ctx: TrialContext): Promise<TrialJobResult | 'given back'> {
  const data = job.data;
  const runDir = ctx.outDir ? join(ctx.outDir, data.sweep, data.trial) : data.experiment.output.dir;
  const checkpoint = join(runDir, CHECKPOINT_FILE);
  const label = `[${data.index + 1}/${data.total}] ${data.sweep} ${data.trial}`;
  const evals: Evals = [];
  let workers = data.fixedWorkers && data.experiment.train.workers !== null
    ? data.experiment.train.workers
    : Math.min(ctx.workers ?? availableParallelism(), data.experiment.train.batch);
  // A checkpoint from an earlier attempt (an agent that died or gave the trial back): resume
  // with the worker count it was trained with, so the result is bit-for-bit the uninterrupted one.
  let resume = false;
  let resumeStep = 0;
  if (existsSync(checkpoint)) {
    try {
      const saved = loadCheckpoint(checkpoint).train;
      const savedWorkers = Number(saved?.workers);
      if (Number.isInteger(savedWorkers) && savedWorkers > 0) workers = savedWorkers;
      resumeStep = Number(saved?.step ?? 0);
      resume = true;
    } catch (err) {
      ctx.notice(`${label}: the checkpoint in ${runDir} cannot be read (${firstLine(err)}); starting over`);
    }
  }
  const exp: Experiment = { ...data.experiment, train: { ...data.experiment.train, workers }, output: { dir: runDir } };

  const progress = (step: number): TrialProgress => ({ step, steps: exp.train.steps, evals, agent: ctx.agent });
  // Rungs this trial has reached (a resumed trial: before its checkpoint too, from metrics.jsonl).
  const reached = new Set<number>();
  const resetEvals = (upTo: number): void => {
    evals.length = 0;
    reached.clear();
    if (upTo <= 0) return;
    for (const line of readMetrics(join(runDir, METRICS_FILE))) {
      const metric = metricOf(line, data.metric.name);
      if (line.step > upTo || line.valLoss === undefined || metric === undefined) continue;
      evals.push([line.step, metric]);
      if (data.asha) newRung(data.asha.rungs, reached, line.step);
    }
  };
  resetEvals(resumeStep);
  const onEval = async (step: number, metric: number | undefined): Promise<'stop' | undefined> => {
    // Never let a Redis outage hold training: when the agent stops, it stops waiting too.
    await unlessStopped(job.updateProgress(progress(step) as unknown as object), ctx.stop);
    const rung = data.asha && metric !== undefined ? newRung(data.asha.rungs, reached, step) : null;
    if (rung === null) return undefined;
    // At a rung the sweep side decides, from every trial's evaluations there; wait for it.
    const verdict = await waitForVerdict(ctx.redis, data.asha!.verdicts, rung, ctx.stop);
    if (verdict === null) ctx.notice(`${label}: no ASHA verdict from the sweep side at step ${rung} (is \`recur sweep --queue\` still running?); going on`);
    return verdict === 'stop' ? 'stop' : undefined;
  };

  ctx.notice(`${label}: ${resume ? 'resuming' : 'training'} with ${workers} worker${workers === 1 ? '' : 's'} in ${runDir}`);
  const outcome = await runTrialOnce({
    experiment: () => exp, file: data.file, metric: data.metric.name, evals, onEval,
    resume: resume ? { onStartOver: () => resetEvals(0) } : undefined,
    stopSignal: ctx.stop, onNotice: (text) => ctx.notice(`${label}: ${text}`),
  });
  if (outcome.status === 'interrupted') {
    ctx.notice(`${label}: stopped at step ${outcome.steps} with a checkpoint in ${runDir}`);
    return 'given back';
  }
  // A trial's own failure (bad parameters, divergence) is its result, as in a local sweep;
  // retrying it elsewhere would fail the same way.
  if (outcome.status === 'failed') ctx.notice(`${label}: failed: ${outcome.error}`);
  else if (outcome.status === 'stopped') ctx.notice(`${label}: stopped early by ASHA at step ${outcome.steps}`);
  else ctx.notice(`${label}: ${data.metric.name} ${outcome.metric} (${outcome.seconds} s)`);
  const { cause: _, ...result } = outcome;
  return { ...result, agent: ctx.agent, workers };
}

/** How often an agent at a rung looks for the sweep side's verdict, and how long it waits for one. */
const VERDICT_POLL_MS = 50;
const VERDICT_WAIT_MS = 30_000;

/** The sweep side's verdict at `rung`, or null when none came in time (or the agent is stopping). */
async function waitForVerdict(redis: ReturnType<typeof commandClient>, key: string, rung: number, stop: AbortSignal): Promise<string | null> {
  const deadline = Date.now() + VERDICT_WAIT_MS;
  while (!stop.aborted && Date.now() < deadline) {
    const verdict = await unlessStopped(redis.hget(key, String(rung)), stop);
    if (verdict !== null && verdict !== undefined) return verdict;
    await new Promise((r) => setTimeout(r, VERDICT_POLL_MS));
  }
  return null;
}

/** `work`, or undefined as soon as `stop` aborts (the work itself is left to fail on its own). */
function unlessStopped<T>(work: Promise<T>, stop: AbortSignal): Promise<T | undefined> {
  if (stop.aborted) return Promise.resolve(undefined);
  work.catch(() => undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    stop.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => { stop.removeEventListener('abort', onAbort); resolve(value); },
      (err: unknown) => { stop.removeEventListener('abort', onAbort); reject(err); },
    );
  });
}
