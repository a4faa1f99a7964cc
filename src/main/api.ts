/**
 * recur's programmatic API: the same operations as the CLI, typed, for scripts and notebooks.
 *
 *   import { train, loadExperiment } from 'recur';
 *   const result = await train(loadExperiment('experiments/default.yaml'), { file: 'experiments/default.yaml' });
 *
 * Errors are InputError (bad input: what the CLI reports with exit 2) or RunError (exit 1).
 */
export { train, type TrainOptions, type TrainResult } from './training/trainer.js';
export type { MetricsLine } from './report/metrics.js';
export { loadExperiment, parseExperiment, type Experiment } from './experiment/experiment.js';
export { evaluateCheckpoint, type EvalOptions, type EvalResult } from './inference/evaluate.js';
export { sampleText, type SampleOptions } from './inference/sample.js';
export { loadModel, Model, type ModelOptions, type Forecast, type Prediction, type SequenceInput, type TextSampleOptions } from './inference/predict.js';
export { predictFile, type PredictFileOptions } from './inference/predict-file.js';
export { loadCheckpoint, saveCheckpoint, type CheckpointData } from './checkpoint/checkpoint.js';
export { runSweep, type SweepOptions, type SweepSummary } from './sweep/sweep.js';
export { runBench, type BenchOptions } from './bench/bench.js';
export type { BenchReport, BenchResult } from './bench/results.js';
export { InputError, RunError } from './errors.js';
export type { ModelConfig } from '../shared/model/model-config.js';
export type { DataMeta, SeriesMeta, SequencesMeta } from './data/metadata.js';
export type { Scores } from './data/scores.js';
