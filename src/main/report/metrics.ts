/** The lines of a run's metrics.jsonl (SPEC §6): the trainer writes them; resume, charts and sweeps read them. */
import { existsSync, readFileSync } from 'node:fs';
import { readJsonLines } from '../data/read.js';
import type { Scores } from '../data/scores.js';

export interface MetricsLine {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  elapsedSec: number;
  /**
   * Evaluation lines. With train.evalBatches, valLoss is the loss on a fixed sample of the
   * validation split, except on the run's last line, where it is the whole split's and
   * valLossSample is the sample's (when the schedule or early stopping used it there).
   */
  valLoss?: number;
  valLossSample?: number;
  /** Classification (sequences): the share of validation sequences whose argmax is their label. */
  valAccuracy?: number;
  /** series and value sequences: errors in the data's own units (levels, when differenced). */
  valMse?: number;
  valMae?: number;
  /** Quantile models: the share of validation targets inside the outer quantiles. */
  valCoverage?: number;
}

/** An evaluation's scores under their metrics.jsonl names. */
export function valMetrics(scores: Scores | null): Pick<MetricsLine, 'valAccuracy' | 'valMse' | 'valMae' | 'valCoverage'> {
  if (!scores) return {};
  const out: Pick<MetricsLine, 'valAccuracy' | 'valMse' | 'valMae' | 'valCoverage'> = {};
  if (scores.accuracy !== undefined) out.valAccuracy = scores.accuracy;
  if (scores.mse !== undefined) out.valMse = scores.mse;
  if (scores.mae !== undefined) out.valMae = scores.mae;
  if (scores.coverage !== undefined) out.valCoverage = scores.coverage;
  return out;
}

/**
 * The metrics lines of a metrics.jsonl; blank lines and a half-written last line (a run killed
 * mid-write) are skipped. The one reader: a resumed run keeps what this returns.
 */
export function readMetrics(path: string): MetricsLine[] {
  if (!existsSync(path)) return [];
  return parseMetrics(readFileSync(path, 'utf8'));
}

/** The metrics lines of metrics.jsonl text (or a piece of it made of whole lines). */
export function parseMetrics(jsonl: string): MetricsLine[] {
  // A run killed mid-write leaves a partial line; only what was complete counts.
  const complete = readJsonLines(jsonl, 'metrics.jsonl', () => {});
  return Array.from(complete, (l) => l.value as MetricsLine);
}
