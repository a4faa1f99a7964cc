/** A run folder's loss.svg, drawn from its metrics.jsonl. */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { lossChartSvg } from './charts.js';
import { readMetrics } from './metrics.js';

/** Writes `<outDir>/loss.svg` from `<outDir>/metrics.jsonl` (atomically) and returns its path. */
export function writeRunChart(outDir: string): string {
  const lines = readMetrics(join(outDir, 'metrics.jsonl'));
  const svgPath = join(outDir, 'loss.svg');
  writeFileAtomic(svgPath, new TextEncoder().encode(lossChartSvg(lines, `${runName(outDir)} — loss`)));
  return svgPath;
}

/** The experiment's name from config.json, else the folder's name. */
function runName(outDir: string): string {
  try {
    const name = (JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8')) as { name?: unknown }).name;
    if (typeof name === 'string' && name !== '') return name;
  } catch {
    // No readable config.json: fall back to the folder's name.
  }
  return basename(outDir);
}
