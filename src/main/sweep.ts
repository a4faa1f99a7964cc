/**
 * Hyperparameter sweeps (SPEC §7): every trial is the base experiment with the trial's
 * parameters applied, trained in its own run folder inside the sweep folder. The sweep folder
 * keeps `trials.jsonl` (one line per finished trial, appended) and `summary.md` + `summary.svg`
 * (rewritten after every trial), so an interrupted sweep reruns only what has not succeeded.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { barChartSvg, formatNumber, readMetrics } from './charts.js';
import { firstLine, InputError, RunError } from './errors.js';
import { applyOverride, parseExperiment, readMappingFile, type Experiment } from './experiment.js';
import { writeFileAtomic } from './safetensors.js';
import { expandTrials, loadSweep, type SweepSpec } from './sweep-file.js';
import { train, type MetricsLine } from './trainer.js';

export interface SweepOptions {
  /** Trials trained at once (default 1); the cores are split between them. */
  parallel?: number;
  /** The sweep folder (default: the sweep file's output.dir). */
  outDir?: string;
  onNotice?: (text: string) => void;
  /** Stops the running trials after their current step; they are not recorded, so a rerun retries them. */
  stopSignal?: AbortSignal;
}

/** One line of trials.jsonl. */
export interface TrialRecord {
  id: string;
  parameters: Record<string, unknown>;
  /** The final value of the sweep's metric; null when the trial failed. */
  metric: number | null;
  status: 'ok' | 'failed';
  error?: string;
  seconds: number;
}

export interface SweepSummary {
  name: string;
  outDir: string;
  metric: SweepSpec['metric'];
  /** How many trials the sweep has. */
  total: number;
  /** Every trial of the sweep that has finished (in this run or an earlier one), in trial order. */
  trials: TrialRecord[];
  /** The best 'ok' trial, or null when none succeeded. */
  best: TrialRecord | null;
  /** Trials trained by this call, and trials skipped because an earlier run finished them. */
  ran: number;
  skipped: number;
  status: 'completed' | 'interrupted';
}

interface PlannedTrial {
  index: number;
  id: string;
  parameters: Record<string, unknown>;
  dir: string;
}

export const TRIALS_FILE = 'trials.jsonl';
export const SUMMARY_FILE = 'summary.md';
export const SUMMARY_CHART_FILE = 'summary.svg';

export async function runSweep(file: string, opts: SweepOptions = {}): Promise<SweepSummary> {
  const spec = loadSweep(file);
  const parallel = opts.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1) throw new InputError(`--parallel: expected a positive integer, got ${parallel}`);
  const outDir = resolve(opts.outDir ?? spec.output.dir);
  const notice = opts.onNotice ?? (() => undefined);

  const allTrials = planTrials(spec, outDir);
  mkdirSync(outDir, { recursive: true });
  const trialsPath = join(outDir, TRIALS_FILE);
  const finished = readTrialRecords(trialsPath, notice);
  const pending = allTrials.filter((trial) => finished.get(trial.id)?.status !== 'ok');
  const skipped = allTrials.length - pending.length;

  // Fewer trials left than slots: give the cores to the trials there are.
  const slots = Math.min(parallel, Math.max(1, pending.length));
  const workersPerTrial = Math.max(1, Math.floor(availableParallelism() / slots));
  notice(
    `sweep ${spec.name}: ${allTrials.length} trials` +
      (skipped > 0 ? `, ${skipped} already done` : '') +
      (pending.length > 0 ? `; running ${pending.length}, ${slots} at a time` : '') +
      (pending.length > 0 && !('train.workers' in spec.parameters) ? ` with ${workersPerTrial} worker${workersPerTrial === 1 ? '' : 's'} each` : '') +
      `; folder ${outDir}`,
  );

  const errorsThisRun: unknown[] = [];
  let ran = 0;
  let interrupted = false;
  const writeSummary = (): void => writeSummaryFiles(spec, outDir, allTrials, finished);
  const queue = [...pending];
  const runNext = async (): Promise<void> => {
    while (queue.length > 0 && !opts.stopSignal?.aborted) {
      const trial = queue.shift()!;
      const position = `[${trial.index + 1}/${allTrials.length}] ${trial.id}`;
      notice(`${position} ${describeParameters(trial.parameters)}`);
      const outcome = await runTrial(spec, trial, workersPerTrial, opts.stopSignal, (text) => notice(`${position}: ${text}`));
      if (outcome === 'interrupted') {
        interrupted = true;
        continue;
      }
      ran++;
      if (outcome.error !== undefined) errorsThisRun.push(outcome.error);
      const { record } = outcome;
      // One write per line, so a crash cannot interleave or half-write two records.
      appendFileSync(trialsPath, JSON.stringify(record) + '\n');
      finished.set(record.id, record);
      writeSummary();
      const result = record.status === 'ok' ? `${spec.metric.name} ${formatNumber(record.metric!)}` : `failed: ${record.error}`;
      notice(`${position} ${result} (${record.seconds.toFixed(1)}s)`);
    }
  };
  await Promise.all(Array.from({ length: slots }, runNext));
  writeSummary();
  interrupted ||= queue.length > 0;

  const trials = allTrials.map((trial) => finished.get(trial.id)).filter((r): r is TrialRecord => r !== undefined);
  const ranked = rankTrials(trials, spec.metric.goal);
  if (!interrupted && !trials.some((r) => r.status === 'ok')) throw everyTrialFailed(trials.length, trialsPath, errorsThisRun);
  return {
    name: spec.name, outDir, metric: spec.metric, total: allTrials.length, trials, best: ranked[0]?.status === 'ok' ? ranked[0] : null,
    ran, skipped, status: interrupted ? 'interrupted' : 'completed',
  };
}

