// The one vocabulary rule (SPEC §4, word-level text and token sequences): `<unk>` at 0, then
// tokens with count ≥ minCount by count descending, ties by code points; unknown tokens encode to 0.
import t from 'tap';
import { buildVocabulary, compareCodePoints, encodeTokens, tokenId, UNKNOWN_TOKEN, vocabularyIndex } from '../../src/main/data/vocabulary.js';

t.test('<unk> first, then by count descending, ties by code points', async (t) => {
  const tokens = ['b', 'a', 'c', 'b', 'a', 'b', 'd', 'B'];
  t.same(buildVocabulary(tokens), [UNKNOWN_TOKEN, 'b', 'a', 'B', 'c', 'd'], 'b×3, a×2, then B < c < d (code points: uppercase first)');
  t.same(buildVocabulary([]), [UNKNOWN_TOKEN], 'no tokens: only <unk>');
  t.same(buildVocabulary(['x', 'x'])[0], '<unk>');
});

t.test('minCount drops rare tokens (they become <unk>); a literal <unk> is not a second entry', async (t) => {
  const tokens = ['the', 'cat', 'the', 'sat', 'the', 'cat', '<unk>', '<unk>', '<unk>', '<unk>'];
  t.same(buildVocabulary(tokens, 1), ['<unk>', 'the', 'cat', 'sat']);
  t.same(buildVocabulary(tokens, 2), ['<unk>', 'the', 'cat'], 'sat (once) is dropped at minCount 2');
  t.same(buildVocabulary(tokens, 3), ['<unk>', 'the']);
  t.same(buildVocabulary(tokens, 4), ['<unk>']);
  t.throws(() => buildVocabulary(tokens, 0), RangeError);
  t.throws(() => buildVocabulary(tokens, 1.5), RangeError);
});

t.test('ties are ordered by code points, not UTF-16 units', async (t) => {
  const astral = '\u{1F600}'; // a surrogate pair, units 0xD83D 0xDE00
  const privateUse = '\uE000';
  t.ok(astral < privateUse, 'JavaScript string order would put the astral character first');
  t.ok(compareCodePoints(privateUse, astral) < 0, 'code point U+E000 comes before U+1F600');
  t.same(buildVocabulary([astral, privateUse]), ['<unk>', privateUse, astral]);
  t.ok(compareCodePoints('ab', 'abc') < 0, 'a prefix comes first');
  t.equal(compareCodePoints('abc', 'abc'), 0);
  t.ok(compareCodePoints('b', 'a') > 0);
});

t.test('encoding: ids in vocabulary order, unknown tokens → 0', async (t) => {
  const vocab = buildVocabulary(['a', 'b', 'b']);
  const index = vocabularyIndex(vocab);
  t.same(Array.from(encodeTokens(['a', 'b', 'zzz', '<unk>', 'b'], index)), [2, 1, 0, 0, 1]);
  t.equal(tokenId(index, 'never seen'), 0);
  t.type(encodeTokens(['a'], index), Uint16Array, 'a small vocabulary fits 16-bit ids');
  t.type(encodeTokens(['a'], index, 70000), Int32Array, 'more than 65536 tokens need 32-bit ids');
});
