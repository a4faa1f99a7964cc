/**
 * recur/web, the browser runtime (SPEC §10): `loadModel(bytes | URL)` gives the Model Node's
 * loadModel gives — predict, forecast and sample — on the same WebAssembly kernels, so a model's
 * numbers in a page equal Node's bit for bit. Imports nothing of Node (the bundle,
 * scripts/build-web.mjs, fails if anything does), carries its kernels inline, and runs them on
 * a memory that is not shared, so a page needs no cross-origin isolation.
 *
 *   import { loadModel } from 'recur/web';
 *   const model = await loadModel(new URL('co2.safetensors', import.meta.url));
 *   const [next] = model.forecast(rows);
 */
import { decodeCheckpoint } from '../main/checkpoint/checkpoint-codec.js';
import { Model } from '../main/inference/model.js';

export { Model, type Forecast, type Prediction, type SequenceInput, type TextSampleOptions } from '../main/inference/model.js';
export { InputError } from '../main/errors.js';

export interface WebModelOptions {
  /** Sequences per forward pass (default 32). */
  batch?: number;
  /** 'wasm' (default), or 'ts' for the TypeScript reference kernels. */
  kernels?: 'wasm' | 'ts';
  /** What error messages call the checkpoint (default: its URL, or `checkpoint` for bytes). */
  name?: string;
}

/** A checkpoint's bytes, or where to fetch them. */
export type ModelSource = Uint8Array | ArrayBuffer | URL | string;

/**
 * A checkpoint (`.safetensors`, as `recur train` writes it) as a Model on this thread: a series
 * or sequences model predicts, a text model samples. A URL (or string) is fetched; bytes are used
 * as they are.
 */
export async function loadModel(source: ModelSource, opt: WebModelOptions = {}): Promise<Model> {
  let bytes: Uint8Array, name: string;
  if (typeof source === 'string' || source instanceof URL) {
    name = opt.name ?? String(source);
    const response = await fetch(source);
    if (!response.ok) throw new Error(`${name}: HTTP ${response.status} ${response.statusText}`.trim());
    bytes = new Uint8Array(await response.arrayBuffer());
  } else {
    name = opt.name ?? 'checkpoint';
    bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
  }
  const kernels = opt.kernels ?? 'wasm';
  if (kernels !== 'wasm' && kernels !== 'ts') throw new Error(`kernels: must be 'wasm' or 'ts' in a browser, got ${JSON.stringify(kernels)}`);
  return Model.fromCheckpoint(decodeCheckpoint(bytes, name), name, {
    kernels: { requested: kernels, kernels, why: opt.kernels ? 'requested' : 'the browser runs wasm' },
    batch: opt.batch,
  });
}