/** The trials in expansion order, each with a stable id: its position and a hash of its parameters. */
function planTrials(spec: SweepSpec, outDir: string): PlannedTrial[] {
  const expanded = expandTrials(spec);
  const digits = Math.max(3, String(expanded.length).length);
  return expanded.map((parameters, index) => {
    const id = `trial-${String(index + 1).padStart(digits, '0')}-${parameterHash(parameters)}`;
    return { index, id, parameters, dir: join(outDir, id) };
  });
}

function parameterHash(parameters: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.keys(parameters).sort().map((key) => [key, parameters[key]]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 6);
}

/** The records of trials.jsonl by id: an 'ok' line wins over 'failed' ones, else the latest line counts. */
function readTrialRecords(path: string, notice: (text: string) => void): Map<string, TrialRecord> {
  const records = new Map<string, TrialRecord>();
  if (!existsSync(path)) return records;
  readFileSync(path, 'utf8').split('\n').forEach((text, i) => {
    if (text.trim() === '') return;
    let record: TrialRecord;
    try {
      record = JSON.parse(text) as TrialRecord;
    } catch {
      notice(`warning: ${path}: line ${i + 1} is not JSON (a crash mid-write?); ignoring it`);
      return;
    }
    if (typeof record.id !== 'string') return;
    if (records.get(record.id)?.status !== 'ok' || record.status === 'ok') records.set(record.id, record);
  });
  return records;
}

type TrialOutcome = 'interrupted' | { record: TrialRecord; error?: unknown };

async function runTrial(
  spec: SweepSpec, trial: PlannedTrial, workers: number, stopSignal: AbortSignal | undefined, notice: (text: string) => void,
): Promise<TrialOutcome> {
  const started = performance.now();
  const seconds = (): number => Math.round((performance.now() - started) / 100) / 10;
  const failed = (error: unknown): TrialOutcome => ({
    record: { id: trial.id, parameters: trial.parameters, metric: null, status: 'failed', error: firstLine(error), seconds: seconds() },
    error,
  });
  try {
    const exp = trialExperiment(spec, trial, workers);
    const result = await train(exp, { file: spec.base, onNotice: notice, stopSignal });
    if (result.status === 'interrupted') return 'interrupted';
    const metric = finalMetric(readMetrics(join(trial.dir, 'metrics.jsonl')), spec.metric.name);
    if (typeof metric === 'string') return failed(new RunError(metric));
    return { record: { id: trial.id, parameters: trial.parameters, metric, status: 'ok', seconds: seconds() } };
  } catch (err) {
    // Any failure, bad input or not, belongs to this trial; the sweep goes on with the others.
    return failed(err);
  }
}

/**
 * The base experiment with the trial's parameters applied before validation, so a bad value is
 * reported against the base file and key. The run goes to the trial's folder; unless the trial
 * sets train.workers, it gets its share of the cores (never more workers than sequences).
 */
function trialExperiment(spec: SweepSpec, trial: PlannedTrial, workers: number): Experiment {
  const raw = readMappingFile(spec.base);
  // JSON is YAML, so each value reaches the experiment with its type.
  for (const [key, value] of Object.entries(trial.parameters)) applyOverride(raw, `${key}=${JSON.stringify(value)}`, spec.base);
  const exp = parseExperiment(raw, spec.base, dirname(spec.base));
  return {
    ...exp,
    name: 'name' in trial.parameters ? exp.name : `${spec.name}-${trial.id}`,
    train: { ...exp.train, workers: 'train.workers' in trial.parameters ? exp.train.workers : Math.min(workers, exp.train.batch) },
    output: { dir: trial.dir },
  };
}

/** The run's final value of `name` (valLoss: from the last eval line), or why there is none. */
function finalMetric(lines: MetricsLine[], name: string): number | string {
  const line = name === 'valLoss' ? lines.findLast((l) => l.valLoss !== undefined) : lines.at(-1);
  const value = (line as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) return `metrics.jsonl has no ${name}${name === 'valLoss' ? ' (does the run have a validation split?)' : ''}`;
  // JSON writes NaN and ±Infinity as null.
  if (typeof value !== 'number' || !Number.isFinite(value)) return `the final ${name} is ${String(value ?? 'NaN')}`;
  return value;
}

