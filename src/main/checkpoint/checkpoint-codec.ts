/**
 * The checkpoint codec, bytes ⇄ CheckpointData, with no file access (the browser runtime decodes
 * with it; checkpoint.ts reads and writes files). Checkpoints (SPEC §3): one safetensors file holding the parameters under PyTorch state_dict
 * names, the optimizer state as `optim.<slot>.<parameter name>`, and the config, experiment and
 * training state as JSON metadata. A PyTorch state_dict saved with safetensors loads here too,
 * with or without recur's metadata.
 */
import { paramLayout, tensorViews, type ParamLayout } from '../../shared/model/layout.js';
import * as z from 'zod';
import { CELLS, directionSuffixes, gateCount, hasHiddenBias, OUTPUT_MODES, RECURRENCES, type ModelConfig } from '../../shared/model/model-config.js';
import { inputError } from '../errors.js';
import { bidirectionalProblem, outputRecurrenceProblem } from '../experiment/schema.js';
import { firstIssueError, metadataSchemas as must } from '../experiment/schema-blocks.js';
import { decodeSafetensors, encodeSafetensors, type DecodedSafetensors, type DecodedTensor, type TensorToEncode } from './safetensors-codec.js';
import type { Vocab } from '../data/dataset.js';
import { UNKNOWN_TOKEN } from '../data/vocabulary.js';
import { TEXT_TOKENS } from '../experiment/options.js';
import { decodeDataMeta, encodeDataMeta, metaSizes, type DataMeta } from '../data/metadata.js';

export interface CheckpointData {
  cfg: ModelConfig;
  /** Text models only: the characters in index order (a string), or a word model's tokens (`<unk>` first). */
  vocab?: Vocab;
  /** Word models: the text is lowercased before it is tokenised. */
  lowercase?: boolean;
  /** The parameters, laid out by `paramLayout(cfg)`. */
  params: Float32Array;
  /** Optimizer slot name (e.g. `m`, `v`) → a block in the same layout as `params`. */
  optim: Map<string, Float32Array>;
  experiment?: unknown;
  train?: Record<string, unknown>;
  /** `series` and `sequences` models: what prediction needs besides the weights (SPEC §3). */
  data?: DataMeta;
  /**
   * Stateful text: the streams' carried states, `h_l{k}` (and `c_l{k}` for an LSTM) → [streams, H]
   * in batch-row order, saved as `optim.carried.<name>` so PyTorch's recipe (drop optim.*) holds.
   */
  carried?: Map<string, Float32Array>;
}

export interface LoadCheckpointOptions {
  /** Optimizer slots the caller needs, e.g. `['m', 'v']` to resume Adam; a missing one is bad input. */
  requiredSlots?: readonly string[];
}

const OPTIM_PREFIX = 'optim.';
const CONFIG_KEY = '__metadata__.config';
const biasHhName = (layer: number, direction = ''): string => `rnn.bias_hh_l${layer}${direction}`;
/** The `optim.` slot holding carried states rather than an optimizer's per-parameter state. */
const CARRIED_SLOT = 'carried';
const CARRIED_NAME = /^[hc]_l\d+$/;

/** `__metadata__.config`: each field optional, since a missing one is inferred from the tensors. */
const configMetadataSchema = must.section({
  cell: must.oneOf(CELLS).optional(),
  inputSize: must.positiveInt().optional(),
  hidden: must.positiveInt().optional(),
  layers: must.positiveInt().optional(),
  outputSize: must.positiveInt().optional(),
  recurrence: must.oneOf(RECURRENCES).optional(),
  outputs: must.oneOf(OUTPUT_MODES).optional(),
  /** Token models: the embedding width E (embedding.weight is [inputSize, E]). */
  embedding: must.positiveInt().optional(),
  /** The head's weight is embedding.weight (written twice, as PyTorch's state_dict has it). */
  tieWeights: must.boolean().optional(),
  bidirectional: z.boolean({ error: 'must be true or false' }).optional(),
  /** Text models: the characters in index order; word models (tokens 'word'): the tokens, an array. */
  vocab: z.union([z.string(), z.array(z.string())], { error: 'must be a string of characters, or an array of tokens, in index order' }).optional(),
  /** Absent: characters. */
  tokens: must.oneOf(TEXT_TOKENS).optional(),
  /** Word models: fold case before tokenising. */
  lowercase: must.boolean().optional(),
  /** Series with data.categorical: each column's embedding, `static.<column>.weight` [levels, width]. */
  categorical: z.array(must.section({ column: must.nonEmptyString(), levels: must.positiveInt(), width: must.positiveInt() }), { error: 'must be a list of {column, levels, width}' }).optional(),
});
type ConfigMetadata = z.output<typeof configMetadataSchema>;

