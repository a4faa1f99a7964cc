/**
 * Character-level text (SPEC §4): one-hot symbols over the sorted unique characters; window i is
 * text[i·T .. i·T+T] (inputs and next-character targets); the last windows are validation. Word
 * text (words.ts) reads the same windows over token ids.
 */
import { inputError } from '../errors.js';
import { checkBatch, checkCapacity } from './checks.js';
import { vocabSize, type BatchArrays, type Dataset, type Split, type Vocab } from './dataset.js';
import { decodeText, readDataFile } from './read.js';
import { DATA_DEFAULTS, type DataSpec } from './spec.js';

const DEFAULT_VAL_FRACTION = DATA_DEFAULTS.valFraction;

export function loadText(spec: DataSpec, seqLen: number, file: string, forcedVocab: string | undefined): Dataset {
  const { path, valFraction, text } = readTextData(spec, file);
  const codePoints = toCodePoints(text);
  const vocab = forcedVocab ?? sortedUniqueCharacters(codePoints);
  const symbolIds = encode(codePoints, vocab, path, file);
  const { trainWindows, valWindows } = textWindows(symbolIds.length, seqLen, valFraction, path, file, 'characters');
  return new TextDataset(symbolIds, vocab, seqLen, trainWindows, valWindows, randomOffsetOf(spec, trainWindows, seqLen, path, file));
}

/** The text file (its path and valFraction checked), decoded; a BOM is not part of it. */
export function readTextData(spec: DataSpec, file: string): { path: string; valFraction: number; text: string } {
  if (spec.path === undefined || spec.path === '') throw inputError(file, 'data.path', 'is required for task text');
  const path = spec.path;
  const valFraction = spec.valFraction ?? DEFAULT_VAL_FRACTION;
  if (typeof valFraction !== 'number' || !(valFraction >= 0 && valFraction < 1)) {
    throw inputError(file, 'data.valFraction', `must be a number in [0, 1), got ${JSON.stringify(valFraction)}`);
  }

  // A BOM marks the encoding, it is not a character of the text.
  const text = decodeText(readDataFile(path));
  if (text.length === 0) throw inputError(file, 'data.path', `${path} is empty`);
  return { path, valFraction, text };
}

/** Windows of T symbols over `length` symbols (characters or tokens): the last ⌈valFraction·windows⌉ are validation. */
export function textWindows(length: number, seqLen: number, valFraction: number, path: string, file: string, unit: 'characters' | 'tokens'): { trainWindows: number; valWindows: number } {
  const windows = Math.floor((length - 1) / seqLen);
  const valWindows = valFraction > 0 ? Math.ceil(valFraction * windows) : 0;
  const trainWindows = windows - valWindows;
  if (windows < 1) {
    throw inputError(file, 'data.seqLen', `${seqLen} is too long for ${path}: the text is ${length} ${unit} ` +
      `and a window needs seqLen + 1 = ${seqLen + 1}`);
  }
  if (trainWindows < 1) {
    throw inputError(file, 'data.seqLen', `${seqLen} is too long for ${path}: the text is ${length} ${unit}, ` +
      `which gives ${windows} window(s), all taken for validation by valFraction ${valFraction}, and no training window`);
  }
  return { trainWindows, valWindows };
}

/** data.randomOffset: shifted training windows leave the last one out, so they need two. */
export function randomOffsetOf(spec: DataSpec, trainWindows: number, seqLen: number, path: string, file: string): boolean {
  const randomOffset = spec.task === 'text' && spec.randomOffset === true;
  if (randomOffset && trainWindows < 2) {
    throw inputError(file, 'data.randomOffset', `needs 2 training windows, ${path} gives ${trainWindows} with seqLen ${seqLen}`);
  }
  return randomOffset;
}

