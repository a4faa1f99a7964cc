/**
 * The board's view of the run and sweep folders, kept up to date by `refresh()`: metrics.jsonl
 * is read incrementally (only the bytes appended since the last look), a run's status is decided
 * from its files, and every change is emitted as an event for the live page.
 */
import { EventEmitter } from 'node:events';
import { lstatSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { decodeCheckpoint } from '../checkpoint/checkpoint.js';
import { firstLine } from '../errors.js';
import { evaluateCheckpoint, type EvalResult } from '../inference/evaluate.js';
import { sampleText } from '../inference/sample.js';
import { parseMetrics, type MetricsLine } from '../report/metrics.js';
import { rankTrials, SUMMARY_FILE } from '../sweep/summary.js';
import { readTrialRecords, TRIALS_FILE } from '../sweep/trials.js';
import type { TrialRecord } from '../sweep/records.js';
import { BEST_FILE as BEST, CHART_FILE, CHECKPOINT_FILE as CHECKPOINT, CONFIG_FILE, METRICS_FILE } from '../training/run-folder.js';
import { makeRoots, readRegularFile, scanRoots, type FoundFolder, type Root } from './scan.js';

/** A run that wrote nothing for this long and has no end marker is no longer called running. */
export const RUNNING_WINDOW_MS = 30_000;
/** The trainer draws loss.svg after the final checkpoint: a loss.svg newer than the metrics marks the end. */
const END_MARKER = CHART_FILE;
/** Samples a run folder may hold (written by the user or a tool); else text models are sampled from the checkpoint. */
const SAMPLE_FILES = ['sample.txt', 'samples.txt'];

export type RunStatus = 'running' | 'finished' | 'stopped' | 'early-stopped' | 'interrupted' | 'failed' | 'stalled';

export interface RunSummary {
  id: string;
  path: string;
  name: string;
  status: RunStatus;
  /** The last logged step (0 before the first line). */
  step: number;
  /** train.steps, when config.json says. */
  steps: number | null;
  /** The evaluated step with the lowest valLoss. */
  best: { step: number; valLoss: number } | null;
  tokensPerSec: number | null;
  /** ISO times: config.json written (the training process started), and the newest write. */
  started: string | null;
  updated: string | null;
  task: string | null;
  /** The sweep folder's id when the run is one of its trials. */
  sweep: string | null;
  /** metrics.jsonl lines read so far. */
  lines: number;
  /** The keys seen in the metrics lines (valAccuracy, valMse, …), for the page's charts. */
  keys: string[];
  /** checkpoint.safetensors' modification time (ISO), null before the first one. */
  checkpoint: string | null;
}

export interface TrialView {
  /** 1, 2, … for 'ok' trials in ranked order; null for the others. */
  rank: number | null;
  id: string;
  /** The trial's run id, when its folder is on the board. */
  run: string | null;
  parameters: Record<string, unknown>;
  metric: number | null;
  status: TrialRecord['status'] | 'running' | 'stalled';
  seconds: number | null;
  steps: number | null;
  plannedSteps: number | null;
  error?: string;
}

export interface SweepView {
  id: string;
  path: string;
  name: string;
  metric: { name: string; goal: 'minimize' | 'maximize' };
  /** How many trials the sweep has in all, when summary.md says. */
  total: number | null;
  status: 'running' | 'finished' | 'incomplete';
  parameters: string[];
  /** Ranked: 'ok' best first, then 'stopped', 'failed', and trials still training. */
  trials: TrialView[];
}

export interface MetricsEvent {
  id: string;
  /** Index of the first line in `lines`; 0 with `reset` means the file was rewritten. */
  from: number;
  reset: boolean;
  lines: MetricsLine[];
}

export interface SampleView {
  /** Where the text comes from: a file in the run folder, or the checkpoint sampled now. */
  source: string;
  step: number | null;
  text: string;
}

/** A file's metrics lines, read incrementally; a rewritten file (a new run, --resume) is read again. */
export class MetricsTail {
  lines: MetricsLine[] = [];
  mtimeMs = 0;
  private size = -1;
  private ino = -1;
  /** Bytes of whole lines consumed, and the last line of them, to notice a rewrite (--resume) of the same length or longer. */
  private offset = 0;
  private tail = Buffer.alloc(0);

  constructor(private readonly path: string) {}

  /** Reads what changed since the last call: null when nothing did. */
  update(): { from: number; reset: boolean } | null {
    let st;
    try {
      st = lstatSync(this.path);
    } catch {
      st = null;
    }
    if (!st?.isFile()) return this.size === -1 && this.lines.length === 0 ? null : this.clear();
    if (st.size === this.size && st.mtimeMs === this.mtimeMs && st.ino === this.ino) return null;
    const start = this.offset - this.tail.length;
    const file = readRegularFile(this.path, start);
    if (file === null) return this.clear();
    const rewritten = file.ino !== this.ino || file.size < this.offset || !file.bytes.subarray(0, this.tail.length).equals(this.tail);
    if (rewritten && this.offset > 0) {
      this.clear();
      this.update();
      return { from: 0, reset: true };
    }
    this.ino = file.ino;
    this.size = file.size;
    this.mtimeMs = file.mtimeMs;
    const fresh = file.bytes.subarray(this.tail.length);
    // Only whole lines: a line still being written is read when its newline arrives.
    const end = fresh.lastIndexOf(0x0a) + 1;
    const from = this.lines.length;
    if (end > 0) {
      for (const line of parseMetrics(fresh.subarray(0, end).toString('utf8'))) this.lines.push(line);
      this.offset += end;
      const consumed = file.bytes.subarray(0, this.tail.length + end);
      const lastLineStart = consumed.lastIndexOf(0x0a, consumed.length - 2) + 1;
      this.tail = Buffer.from(consumed.subarray(Math.max(lastLineStart, consumed.length - 4096)));
    }
    return this.lines.length > from ? { from, reset: rewritten } : null;
  }

  private clear(): { from: number; reset: boolean } {
    this.lines = [];
    this.size = -1;
    this.ino = -1;
    this.offset = 0;
    this.tail = Buffer.alloc(0);
    return { from: 0, reset: true };
  }
}

export interface EvalView extends EvalResult {
  /** The file evaluated (best.safetensors when there is one) and its step. */
  checkpoint: string;
  step: number | null;
}

interface RunEntry {
  found: FoundFolder;
  metrics: MetricsTail;
  config: { mtimeMs: number; value: Record<string, any> };
  best: { step: number; valLoss: number } | null;
  keys: Set<string>;
  sample?: { key: string; view: SampleView };
  evaluation?: { key: string; result: Promise<EvalView | string> };
}

interface SweepEntry {
  found: FoundFolder;
  records: { mtimeMs: number; byId: Map<string, TrialRecord> };
  summary: { mtimeMs: number; name: string | null; metric: SweepView['metric'] | null; total: number | null };
}

/** The modification time of a regular file (not a link), or null. */
function mtimeOf(path: string): number | null {
  try {
    const st = lstatSync(path);
    return st.isFile() ? st.mtimeMs : null;
  } catch {
    return null;
  }
}

function readJson(path: string): Record<string, any> {
  const file = readRegularFile(path);
  if (file === null) return {};
  try {
    const value: unknown = JSON.parse(file.bytes.toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, any>) : {};
  } catch {
    return {}; // being replaced, or not ours: the run shows without its settings
  }
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export class BoardStore extends EventEmitter {
  readonly roots: Root[];
  private readonly runs = new Map<string, RunEntry>();
  private readonly sweeps = new Map<string, SweepEntry>();
  private runsJson = '';
  private sweepsJson = '';
  private lastScan = -Infinity;
  missing: string[] = [];
  truncated = false;

  constructor(dirs: string[], private readonly now: () => number = Date.now, private readonly scanEveryMs = 1000) {
    super();
    this.roots = makeRoots(dirs);
  }

  /** Looks for new folders (at most every scanEveryMs) and new metrics lines; emits what changed. */
  refresh(forceScan = false): void {
    if (forceScan || this.now() - this.lastScan >= this.scanEveryMs) this.scan();
    for (const run of this.runs.values()) {
      const change = run.metrics.update();
      if (change === null) continue;
      if (change.reset) { run.best = null; run.keys.clear(); }
      const added = run.metrics.lines.slice(change.from);
      for (const line of added) {
        for (const key of Object.keys(line)) run.keys.add(key);
        if (typeof line.valLoss === 'number' && Number.isFinite(line.valLoss) && (run.best === null || line.valLoss < run.best.valLoss)) {
          run.best = { step: line.step, valLoss: line.valLoss };
        }
      }
      this.emit('metrics', { id: run.found.id, from: change.from, reset: change.reset, lines: added } satisfies MetricsEvent);
    }
    const runs = this.runList();
    const runsJson = JSON.stringify(runs);
    if (runsJson !== this.runsJson) { this.runsJson = runsJson; this.emit('runs', runs); }
    const sweeps = this.sweepList(runs);
    const sweepsJson = JSON.stringify(sweeps);
    if (sweepsJson !== this.sweepsJson) { this.sweepsJson = sweepsJson; this.emit('sweeps', sweeps); }
  }

  /** The folders to watch for changes (the DIRs and every run and sweep folder). */
  folders(): string[] {
    return [
      ...this.roots.map((r) => r.real).filter((d): d is string => d !== null),
      ...[...this.runs.values()].map((r) => r.found.dir),
      ...[...this.sweeps.values()].map((s) => s.found.dir),
    ];
  }

  private scan(): void {
    this.lastScan = this.now();
    const found = scanRoots(this.roots);
    this.missing = found.missing;
    this.truncated = found.truncated;
    const runIds = new Set(found.runs.map((f) => f.id));
    for (const id of this.runs.keys()) if (!runIds.has(id)) this.runs.delete(id);
    for (const f of found.runs) {
      if (this.runs.get(f.id)?.found.dir === f.dir) continue;
      this.runs.set(f.id, {
        found: f, metrics: new MetricsTail(join(f.dir, METRICS_FILE)), config: { mtimeMs: -1, value: {} }, best: null, keys: new Set(),
      });
    }
    const sweepIds = new Set(found.sweeps.map((f) => f.id));
    for (const id of this.sweeps.keys()) if (!sweepIds.has(id)) this.sweeps.delete(id);
    for (const f of found.sweeps) {
      if (this.sweeps.get(f.id)?.found.dir === f.dir) continue;
      this.sweeps.set(f.id, {
        found: f, records: { mtimeMs: -1, byId: new Map() }, summary: { mtimeMs: -1, name: null, metric: null, total: null },
      });
    }
  }

  runList(): RunSummary[] {
    const sweepByDir = new Map([...this.sweeps.values()].map((s) => [s.found.dir, s]));
    return [...this.runs.values()].map((run) => {
      const sweep = sweepByDir.get(dirname(run.found.dir)) ?? null;
      if (sweep) this.updateRecords(sweep);
      return this.summarize(run, sweep?.found.id ?? null, sweep?.records.byId.get(basename(run.found.dir)));
    }).sort((a, b) => (b.started ?? '').localeCompare(a.started ?? '') || a.id.localeCompare(b.id));
  }

  private summarize(run: RunEntry, sweep: string | null, trial: TrialRecord | undefined): RunSummary {
    const dir = run.found.dir;
    const configMtime = mtimeOf(join(dir, CONFIG_FILE));
    if (configMtime !== null && configMtime !== run.config.mtimeMs) run.config = { mtimeMs: configMtime, value: readJson(join(dir, CONFIG_FILE)) };
    const config = run.config.value;
    const lines = run.metrics.lines;
    const last = lines.at(-1);
    const steps = typeof config.train?.steps === 'number' ? (config.train.steps as number) : null;
    const metricsMtime = run.metrics.mtimeMs || mtimeOf(join(dir, METRICS_FILE)) || 0;
    const checkpointMtime = mtimeOf(join(dir, CHECKPOINT));
    const lastWrite = Math.max(metricsMtime, configMtime ?? 0, checkpointMtime ?? 0, mtimeOf(join(dir, BEST)) ?? 0);
    const endMtime = mtimeOf(join(dir, END_MARKER));
    const step = last?.step ?? 0;
    const done = steps !== null && step >= steps;
    let status: RunStatus;
    if (endMtime !== null && endMtime >= metricsMtime) {
      if (done) status = 'finished';
      else if (trial?.status === 'stopped') status = 'stopped';
      // Early stopping breaks right after an evaluation line; a signal stops after any step.
      else if (config.train?.earlyStopping && last?.valLoss !== undefined) status = 'early-stopped';
      else status = 'interrupted';
    } else if (this.now() - lastWrite < RUNNING_WINDOW_MS) status = 'running';
    else if (trial?.status === 'failed') status = 'failed';
    else if (done) status = 'finished';
    else status = 'stalled';
    return {
      id: run.found.id,
      path: run.found.path,
      name: typeof config.name === 'string' && config.name !== '' ? config.name : basename(dir),
      status,
      step,
      steps,
      best: run.best,
      tokensPerSec: typeof last?.tokensPerSec === 'number' ? last.tokensPerSec : null,
      started: iso(configMtime),
      updated: iso(lastWrite || null),
      task: typeof config.data?.task === 'string' ? (config.data.task as string) : null,
      sweep,
      lines: lines.length,
      keys: [...run.keys].sort(),
      checkpoint: iso(checkpointMtime),
    };
  }

  /** A run's metrics lines from index `from`; null for an unknown id. */
  metrics(id: string, from = 0): MetricsLine[] | null {
    const run = this.runs.get(id);
    return run ? run.metrics.lines.slice(from) : null;
  }

  /** The folder of a run or sweep by id. */
  folder(id: string): FoundFolder | null {
    return this.runs.get(id)?.found ?? this.sweeps.get(id)?.found ?? null;
  }

  /**
   * A text model's sample: a sample file in the run folder, else 300 characters from its latest
   * checkpoint (as `recur train` prints at the end), computed once per checkpoint. Null when the
   * run has neither; a string when sampling failed (why).
   */
  sample(id: string): SampleView | string | null {
    const run = this.runs.get(id);
    if (!run) return null;
    for (const name of SAMPLE_FILES) {
      const file = readRegularFile(join(run.found.dir, name), 0, 1 << 20);
      if (file) return { source: name, step: null, text: file.bytes.toString('utf8') };
    }
    const path = join(run.found.dir, CHECKPOINT);
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return null;
    }
    if (!st.isFile() || run.config.value.data?.task !== 'text') return null;
    const key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (run.sample?.key === key) return run.sample.view;
    const file = readRegularFile(path);
    if (file === null) return null;
    try {
      const ck = decodeCheckpoint(file.bytes, path);
      const seed = typeof run.config.value.seed === 'number' ? (run.config.value.seed as number) : 1;
      const text = sampleText(ck, path, { length: 300, temperature: 0.8, seed });
      const step = Number(ck.train?.step);
      run.sample = { key, view: { source: CHECKPOINT, step: Number.isFinite(step) ? step : null, text } };
      return run.sample.view;
    } catch (err) {
      return `could not sample ${CHECKPOINT}: ${firstLine(err)}`;
    }
  }

  /**
   * A data model's evaluation on its validation split with the baselines (`recur eval` on
   * best.safetensors, else checkpoint.safetensors), once per checkpoint file, on one worker.
   * Null for an unknown run or one without a checkpoint; a string says why it failed.
   */
  evaluate(id: string): Promise<EvalView | string> | null {
    const run = this.runs.get(id);
    if (!run) return null;
    for (const name of [BEST, CHECKPOINT]) {
      const path = join(run.found.dir, name);
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      if (!st.isFile()) continue;
      const key = `${name}:${st.ino}:${st.size}:${st.mtimeMs}`;
      if (run.evaluation?.key !== key) {
        const result = (async (): Promise<EvalView | string> => {
          try {
            const bytes = readRegularFile(path);
            const step = bytes === null ? NaN : Number(decodeCheckpoint(bytes.bytes, path).train?.step);
            const scores = await evaluateCheckpoint(path, { workers: 1 });
            return { ...scores, checkpoint: name, step: Number.isFinite(step) ? step : null };
          } catch (err) {
            return `could not evaluate ${name}: ${firstLine(err)}`;
          }
        })();
        run.evaluation = { key, result };
      }
      return run.evaluation!.result;
    }
    return null;
  }

  private updateRecords(sweep: SweepEntry): void {
    const path = join(sweep.found.dir, TRIALS_FILE);
    const mtime = mtimeOf(path);
    if (mtime === null) { sweep.records = { mtimeMs: -1, byId: new Map() }; return; }
    if (mtime === sweep.records.mtimeMs) return;
    sweep.records = { mtimeMs: mtime, byId: readTrialRecords(path, () => undefined) };
  }

  private updateSummary(sweep: SweepEntry): void {
    const path = join(sweep.found.dir, SUMMARY_FILE);
    const mtime = mtimeOf(path);
    if (mtime === null || mtime === sweep.summary.mtimeMs) return;
    const text = readRegularFile(path, 0, 1 << 16)?.bytes.toString('utf8') ?? '';
    // summary.md is the only place a sweep folder names its metric and size (see sweep/summary.ts).
    const name = /^# Sweep `([^`]*)`/m.exec(text)?.[1] ?? null;
    const metric = /^- metric: `([^`]+)` \((minimize|maximize)\)/m.exec(text);
    const total = /^- method: \w+, (\d+) trials/m.exec(text);
    sweep.summary = {
      mtimeMs: mtime, name,
      metric: metric ? { name: metric[1]!, goal: metric[2] as 'minimize' | 'maximize' } : null,
      total: total ? Number(total[1]) : null,
    };
  }

  sweepList(runs: RunSummary[] = this.runList()): SweepView[] {
    const runByDir = new Map([...this.runs.values()].map((r) => [r.found.dir, r]));
    const summaryById = new Map(runs.map((r) => [r.id, r]));
    return [...this.sweeps.values()].map((sweep): SweepView => {
      this.updateRecords(sweep);
      this.updateSummary(sweep);
      const metric = sweep.summary.metric ?? { name: 'valLoss', goal: 'minimize' as const };
      const records = [...sweep.records.byId.values()];
      const ranked = rankTrials(records, metric.goal);
      let rank = 0;
      const trials: TrialView[] = ranked.map((r) => {
        const run = runByDir.get(join(sweep.found.dir, r.id));
        const live = run ? summaryById.get(run.found.id) : undefined;
        // A failed trial that a rerun is training again shows as running.
        if (r.status === 'failed' && live?.status === 'running') return liveTrial(live, run!, metric.name, r.parameters);
        return {
          rank: r.status === 'ok' ? ++rank : null, id: r.id, run: run?.found.id ?? null, parameters: r.parameters,
          metric: r.metric, status: r.status, seconds: r.seconds, steps: r.steps ?? null, plannedSteps: r.plannedSteps ?? null,
          ...(r.error !== undefined ? { error: r.error } : {}),
        };
      });
      const keys = new Set<string>();
      for (const t of trials) for (const k of Object.keys(t.parameters)) keys.add(k);
      // Trials with a run folder but no record yet: training now (or killed mid-way).
      for (const run of runByDir.values()) {
        if (dirname(run.found.dir) !== sweep.found.dir || sweep.records.byId.has(basename(run.found.dir))) continue;
        const live = summaryById.get(run.found.id);
        const parameters = Object.fromEntries([...keys].map((k) => [k, valueAt(run.config.value, k)]).filter(([, v]) => v !== undefined));
        if (live) trials.push(liveTrial(live, run, metric.name, parameters));
      }
      const running = trials.some((t) => t.status === 'running');
      // Every trial recorded (a failed one too: the sweep went on past it).
      const finished = sweep.summary.total !== null && records.length >= sweep.summary.total;
      return {
        id: sweep.found.id, path: sweep.found.path, name: sweep.summary.name ?? basename(sweep.found.dir), metric,
        total: sweep.summary.total, status: running ? 'running' : finished ? 'finished' : 'incomplete', parameters: [...keys], trials,
      };
    }).sort((a, b) => a.id.localeCompare(b.id));
  }
}

/** A trial still training (or left unfinished): its parameters from the record or its config, its metric so far. */
function liveTrial(live: RunSummary, run: RunEntry, metricName: string, parameters: Record<string, unknown>): TrialView {
  const lastWithMetric = run.metrics.lines.findLast((l) => typeof (l as unknown as Record<string, unknown>)[metricName] === 'number');
  return {
    rank: null, id: basename(run.found.dir), run: live.id, parameters,
    metric: lastWithMetric ? ((lastWithMetric as unknown as Record<string, number>)[metricName] ?? null) : null,
    status: live.status === 'running' ? 'running' : 'stalled', seconds: null, steps: live.step, plannedSteps: live.steps,
  };
}

/** The value at a dotted key path (`train.optimizer.lr`) of a resolved experiment. */
function valueAt(config: Record<string, any>, key: string): unknown {
  let value: unknown = config;
  for (const part of key.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
