/**
 * `recur sweep SWEEP --queue redis://…`: the sweep side of a sweep run by agents. It puts the
 * trials on the queue as one BullMQ flow (a parent sweep job, one child per trial, ids derived
 * from the sweep and the trial so a rerun attaches to the jobs already there), watches them,
 * decides ASHA stops from the evaluations the agents report, and writes the same sweep folder
 * a local sweep writes. Each trial is recorded once, by trial id, whatever the delivery did.
 */
import { existsSync, readFileSync } from 'node:fs';
import { FlowProducer, Job, Queue, type FlowJobNode } from 'bullmq';
import { readJsonLines } from '../../data/read.js';
import { RunError } from '../../errors.js';
import { loadSweep } from '../../experiment/sweep-file.js';
import { formatLabel } from '../../report/charts.js';
import { Asha, type AshaVerdict } from '../asha.js';
import {
  commandClient, connectionOptions, connectOrFail, parseQueueUrl, queueTiming, sleep, sweepQueueName, SWEEP_QUEUES_KEY, watchRedis,
} from './connection.js';
import {
  SWEEP_JOB, sweepJobId, TRIAL_JOB, trialJobId, verdictsKey, VERDICTS_TTL_SECONDS, type TrialJobData, type TrialJobResult, type TrialProgress,
} from './jobs.js';
import { rankTrials } from '../summary.js';
import { failedRecord, SweepFolder, trialExperiment, trialRecord, type SweepSummary } from '../trials.js';
import type { PlannedTrial, TrialRecord } from '../records.js';

export interface QueuedSweepOptions {
  /** redis://HOST:PORT[/DB] */
  queue: string;
  /** The sweep folder (default: the sweep file's output.dir). */
  outDir?: string;
  onNotice?: (text: string) => void;
  /** Stop waiting (the trials stay on the queue; the same command attaches again). */
  stopSignal?: AbortSignal;
}

/** How often the sweep side looks at its trials. */
const POLL_MS = 200;

/** Job options of a trial: a few attempts for infrastructure failures (a trial's own failure is its result). */
const TRIAL_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1_000 },
  // A failed child must not hold the sweep job back.
  ignoreDependencyOnFailure: true,
} as const;

interface TrackedTrial {
  trial: PlannedTrial;
  jobId: string;
  data: TrialJobData;
  /** Steps whose evaluation ASHA has had (by step: a retried trial reports its evaluations again). */
  fed: Set<number>;
}

