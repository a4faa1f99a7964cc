/** A sweep's summary.md (ranked table, best parameters) and summary.svg (the metric per trial). */
import { join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { barChartSvg, formatLabel } from '../report/charts.js';
import type { SweepSpec } from '../experiment/sweep-file.js';
import { stepsSaved } from './asha.js';
import type { PlannedTrial, TrialRecord } from './records.js';

export const SUMMARY_FILE = 'summary.md';
export const SUMMARY_CHART_FILE = 'summary.svg';

export function rankTrials(records: TrialRecord[], goal: SweepSpec['metric']['goal']): TrialRecord[] {
  const sign = goal === 'minimize' ? 1 : -1;
  const ranked = (status: TrialRecord['status']): TrialRecord[] =>
    records.filter((r) => r.status === status).sort((a, b) => sign * (a.metric! - b.metric!));
  return [...ranked('ok'), ...ranked('stopped'), ...records.filter((r) => r.status === 'failed')];
}

export function describeParameters(parameters: Record<string, unknown>): string {
  return Object.entries(parameters).map(([key, value]) => `${key}=${formatValue(value)}`).join(' ');
}

function formatValue(value: unknown): string {
  return typeof value === 'number' ? formatLabel(value) : String(value);
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

export function writeSummaryFiles(spec: SweepSpec, outDir: string, allTrials: PlannedTrial[], finished: Map<string, TrialRecord>): void {
  const records = allTrials.map((trial) => finished.get(trial.id)).filter((r): r is TrialRecord => r !== undefined);
  const ranked = rankTrials(records, spec.metric.goal);
  const best = ranked[0]?.status === 'ok' ? ranked[0] : null;
  const { name: metric, goal } = spec.metric;
  const keys = Object.keys(spec.parameters);
  const failures = records.filter((r) => r.status === 'failed');
  const stopped = records.filter((r) => r.status === 'stopped');
  const early = spec.earlyTerminate;

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
    `- method: ${spec.method}, ${allTrials.length} trials; ${records.length - failures.length - stopped.length} ok, ` +
      (early ? `${stopped.length} stopped early, ` : '') + `${failures.length} failed` +
      (records.length < allTrials.length ? `, ${allTrials.length - records.length} not finished yet` : ''),
    `- metric: \`${metric}\` (${goal})`,
    ...(early ? [earlyLine(early, records)] : []),
    '',
    '## Best',
    '',
  ];
  if (best) {
    const sets = keys.map((key) => `--set ${shellWord(`${key}=${formatExact(best.parameters[key])}`)}`).join(' ');
    md.push(
      `[\`${best.id}\`](${best.id}/): ${metric} **${formatLabel(best.metric!)}**`,
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
    `| rank | trial | ${keys.map((k) => `\`${k}\``).join(' | ')} | ${metric} |${early ? ' steps |' : ''} seconds | status |`,
    `|---:|---|${keys.map(() => '---|').join('')}---:|${early ? '---:|' : ''}---:|---|`,
    ...ranked.map((r, i) => {
      const rank = r.status === 'ok' ? String(i + 1) : '–';
      const values = keys.map((key) => cell(formatValue(r.parameters[key])));
      const value = r.metric === null ? '–' : formatLabel(r.metric);
      const trial = r.status === 'failed' ? r.id : `[${r.id}](${r.id}/)`;
      const steps = early ? ` ${r.steps ?? '–'} |` : '';
      return `| ${rank} | ${trial} | ${values.join(' | ')} | ${value} |${steps} ${r.seconds.toFixed(1)} | ${r.status} |`;
    }),
  );
  if (failures.length > 0) {
    md.push('', '## Failures', '', ...failures.map((r) => `- \`${r.id}\`: ${cell(r.error ?? 'unknown error')}`));
  }
  writeFileAtomic(join(outDir, SUMMARY_FILE), new TextEncoder().encode(md.join('\n') + '\n'));
}

/** What early termination did: the rule, the trials it stopped and the training steps it saved. */
function earlyLine(early: NonNullable<SweepSpec['earlyTerminate']>, records: TrialRecord[]): string {
  const { saved, planned } = stepsSaved(records);
  const stopped = records.filter((r) => r.status === 'stopped').length;
  const share = planned > 0 ? ` (${Math.round((100 * saved) / planned)}%)` : '';
  return `- early termination: ASHA (minSteps ${early.minSteps}, eta ${early.eta}${early.maxSteps === null ? '' : `, maxSteps ${early.maxSteps}`}): ` +
    `${stopped} trial${stopped === 1 ? '' : 's'} stopped, saved ${saved} of ${planned} steps${share}`;
}
