/**
 * A run's folder (SPEC §5) and the names of its files: config.json, metrics.jsonl,
 * checkpoint.safetensors, best.safetensors and loss.svg. The trainer writes them through a
 * RunFolder; sweeps and agents read them by these names.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadCheckpoint, saveCheckpoint, type CheckpointData } from '../checkpoint/checkpoint.js';
import { firstLine } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { lossChartSvg } from '../report/charts.js';
import { readMetrics, type MetricsLine } from '../report/metrics.js';

/** The resolved experiment and the kernels the run chose. */
export const CONFIG_FILE = 'config.json';
/** One JSON line per logged step. */
export const METRICS_FILE = 'metrics.jsonl';
/** The last checkpoint: what --resume continues from. */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';
/** The weights of the evaluated step with the lowest validation loss, beside the checkpoint. */
export const BEST_FILE = 'best.safetensors';
/** The loss curves, drawn from metrics.jsonl when the run ends. */
export const CHART_FILE = 'loss.svg';

export class RunFolder {
  readonly checkpointPath: string;
  readonly bestPath: string;
  readonly metricsPath: string;
  /** The step of the last checkpoint written or resumed from; null while there is none. */
  private checkpointStep: number | null = null;

  /** Only names the files; nothing is made before open(). */
  constructor(readonly dir: string, private readonly onNotice?: (text: string) => void) {
    this.checkpointPath = join(dir, CHECKPOINT_FILE);
    this.bestPath = join(dir, BEST_FILE);
    this.metricsPath = join(dir, METRICS_FILE);
  }

  /**
   * Makes the folder and writes config.json. A run resumed from the checkpoint of `resumedStep`
   * keeps the metrics lines up to that step and rewrites what came after (a torn last line of a
   * killed run included); a fresh run (null) starts metrics.jsonl empty and removes an old run's
   * best.safetensors, which must not pass for this one's.
   */
  open(config: object, resumedStep: number | null): void {
    mkdirSync(this.dir, { recursive: true });
    if (resumedStep === null) rmSync(this.bestPath, { force: true });
    writeFileAtomic(join(this.dir, CONFIG_FILE), new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n'));
    const kept = resumedStep === null ? [] : readMetrics(this.metricsPath).filter((line) => line.step <= resumedStep);
    writeFileSync(this.metricsPath, kept.map((line) => JSON.stringify(line) + '\n').join(''));
    this.checkpointStep = resumedStep;
  }

  appendMetrics(line: MetricsLine): void {
    writeFileSync(this.metricsPath, JSON.stringify(line) + '\n', { flag: 'a' });
  }

  /** Whether a checkpoint has been written or resumed from. */
  get hasCheckpoint(): boolean {
    return this.checkpointStep !== null;
  }

  /**
   * Saves checkpoint.safetensors (atomically). A failure is a warning, not the end of the run:
   * the previous checkpoint is intact; returns whether it was written.
   */
  writeCheckpoint(step: number, data: CheckpointData): boolean {
    try {
      saveCheckpoint(this.checkpointPath, data);
      this.checkpointStep = step;
      return true;
    } catch (err) {
      const kept = this.hasCheckpoint ? `the previous checkpoint ${this.checkpointPath} is intact` : 'no checkpoint has been written yet';
      this.onNotice?.(`warning: could not write the checkpoint at step ${step} (${firstLine(err)}); ${kept}`);
      return false;
    }
  }

  /** Which checkpoint survives, for the message of a run that fails. */
  lastGood(): string {
    return this.hasCheckpoint ? `the last good checkpoint is ${this.checkpointPath} (step ${this.checkpointStep})` : 'no checkpoint was written';
  }

  writeBest(data: CheckpointData): void {
    saveCheckpoint(this.bestPath, data);
  }

  readBest(): CheckpointData | null {
    return existsSync(this.bestPath) ? loadCheckpoint(this.bestPath) : null;
  }

  /** Writes loss.svg from metrics.jsonl (atomically) and returns its path. */
  writeChart(): string {
    const svgPath = join(this.dir, CHART_FILE);
    writeFileAtomic(svgPath, new TextEncoder().encode(lossChartSvg(readMetrics(this.metricsPath), `${this.runName()} — loss`)));
    return svgPath;
  }

  /** The experiment's name from config.json, else the folder's name. */
  private runName(): string {
    try {
      const name = (JSON.parse(readFileSync(join(this.dir, CONFIG_FILE), 'utf8')) as { name?: unknown }).name;
      if (typeof name === 'string' && name !== '') return name;
    } catch {
      // No readable config.json: fall back to the folder's name.
    }
    return basename(this.dir);
  }
}
