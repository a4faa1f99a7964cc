/**
 * recur's programmatic API: the same operations as the CLI, typed, for scripts and notebooks.
 *
 *   import { train, loadExperiment } from 'recur';
 *   const result = await train(loadExperiment('experiments/default.yaml'), { file: 'experiments/default.yaml' });
 *
 * Errors are InputError (bad input: what the CLI reports with exit 2) or RunError (exit 1).
 */
export { train, type TrainOptions, type TrainResult, type MetricsLine } from './trainer.js';
export { loadExperiment, parseExperiment, type Experiment } from './experiment.js';
export { evaluateCheckpoint, type EvalOptions, type EvalResult } from './evaluate.js';
export { sampleText, type SampleOptions } from './sample.js';
export { loadCheckpoint, saveCheckpoint, type CheckpointData } from './checkpoint.js';
export { runSweep, type SweepOptions, type SweepSummary } from './sweep.js';
export { runBench, type BenchOptions, type BenchReport } from './bench.js';
export { InputError, RunError } from './errors.js';
export type { ModelConfig } from '../shared/model-config.js';