/** Unicode code points of `text` (not UTF-16 units), so an astral character is one symbol. */
function toCodePoints(text: string): Int32Array {
  const scratch = new Int32Array(text.length);
  let count = 0;
  for (let i = 0; i < text.length; count++) {
    const codePoint = text.codePointAt(i)!;
    scratch[count] = codePoint;
    i += codePoint > 0xffff ? 2 : 1;
  }
  return scratch.subarray(0, count);
}

function sortedUniqueCharacters(codePoints: Int32Array): string {
  const unique = Int32Array.from(new Set(codePoints)).sort();
  let vocab = '';
  for (const codePoint of unique) vocab += String.fromCodePoint(codePoint);
  return vocab;
}

/** Symbol ids in vocabulary order; the narrowest array that holds them. */
function encode(codePoints: Int32Array, vocab: string, path: string, file: string): Uint16Array | Int32Array {
  const idOf = new Map<number, number>();
  for (const character of vocab) idOf.set(character.codePointAt(0)!, idOf.size);
  const ids = idOf.size <= 0x10000 ? new Uint16Array(codePoints.length) : new Int32Array(codePoints.length);
  for (let i = 0; i < codePoints.length; i++) {
    const id = idOf.get(codePoints[i]!);
    if (id === undefined) {
      const character = JSON.stringify(String.fromCodePoint(codePoints[i]!));
      throw inputError(file, 'data.path', `${path}: character ${character} (at character ${i}) is not in the checkpoint's vocabulary`);
    }
    ids[i] = id;
  }
  return ids;
}

/** Windows over symbol ids: characters (vocab a string) or word tokens (vocab an array, `<unk>` first). */
export class TextDataset implements Dataset {
  readonly task = 'text';
  readonly loss = 'ce';
  readonly input = 'onehot';
  readonly inputSize: number;
  readonly outputSize: number;
  readonly outputsAllowed: ('all' | 'last')[] = ['all', 'last'];

  constructor(
    private readonly symbolIds: Uint16Array | Int32Array,
    readonly vocab: Vocab,
    readonly seqLen: number,
    private readonly trainWindows: number,
    private readonly valWindows: number,
    /**
     * data.randomOffset: the training windows start `trainOffset` characters on (shiftTrainWindows).
     * A shifted window reads up to T − 1 characters past its unshifted end, so the last training
     * window is left out: none reaches into the validation text.
     */
    private readonly randomOffset = false,
    /** Word tokens only: the text was lowercased before tokenising. */
    readonly lowercase?: boolean,
  ) {
    this.inputSize = this.outputSize = vocabSize(vocab);
  }

  size(split: Split): number {
    return split === 'train' ? this.trainWindows - (this.randomOffset ? 1 : 0) : this.valWindows;
  }

  private trainOffset = 0;

  shiftTrainWindows(offset: number): void {
    if (!this.randomOffset) throw new Error('the training windows shift only with data.randomOffset');
    if (!(Number.isInteger(offset) && offset >= 0 && offset < this.seqLen)) throw new RangeError(`window offset ${offset} is not in [0, ${this.seqLen})`);
    this.trainOffset = offset;
  }

  fill(split: Split, indices: ArrayLike<number>, start: number, count: number, outputs: 'all' | 'last', out: BatchArrays): void {
    const T = this.seqLen;
    checkBatch(this, split, indices, start, count, outputs);
    checkCapacity(out.tokens, 'tokens', T * count);
    checkCapacity(out.targetIds, 'targetIds', outputs === 'all' ? T * count : count);
    // Val windows follow the train windows in the text.
    const firstWindow = split === 'train' ? 0 : this.trainWindows;
    const ids = this.symbolIds;
    for (let j = 0; j < count; j++) {
      const offset = (firstWindow + indices[start + j]!) * T + (split === 'train' ? this.trainOffset : 0);
      for (let t = 0; t < T; t++) out.tokens[t * count + j] = ids[offset + t]!;
      if (outputs === 'all') {
        for (let t = 0; t < T; t++) out.targetIds[t * count + j] = ids[offset + t + 1]!;
      } else {
        out.targetIds[j] = ids[offset + T]!;
      }
    }
  }
}