export async function runQueuedSweep(file: string, opts: QueuedSweepOptions): Promise<SweepSummary> {
  const target = parseQueueUrl(opts.queue);
  const spec = loadSweep(file);
  const notice = opts.onNotice ?? (() => undefined);
  const timing = queueTiming();

  const folder = new SweepFolder(spec, opts.outDir, notice);
  const { asha, trials: allTrials, dir: outDir } = folder;
  const pending = folder.pending();

  // Validate every trial before anything goes on the queue; a bad one is recorded as failed, as locally.
  const errorsThisRun: unknown[] = [];
  const tracked: TrackedTrial[] = [];
  const retries = failedLines(folder.trialsPath);
  for (const trial of pending) {
    let data: TrialJobData;
    try {
      const experiment = trialExperiment(spec, trial, null);
      const retry = retries.get(trial.id) ?? 0;
      const jobId = trialJobId(spec.name, trial.id, experiment) + (retry > 0 ? `.retry${retry}` : '');
      data = {
        sweep: spec.name, trial: trial.id, index: trial.index, total: allTrials.length, parameters: trial.parameters,
        experiment, fixedWorkers: 'train.workers' in trial.parameters, file: spec.base, metric: spec.metric,
        asha: asha ? { rungs: asha.rungs, verdicts: verdictsKey(jobId) } : null,
      };
      tracked.push({ trial, jobId, data, fed: new Set() });
    } catch (err) {
      errorsThisRun.push(err);
      folder.record(failedRecord(trial, err, 0));
    }
  }
  folder.writeSummary();

  const redis = commandClient(target, timing);
  await connectOrFail(redis, target, timing);
  let lost: RunError | null = null;
  let onLost: (err: RunError) => void = () => undefined;
  const lostPromise = new Promise<never>((_, reject) => { onLost = reject; });
  lostPromise.catch(() => undefined);
  const watchdog = watchRedis(redis, target, timing, (err) => { lost = err; onLost(err); });
  const connection = connectionOptions(target);
  const queueName = sweepQueueName(spec.name);
  const queue = new Queue(queueName, { connection });
  const flows = new FlowProducer({ connection });
  queue.on('error', () => undefined);
  flows.on('error', () => undefined);
  const untilLost = <T>(work: Promise<T>): Promise<T> => Promise.race([work, lostPromise]);

  let interrupted = false;
  try {
    // Jobs already on the queue (an earlier run of this sweep) are attached to, the rest added as one flow.
    const existing = await untilLost(Promise.all(tracked.map((t) => queue.getJob(t.jobId))));
    const missing = tracked.filter((_, i) => existing[i] === undefined);
    const attached = tracked.length - missing.length;
    if (missing.length > 0) {
      await untilLost(flows.add({
        name: SWEEP_JOB, queueName, data: { sweep: spec.name, outDir },
        opts: { jobId: sweepJobId(spec.name, missing.map((t) => t.jobId)) },
        children: missing.map((t): FlowJobNode => ({ name: TRIAL_JOB, queueName, data: t.data, opts: { jobId: t.jobId, ...TRIAL_JOB_OPTIONS } })),
      }));
    }
    // Registered after its jobs exist, so an agent that finds the queue finds work on it.
    await untilLost(redis.sadd(SWEEP_QUEUES_KEY, queueName));
    notice(
      `sweep ${spec.name}: ${allTrials.length} trials on ${target.display} (queue ${queueName})` +
        (allTrials.length > pending.length ? `, ${allTrials.length - pending.length} already done` : '') +
        (attached > 0 ? `; attached to ${attached} already on the queue` : '') +
        (missing.length > 0 ? `; queued ${missing.length}` : '') +
        `; folder ${outDir}` + (tracked.length > 0 ? '. Start agents with: recur agent --queue ' + target.display : ''),
    );

    let lastLine = '';
    let remaining = tracked;
    const settled = new Set<string>();
    while (remaining.length > 0) {
      if (opts.stopSignal?.aborted) { interrupted = true; break; }
      const states = await untilLost(Promise.all(remaining.map(async (t) => {
        const job = await Job.fromId<TrialJobData, TrialJobResult>(queue, t.jobId);
        return { t, job, state: job ? await job.getState() : 'missing' };
      })));
      let running = 0, waiting = 0;
      for (const { t, job, state } of states) {
        const feed = async (evals: TrialProgress['evals'] | undefined): Promise<void> => {
          if (!asha || !evals) return;
          for (const [step, metric] of evals) {
            if (t.fed.has(step)) continue;
            t.fed.add(step);
            const rung = asha.rungOf(t.trial.id, step);
            const verdict: AshaVerdict = asha.report(t.trial.id, step, metric);
            if (rung === null) continue;
            // The agent waits for this at the rung and ends the trial as 'stopped' on 'stop'.
            const key = t.data.asha!.verdicts;
            await untilLost(redis.multi().hset(key, String(rung), verdict).expire(key, VERDICTS_TTL_SECONDS).exec());
            if (verdict === 'stop') notice(`${t.trial.id}: stopped by ASHA at step ${step} (${spec.metric.name} ${formatLabel(metric)})`);
          }
        };
        if (state === 'completed' && job && job.returnvalue == null) {
          // The job was read just before it completed (state is read after the job's hash):
          // its result is there on the next poll.
          running++;
        } else if (state === 'completed' && job) {
          const result = job.returnvalue;
          await feed(result.evals);
          folder.record(trialRecord(t.trial, result, asha !== null));
          settled.add(t.jobId);
        } else if (state === 'failed' && job) {
          folder.record(failedRecord(t.trial, job.failedReason || 'failed on the queue', 0));
          settled.add(t.jobId);
        } else if (state === 'missing') {
          folder.record(failedRecord(t.trial, `job ${t.jobId} is no longer on the queue`, 0));
          settled.add(t.jobId);
        } else if (state === 'active') {
          running++;
          await feed((job?.progress as TrialProgress | undefined)?.evals);
        } else {
          waiting++;
        }
      }
      remaining = remaining.filter((t) => !settled.has(t.jobId));
      const line = progressLine(spec.metric, allTrials, folder.finished, running, waiting);
      if (line !== lastLine) notice(line);
      lastLine = line;
      if (remaining.length > 0) await untilLost(sleep(POLL_MS, opts.stopSignal));
    }
  } finally {
    watchdog.stop();
    if (lost) {
      // Nothing reaches Redis any more: drop the connections without waiting on them.
      void Promise.allSettled([queue.disconnect(), flows.disconnect()]);
      redis.disconnect();
    } else {
      await Promise.allSettled([queue.close(), flows.close()]);
      await redis.quit().catch(() => redis.disconnect());
    }
  }
  return folder.summarise(interrupted, tracked.length, errorsThisRun);
}

function progressLine(metric: SweepSummary['metric'], all: PlannedTrial[], finished: Map<string, TrialRecord>, running: number, waiting: number): string {
  const records = all.map((t) => finished.get(t.id)).filter((r): r is TrialRecord => r !== undefined);
  const count = (status: string): number => records.filter((r) => r.status === status).length;
  const best = rankTrials(records, metric.goal).find((r) => r.status === 'ok');
  return `${records.length}/${all.length} done (${count('ok')} ok, ${count('stopped')} stopped, ${count('failed')} failed), ${running} running, ${waiting} waiting` +
    (best ? `; best so far ${best.id} ${metric.name} ${formatLabel(best.metric!)}` : '');
}

/** How many times each trial has failed before (its next job gets a new id, so a rerun retries it). */
function failedLines(path: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(path)) return counts;
  // readTrialRecords has warned of a line that is not JSON already.
  for (const { value } of readJsonLines(readFileSync(path), path, () => {})) {
    const r = value as TrialRecord;
    if (r.status === 'failed') counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  }
  return counts;
}