// ---------------------------------------------------------------------------------------------
// Saving

export function encodeCheckpoint(data: CheckpointData): Uint8Array {
  const { cfg } = data;
  const layout = paramLayout(cfg);
  const biasSize = gateCount(cfg.cell) * cfg.hidden;
  const tensors: TensorToEncode[] = [];
  const params = tensorViews(layout, checkBlockSize(data.params, layout, 'params'));
  for (const spec of layout.tensors) {
    tensors.push({ name: spec.name, shape: spec.shape, data: params.get(spec.name)! });
    // PyTorch's second bias, zero since recur folds it into bias_ih (a GRU has its own, in the
    // layout); placed after bias_ih as in a state_dict so the file reads naturally.
    const [, layer, direction] = (hasHiddenBias(cfg.cell) ? null : /^rnn\.bias_ih_l(\d+)(_reverse)?$/.exec(spec.name)) ?? [];
    if (layer !== undefined) tensors.push({ name: biasHhName(Number(layer), direction), shape: [biasSize], data: new Float32Array(biasSize) });
  }
  const tiedHead = tiedHeadTensor(cfg, params);
  if (tiedHead) tensors.splice(tensors.findIndex((t) => t.name === 'head.bias'), 0, tiedHead);
  for (const [slot, block] of data.optim) {
    // The slot is everything between `optim.` and the next dot, so it cannot contain one.
    if (!/^[^.]+$/.test(slot)) throw new Error(`checkpoint: optimizer slot name ${JSON.stringify(slot)} must be non-empty and dot-free`);
    const views = tensorViews(layout, checkBlockSize(block, layout, `optim.${slot}`));
    for (const spec of layout.tensors) {
      tensors.push({ name: `${OPTIM_PREFIX}${slot}.${spec.name}`, shape: spec.shape, data: views.get(spec.name)! });
    }
  }
  for (const [name, state] of data.carried ?? []) {
    if (!CARRIED_NAME.test(name)) throw new Error(`checkpoint: carried state name ${JSON.stringify(name)} is not h_l<k> or c_l<k>`);
    tensors.push({ name: `${OPTIM_PREFIX}${CARRIED_SLOT}.${name}`, shape: [state.length / cfg.hidden, cfg.hidden], data: state });
  }

  const config: ConfigMetadata = {
    cell: cfg.cell,
    inputSize: cfg.inputSize,
    hidden: cfg.hidden,
    layers: cfg.layers,
    outputSize: cfg.outputSize,
    recurrence: cfg.recurrence,
    outputs: cfg.outputs,
  };
  if (cfg.embedding !== undefined) config.embedding = cfg.embedding;
  if (cfg.tieWeights) config.tieWeights = true;
  if (cfg.bidirectional) config.bidirectional = true;
  if (data.vocab !== undefined) {
    // A word model says so, and how its text is tokenised, beside its token list.
    if (typeof data.vocab !== 'string') Object.assign(config, { tokens: 'word', lowercase: data.lowercase ?? false });
    config.vocab = typeof data.vocab === 'string' ? data.vocab : [...data.vocab];
  }
  if (cfg.categorical?.length) config.categorical = cfg.categorical;
  const metadata: Record<string, string> = { config: JSON.stringify(config) };
  if (data.experiment !== undefined) metadata.experiment = JSON.stringify(data.experiment);
  if (data.train !== undefined) metadata.train = JSON.stringify(data.train);
  if (data.data !== undefined) metadata.data = encodeDataMeta(data.data);
  return encodeSafetensors(tensors, metadata);
}

/**
 * A tied model's head.weight: the embedding's data under the head's name, so the file is a
 * complete PyTorch state_dict (word_language_model's decoder.weight is encoder.weight). Null untied.
 */
function tiedHeadTensor(cfg: ModelConfig, params: Map<string, Float32Array>): TensorToEncode | null {
  if (!cfg.tieWeights) return null;
  return { name: TIED_HEAD, shape: [cfg.outputSize, cfg.hidden], data: params.get('embedding.weight')! };
}

