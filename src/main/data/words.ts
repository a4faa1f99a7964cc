/**
 * Word-level text (SPEC §4 `data.tokens: word`): the dataset over token ids, tokenised by
 * word-tokens.ts, with the vocabulary from the training split's tokens only (vocabulary.ts).
 */
import { inputError } from '../errors.js';
import type { Dataset } from './dataset.js';
import { randomOffsetOf, readTextData, TextDataset, textWindows } from './text.js';
import type { DataSpec } from './spec.js';
import { tokenizeWords } from './word-tokens.js';
import { buildVocabulary, encodeTokens, vocabularyIndex } from './vocabulary.js';

/**
 * Word-level text: windows over tokens exactly as over characters; the vocabulary is built from
 * the training windows' tokens (inputs and targets) unless a checkpoint supplies one, and a token
 * it lacks reads as `<unk>`.
 */
export function loadWordText(spec: DataSpec, seqLen: number, file: string, forcedVocab: readonly string[] | undefined): Dataset {
  const { path, valFraction, text } = readTextData(spec, file);
  const lowercase = spec.task === 'text' && spec.lowercase === true;
  const minCount = spec.task === 'text' ? (spec.minCount ?? 1) : 1;
  const tokens = tokenizeWords(text, lowercase);
  if (tokens.length === 0) throw inputError(file, 'data.path', `${path} has no tokens (only whitespace)`);
  const { trainWindows, valWindows } = textWindows(tokens.length, seqLen, valFraction, path, file, 'tokens');
  const vocab = forcedVocab ?? buildVocabulary(tokens.slice(0, trainWindows * seqLen + 1), minCount);
  const ids = encodeTokens(tokens, vocabularyIndex(vocab), vocab.length);
  return new TextDataset(ids, vocab, seqLen, trainWindows, valWindows, randomOffsetOf(spec, trainWindows, seqLen, path, file), lowercase);
}