function everyTrialFailed(count: number, trialsPath: string, errorsThisRun: unknown[]): Error {
  // The same bad input in every trial is the base experiment's fault, not the trials': exit 2.
  const [first] = errorsThisRun;
  if (
    first instanceof InputError &&
    errorsThisRun.length === count &&
    errorsThisRun.every((e) => e instanceof InputError && e.message === first.message)
  ) {
    return new InputError(`${first.message} (every trial failed this way)`);
  }
  return new RunError(`all ${count} trials failed; see ${trialsPath}`);
}

/** 'ok' trials best first (ties keep trial order), then the failed ones in trial order. */
function rankTrials(records: TrialRecord[], goal: SweepSpec['metric']['goal']): TrialRecord[] {
  const sign = goal === 'minimize' ? 1 : -1;
  const ok = records.filter((r) => r.status === 'ok').sort((a, b) => sign * (a.metric! - b.metric!));
  return [...ok, ...records.filter((r) => r.status !== 'ok')];
}

function describeParameters(parameters: Record<string, unknown>): string {
  return Object.entries(parameters).map(([key, value]) => `${key}=${formatValue(value)}`).join(' ');
}

function formatValue(value: unknown): string {
  return typeof value === 'number' ? formatNumber(value) : String(value);
}

/** The value as `--set` reads it back: strings bare, everything else as JSON (all digits of a number). */
function formatExact(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Quoted for a POSIX shell when it holds anything but plain path and number characters. */
function shellWord(text: string): string {
  return /^[\w.,:=+\-/]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Relative to the current folder when it lies below it, else absolute. */
function displayPath(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere.startsWith('..') ? path : fromHere;
}

/** A markdown table cell: no line breaks, and `|` would end the cell. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

function writeSummaryFiles(spec: SweepSpec, outDir: string, allTrials: PlannedTrial[], finished: Map<string, TrialRecord>): void {
  const records = allTrials.map((trial) => finished.get(trial.id)).filter((r): r is TrialRecord => r !== undefined);
  const ranked = rankTrials(records, spec.metric.goal);
  const best = ranked[0]?.status === 'ok' ? ranked[0] : null;
  const { name: metric, goal } = spec.metric;
  const keys = Object.keys(spec.parameters);
  const failures = records.filter((r) => r.status === 'failed');

  const chart = barChartSvg(
    allTrials.filter((t) => finished.has(t.id)).map((t) => {
      const record = finished.get(t.id)!;
      return { label: t.id, value: record.metric, highlight: record === best };
    }),
    { title: `${spec.name}: ${metric} per trial (${goal === 'minimize' ? 'lower' : 'higher'} is better)`, yLabel: metric },
  );
  writeFileAtomic(join(outDir, SUMMARY_CHART_FILE), new TextEncoder().encode(chart));

  const md: string[] = [
    `# Sweep \`${spec.name}\``,
    '',
    `- sweep file: \`${relative(outDir, resolve(spec.file))}\`, base experiment: \`${relative(outDir, spec.base)}\``,
    `- method: ${spec.method}, ${allTrials.length} trials; ${records.length - failures.length} ok, ${failures.length} failed` +
      (records.length < allTrials.length ? `, ${allTrials.length - records.length} not finished yet` : ''),
    `- metric: \`${metric}\` (${goal})`,
    '',
    '## Best',
    '',
  ];
  if (best) {
    const sets = keys.map((key) => `--set ${shellWord(`${key}=${formatExact(best.parameters[key])}`)}`).join(' ');
    md.push(
      `[\`${best.id}\`](${best.id}/): ${metric} **${formatNumber(best.metric!)}**`,
      '',
      '| parameter | value |',
      '|---|---|',
      ...keys.map((key) => `| \`${key}\` | ${cell(formatExact(best.parameters[key]))} |`),
      '',
      'Train it again with:',
      '',
      '```sh',
      `recur train ${shellWord(displayPath(spec.base))} ${sets}`,
      '```',
    );
  } else {
    md.push('No trial has succeeded yet.');
  }
  md.push(
    '',
    `![${metric} per trial](${SUMMARY_CHART_FILE})`,
    '',
    '## Trials',
    '',
    `| rank | trial | ${keys.map((k) => `\`${k}\``).join(' | ')} | ${metric} | seconds | status |`,
    `|---:|---|${keys.map(() => '---|').join('')}---:|---:|---|`,
    ...ranked.map((r, i) => {
      const rank = r.status === 'ok' ? String(i + 1) : '–';
      const values = keys.map((key) => cell(formatValue(r.parameters[key])));
      const value = r.metric === null ? '–' : formatNumber(r.metric);
      const trial = r.status === 'ok' ? `[${r.id}](${r.id}/)` : r.id;
      return `| ${rank} | ${trial} | ${values.join(' | ')} | ${value} | ${r.seconds.toFixed(1)} | ${r.status} |`;
    }),
  );
  if (failures.length > 0) {
    md.push('', '## Failures', '', ...failures.map((r) => `- \`${r.id}\`: ${cell(r.error ?? 'unknown error')}`));
  }
  writeFileAtomic(join(outDir, SUMMARY_FILE), new TextEncoder().encode(md.join('\n') + '\n'));
}