const TIED_HEAD = 'head.weight';

/** A tied model's head.weight, when the file has one, is its embedding.weight bit for bit. */
function checkTiedHead(cfg: ModelConfig, tensors: Map<string, DecodedTensor>, embedding: Float32Array, file: string): void {
  const head = tensors.get(TIED_HEAD);
  if (!cfg.tieWeights || !head) return;
  checkShape(file, TIED_HEAD, head, [cfg.outputSize, cfg.hidden]);
  for (let i = 0; i < embedding.length; i++) {
    // Compared as float32, the precision the model keeps (an F64 file's values are rounded once).
    if (!Object.is(Math.fround(head.data[i]!), embedding[i])) {
      throw inputError(file, TIED_HEAD, `differs from embedding.weight at element ${i} (${head.data[i]} vs ${embedding[i]}); a tied model (config.tieWeights) has one matrix for both`);
    }
  }
}

function checkBlockSize(block: Float32Array, layout: ParamLayout, what: string): Float32Array {
  if (block.length < layout.size) throw new Error(`checkpoint: ${what} has ${block.length} elements, the layout needs ${layout.size}`);
  return block;
}

// ---------------------------------------------------------------------------------------------
// Loading

/** `loadCheckpoint` over bytes already in memory; `file` names them in error messages. */
export function decodeCheckpoint(bytes: Uint8Array, file: string, opts: LoadCheckpointOptions = {}): CheckpointData {
  return checkpointFromSafetensors(decodeSafetensors(bytes, file), file, opts);
}

