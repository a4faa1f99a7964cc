/**
 * The token vocabulary (SPEC §4, word-level text and token `sequences`): `<unk>` at index 0 (rare
 * and unseen tokens), then every training token seen at least `minCount` times, by count
 * descending, ties by code points. One rule for both, so a vocabulary means the same everywhere.
 */

export const UNKNOWN_TOKEN = '<unk>';
export const UNKNOWN_ID = 0;

/** Token strings in index order, `<unk>` first, from the training tokens only. */
export function buildVocabulary(trainingTokens: Iterable<string>, minCount = 1): string[] {
  if (!Number.isInteger(minCount) || minCount < 1) throw new RangeError(`minCount must be an integer ≥ 1, got ${minCount}`);
  const counts = new Map<string, number>();
  for (const token of trainingTokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  // A literal `<unk>` in the data is the unknown token itself, not a second entry.
  counts.delete(UNKNOWN_TOKEN);
  const kept: [string, number][] = [];
  for (const entry of counts) if (entry[1] >= minCount) kept.push(entry);
  kept.sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]));
  return [UNKNOWN_TOKEN, ...kept.map(([token]) => token)];
}

/**
 * Orders strings by code points. JavaScript's `<` compares UTF-16 units, which puts an astral
 * character (a surrogate pair, 0xD800…) before U+E000…U+FFFF; code points do not.
 */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done === true) return cb.done === true ? 0 : -1;
    if (cb.done === true) return 1;
    const diff = ca.value.codePointAt(0)! - cb.value.codePointAt(0)!;
    if (diff !== 0) return diff;
  }
}

/** Token → id for a vocabulary in index order. */
export function vocabularyIndex(vocab: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  vocab.forEach((token, id) => index.set(token, id));
  return index;
}

/** The id of `token`, `<unk>` (0) when the vocabulary does not hold it. */
export function tokenId(index: ReadonlyMap<string, number>, token: string): number {
  return index.get(token) ?? UNKNOWN_ID;
}

/** Ids of `tokens` (unknown → 0), in the narrowest array that holds every id of a vocabulary of `size`. */
export function encodeTokens(tokens: readonly string[], index: ReadonlyMap<string, number>, size = index.size): Uint16Array | Int32Array {
  const ids = size <= 0x10000 ? new Uint16Array(tokens.length) : new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) ids[i] = tokenId(index, tokens[i]!);
  return ids;
}