/** A decoded safetensors file as a checkpoint; `file` names it in error messages. */
export function checkpointFromSafetensors(
  { tensors, metadata }: DecodedSafetensors,
  file: string,
  opts: LoadCheckpointOptions,
): CheckpointData {
  const { vocab, tokens, lowercase, ...configFields } = parseConfigMetadata(metadata.config, file);
  const cfg = completeConfig(configFields, tensors, file);
  if (vocab !== undefined) checkVocabMetadata(vocab, tokens ?? 'char', cfg, file);
  if (lowercase !== undefined && tokens !== 'word') throw inputError(file, `${CONFIG_KEY}.lowercase`, "only for a word model (tokens 'word')");
  const layout = paramLayout(cfg);
  const expectedNames = new Set(layout.tensors.map((spec) => spec.name));

  const params = new Float32Array(layout.size);
  const paramViews = tensorViews(layout, params);
  for (const spec of layout.tensors) {
    const tensor = tensors.get(spec.name);
    if (!tensor) {
      throw inputError(file, spec.name, `missing; the ${describeConfig(cfg)} model needs it with shape ${formatShape(spec.shape)}`);
    }
    checkShape(file, spec.name, tensor, spec.shape);
    paramViews.get(spec.name)!.set(tensor.data);
  }
  if (cfg.tieWeights) checkTiedHead(cfg, tensors, paramViews.get('embedding.weight')!, file);

  // PyTorch has two biases per layer where recur has one; their sum is the same model.
  // (A GRU's bias_hh is a parameter of its own, loaded above.)
  const biasHhNames = new Set<string>();
  for (let layer = 0; layer < cfg.layers && !hasHiddenBias(cfg.cell); layer++) for (const direction of directionSuffixes(cfg)) {
    const name = biasHhName(layer, direction);
    biasHhNames.add(name);
    const biasHh = tensors.get(name);
    if (!biasHh) continue;
    const biasIhName = `rnn.bias_ih_l${layer}${direction}`;
    checkShape(file, name, biasHh, [gateCount(cfg.cell) * cfg.hidden]);
    const biasIh = tensors.get(biasIhName)!.data;
    const bias = paramViews.get(biasIhName)!;
    // Summed in double precision, then rounded once, so F64 files lose nothing extra.
    for (let i = 0; i < bias.length; i++) bias[i] = biasIh[i]! + biasHh.data[i]!;
  }

  const slots = new Map<string, Map<string, DecodedTensor>>();
  const carried = new Map<string, Float32Array>();
  for (const [name, tensor] of tensors) {
    if (expectedNames.has(name) || biasHhNames.has(name) || (cfg.tieWeights && name === TIED_HEAD)) continue;
    const [, slot, paramName] = /^optim\.([^.]+)\.(.+)$/.exec(name) ?? [];
    if (slot === CARRIED_SLOT && paramName !== undefined && CARRIED_NAME.test(paramName)) {
      if (tensor.shape.length !== 2 || tensor.shape[1] !== cfg.hidden) {
        throw inputError(file, name, `shape ${formatShape(tensor.shape)} is not [streams, ${cfg.hidden}]`);
      }
      carried.set(paramName, Float32Array.from(tensor.data));
      continue;
    }
    if (slot === undefined || paramName === undefined || !expectedNames.has(paramName)) {
      throw inputError(
        file,
        name,
        `unexpected tensor: not a parameter of the ${describeConfig(cfg)} model, ` +
          `nor optimizer state named ${OPTIM_PREFIX}<slot>.<parameter name>`,
      );
    }
    if (!slots.has(slot)) slots.set(slot, new Map());
    slots.get(slot)!.set(paramName, tensor);
  }
  for (const slot of opts.requiredSlots ?? []) {
    if (!slots.has(slot)) {
      const problem = `missing: the optimizer needs state slot "${slot}" to resume, and the checkpoint has none`;
      throw inputError(file, `${OPTIM_PREFIX}${slot}`, problem);
    }
  }

  const optim = new Map<string, Float32Array>();
  for (const [slot, slotTensors] of slots) {
    const block = new Float32Array(layout.size);
    const views = tensorViews(layout, block);
    for (const spec of layout.tensors) {
      const name = `${OPTIM_PREFIX}${slot}.${spec.name}`;
      const tensor = slotTensors.get(spec.name);
      if (!tensor) throw inputError(file, name, `missing: optimizer slot "${slot}" is present for other parameters but not this one`);
      checkShape(file, name, tensor, spec.shape);
      views.get(spec.name)!.set(tensor.data);
    }
    optim.set(slot, block);
  }

  const checkpoint: CheckpointData = { cfg, params, optim };
  if (vocab !== undefined) checkpoint.vocab = vocab;
  if (tokens === 'word') checkpoint.lowercase = lowercase ?? false;
  if (carried.size > 0) checkpoint.carried = carried;
  if (metadata.experiment !== undefined) checkpoint.experiment = parseJsonMetadata(metadata.experiment, 'experiment', file);
  if (metadata.train !== undefined) {
    const train = parseJsonMetadata(metadata.train, 'train', file);
    if (typeof train !== 'object' || train === null || Array.isArray(train)) {
      throw inputError(file, '__metadata__.train', 'must be a JSON object');
    }
    checkpoint.train = train as Record<string, unknown>;
  }
  if (metadata.data !== undefined) {
    const data = decodeDataMeta(metadata.data, file);
    const sizes = metaSizes(data);
    if (sizes.inputSize !== cfg.inputSize || sizes.outputSize !== cfg.outputSize) {
      throw inputError(file, '__metadata__.data', `describes ${sizes.inputSize} inputs and ${sizes.outputSize} outputs, the model has ${cfg.inputSize} and ${cfg.outputSize}`);
    }
    checkCategoryLevels(data, cfg, file);
    checkpoint.data = data;
  }
  return checkpoint;
}

function parseJsonMetadata(text: string, key: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw inputError(file, `__metadata__.${key}`, `not valid JSON (${(err as Error).message})`);
  }
}

/** The fields the `config` metadata gives, each checked; absent metadata gives none. */
function parseConfigMetadata(text: string | undefined, file: string): ConfigMetadata {
  if (text === undefined) return {};
  const parsed = configMetadataSchema.safeParse(parseJsonMetadata(text, 'config', file));
  if (!parsed.success) throw firstIssueError(parsed.error, file, CONFIG_KEY);
  return parsed.data;
}

/**
 * The model's config: the metadata's fields where given, the rest inferred from the tensors (so
 * a plain PyTorch state_dict loads). Disagreements between the two surface as shape errors.
 */
function completeConfig(given: Partial<ModelConfig>, tensors: Map<string, DecodedTensor>, file: string): ModelConfig {
  // A file without `recurrence` is hidden-recurrent unless its tensors say otherwise.
  const recurrence = given.recurrence ?? (tensors.has('rnn.weight_yh_l0') ? 'output' : 'hidden');
  const outputs = given.outputs ?? 'all';
  // A plain PyTorch state_dict is bidirectional when it has the reverse direction's tensors.
  const bidirectional = given.bidirectional ?? tensors.has('rnn.weight_ih_l0_reverse');
  const { cell, inputSize, hidden, layers, outputSize, embedding, tieWeights } = given;
  const cfg: ModelConfig =
    cell !== undefined && inputSize !== undefined && hidden !== undefined && layers !== undefined && outputSize !== undefined
      ? { cell, inputSize, hidden, layers, outputSize, recurrence, outputs, ...categoricalOf(given) }
      : { ...inferShape(tensors, recurrence, bidirectional, file), ...given, recurrence, outputs };
  // Only the keys that are set, so a config compares equal to one built without them.
  const width = embedding ?? cfg.embedding;
  delete cfg.embedding;
  delete cfg.tieWeights;
  delete cfg.bidirectional;
  if (width !== undefined) cfg.embedding = width;
  if (tieWeights) cfg.tieWeights = true;
  if (bidirectional) cfg.bidirectional = true;
  const problem = outputRecurrenceProblem(cfg);
  if (problem !== null) throw inputError(file, `${CONFIG_KEY}.layers`, problem);
  const tokenProblem = tokenConfigProblem(cfg);
  if (tokenProblem !== null) throw inputError(file, `${CONFIG_KEY}.${tokenProblem[0]}`, tokenProblem[1]);
  const directions = bidirectionalProblem(null, cfg);
  if (directions !== null) throw inputError(file, `${CONFIG_KEY}.bidirectional`, directions);
  return cfg;
}

/** The categorical embeddings the config names, when it names any (a model without keeps its config as before). */
function categoricalOf(given: Partial<ModelConfig>): Pick<ModelConfig, 'categorical'> {
  return given.categorical?.length ? { categorical: given.categorical } : {};
}

/** The data's level lists are the embeddings' rows: the same columns, in order, with as many levels. */
function checkCategoryLevels(data: DataMeta, cfg: ModelConfig, file: string): void {
  const lists = data.task === 'series' ? data.categorical : [];
  const embeddings = cfg.categorical ?? [];
  const describe = (items: { column: string; levels: number }[]) => items.map((c) => `${c.column} (${c.levels} levels)`).join(', ') || 'none';
  const described = describe(lists.map((c) => ({ column: c.column, levels: c.levels.length })));
  if (described !== describe(embeddings)) throw inputError(file, '__metadata__.data.categorical', `lists ${described}; the model embeds ${describe(embeddings)}`);
}

/** The key and problem of a token model's config that no network can run, else null. */
function tokenConfigProblem(cfg: ModelConfig): [string, string] | null {
  if (cfg.embedding !== undefined && cfg.recurrence !== 'hidden') return ['embedding', "needs recurrence 'hidden'"];
  if (!cfg.tieWeights) return null;
  if (cfg.embedding === undefined) return ['tieWeights', 'needs embedding'];
  if (cfg.embedding !== cfg.hidden) return ['tieWeights', `needs embedding = hidden, got ${cfg.embedding} and ${cfg.hidden}`];
  if (cfg.outputSize !== cfg.inputSize) return ['tieWeights', `needs outputSize = inputSize (the vocabulary), got ${cfg.outputSize} and ${cfg.inputSize}`];
  return null;
}

function inferShape(
  tensors: Map<string, DecodedTensor>,
  recurrence: ModelConfig['recurrence'],
  bidirectional: boolean,
  file: string,
): Pick<ModelConfig, 'cell' | 'inputSize' | 'hidden' | 'layers' | 'outputSize' | 'embedding'> {
  const matrixShape = (name: string): [number, number] => {
    const tensor = tensors.get(name);
    if (!tensor) {
      throw inputError(file, name, 'missing; the config metadata is absent or incomplete, and the model shape is inferred from this tensor');
    }
    const [rows, cols] = tensor.shape;
    if (tensor.shape.length !== 2 || !rows || !cols) {
      throw inputError(file, name, `expected a non-empty matrix, got shape ${formatShape(tensor.shape)}`);
    }
    return [rows, cols];
  };
  const [gateRows, firstInput] = matrixShape('rnn.weight_ih_l0');
  const [outputSize, headCols] = matrixShape('head.weight');
  // The head reads [h_fwd ; h_rev] of a bidirectional model.
  const hidden = bidirectional ? headCols / 2 : headCols;
  // A state_dict with an nn.Embedding reads token ids: V rows of E = weight_ih_l0's columns.
  const embedded = tensors.has('embedding.weight') ? matrixShape('embedding.weight') : null;
  if (embedded && embedded[1] !== firstInput) {
    throw inputError(file, 'embedding.weight', `has ${embedded[1]} columns but rnn.weight_ih_l0 reads ${firstInput}; both are the embedding width`);
  }
  const inputSize = embedded ? embedded[0] : firstInput;
  if (recurrence === 'hidden') {
    const [, recurrentCols] = matrixShape('rnn.weight_hh_l0');
    if (recurrentCols !== hidden) {
      const head = bidirectional ? `head.weight has ${headCols} (2 · hidden, bidirectional)` : `head.weight has ${hidden}; both are the hidden size`;
      throw inputError(file, 'rnn.weight_hh_l0', `has ${recurrentCols} columns but ${head}`);
    }
  }
  let cell: ModelConfig['cell'];
  if (gateRows === 4 * hidden) cell = 'lstm';
  else if (gateRows === 3 * hidden) cell = 'gru';
  else if (gateRows === hidden) cell = 'rnn';
  else throw inputError(file, 'rnn.weight_ih_l0', `${gateRows} rows is none of 4·H (LSTM), 3·H (GRU), H (RNN) for hidden size H = ${hidden}`);
  let layers = 1;
  while (tensors.has(`rnn.weight_ih_l${layers}`)) layers++;
  return { cell, inputSize, hidden, layers, outputSize, ...(embedded ? { embedding: firstInput } : {}) };
}

/** Characters (a string) for tokens 'char', tokens (an array, `<unk>` first) for 'word'; distinct, one per input. */
function checkVocabMetadata(vocab: Vocab, tokens: 'char' | 'word', cfg: ModelConfig, file: string): void {
  const key = `${CONFIG_KEY}.vocab`;
  if (tokens === 'word' && typeof vocab === 'string') throw inputError(file, key, "must be an array of tokens for a word model (tokens 'word')");
  if (tokens === 'char' && typeof vocab !== 'string') throw inputError(file, key, "is an array of tokens, but tokens is not 'word'");
  if (typeof vocab !== 'string' && vocab[0] !== UNKNOWN_TOKEN) throw inputError(file, key, `must start with ${JSON.stringify(UNKNOWN_TOKEN)}, got ${JSON.stringify(vocab[0])}`);
  const symbols = typeof vocab === 'string' ? [...vocab] : vocab;
  const what = tokens === 'char' ? 'characters' : 'tokens';
  if (new Set(symbols).size !== symbols.length) throw inputError(file, key, `has repeated ${what}`);
  if (symbols.length !== cfg.inputSize) {
    throw inputError(file, key, `has ${symbols.length} ${what} but the model's inputSize is ${cfg.inputSize}`);
  }
}

function checkShape(file: string, name: string, tensor: DecodedTensor, expected: number[]): void {
  if (tensor.shape.length !== expected.length || tensor.shape.some((dim, i) => dim !== expected[i])) {
    throw inputError(file, name, `shape ${formatShape(tensor.shape)} does not match the expected ${formatShape(expected)}`);
  }
}

const formatShape = (shape: number[]): string => `[${shape.join(', ')}]`;

const describeConfig = (cfg: ModelConfig): string =>
  `${cfg.cell} (${cfg.layers} layer${cfg.layers === 1 ? '' : 's'}, hidden ${cfg.hidden}, inputSize ${cfg.inputSize}, ` +
  `outputSize ${cfg.outputSize}, ${cfg.recurrence} recurrence${cfg.bidirectional ? ', bidirectional' : ''})`;

// ---------------------------------------------------------------------------------------------

/**
 * A checkpoint's model can only read characters it has an index for: fails on the first
 * character of `dataText` (the data or its vocabulary) that `checkpointVocab` lacks.
 */
export function checkVocab(file: string, checkpointVocab: string | undefined, dataText: string): void {
  if (checkpointVocab === undefined) throw inputError(file, null, 'the checkpoint has no vocabulary (it is not a text model)');
  const known = new Set(checkpointVocab);
  for (const character of dataText) {
    if (!known.has(character)) {
      const codePoint = `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      throw inputError(file, null, `character ${JSON.stringify(character)} (${codePoint}) is not in the checkpoint's vocabulary`);
    }
  }
}
