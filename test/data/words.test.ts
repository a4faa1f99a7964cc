// Word-level text (SPEC §4 `data.tokens: word`): the tokenizer, joinWords, the vocabulary from the
// training split only (minCount, lowercase), the experiment keys and their cross-key rule, the
// checkpoint's JSON-array vocabulary, and a word model trained, evaluated (perplexity = e^loss)
// and sampled through the CLI.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { decodeCheckpoint, encodeCheckpoint, loadCheckpoint, type CheckpointData } from '../../src/main/checkpoint/checkpoint.js';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { encodeSafetensors } from '../../src/main/checkpoint/safetensors-codec.js';
import type { BatchArrays } from '../../src/main/data/dataset.js';
import { loadDataset } from '../../src/main/data/load.js';
import { joinWords, tokenizeWords } from '../../src/main/data/word-tokens.js';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { resolveRun } from '../../src/main/training/resolve.js';
import { paramLayout } from '../../src/shared/model/layout.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { runRecur, tempDir } from '../helpers/cli.js';
import { expectKeyedInputError } from '../helpers/input-error.js';

t.test('tokenizer: words with in-word apostrophes, single punctuation, digits, unicode, line breaks', async (t) => {
  t.same(tokenizeWords("Don't stop, o'clock!", false), ["Don't", 'stop', ',', "o'clock", '!'], 'an apostrophe between letters stays in the word');
  t.same(tokenizeWords("'tis the dogs' toys", false), ["'", 'tis', 'the', 'dogs', "'", 'toys'], 'a leading or trailing apostrophe is its own token');
  t.same(tokenizeWords('rock\u2019n\u2019roll', false), ['rock\u2019n\u2019roll'], 'the typographic apostrophe too');
  t.same(tokenizeWords("it's 3'4 ''", false), ["it's", "3'4", "'", "'"], 'between digits as well; two apostrophes are two tokens');
  t.same(tokenizeWords('costs $3.50 (about 20%)...', false), ['costs', '$', '3', '.', '50', '(', 'about', '20', '%', ')', '.', '.', '.'], 'other characters one at a time');
  t.same(tokenizeWords('old-style and/or', false), ['old', '-', 'style', 'and', '/', 'or']);
  t.same(tokenizeWords('Ça déjà naïve café 東京 ١٢٣ e\u0301t\u00e9', false), ['Ça', 'déjà', 'naïve', 'café', '東京', '١٢٣', 'e\u0301t\u00e9'], 'letters, digits and combining marks of any script');
  t.same(tokenizeWords('a 😀b', false), ['a', '😀', 'b'], 'an astral symbol is one token');
  t.same(tokenizeWords('one\ntwo\r\nthree\rfour\n\nfive', false), ['one', '\n', 'two', '\n', 'three', '\n', 'four', '\n', '\n', 'five'], 'a line break (LF, CRLF, CR) is the token \\n, each one');
  t.same(tokenizeWords(' a\tb\u00a0c\u2003d \f\ve ', false), ['a', 'b', 'c', 'd', 'e'], 'other whitespace only separates');
  t.same(tokenizeWords('   \t ', false), []);
  t.same(tokenizeWords("The CAT's Ärger", true), ['the', "cat's", 'ärger'], 'lowercase folds case first');
});

t.test('joinWords: single spaces, none before closing punctuation, none after openers, none around line breaks', async (t) => {
  t.equal(joinWords(['the', 'cat', 'sat', '.']), 'the cat sat.');
  t.equal(joinWords(['yes', ',', 'no', ';', 'maybe', ':', 'so', '!', 'why', '?']), 'yes, no; maybe: so! why?');
  t.equal(joinWords(['he', 'said', '(', 'quietly', ')', 'no']), 'he said (quietly) no');
  t.equal(joinWords(['the', 'dogs', "'", 'toys']), "the dogs' toys");
  t.equal(joinWords(['one', '.', '\n', 'two', '\n', '\n', 'three']), 'one.\ntwo\n\nthree', 'no space on either side of a line break');
  t.equal(joinWords(['old', '-', 'style', 'and', '/', 'or']), 'old-style and/or', 'hyphens and slashes bind their neighbours');
  t.equal(joinWords(['he', 'said', '"', 'go', 'home', '"', '.', 'then', '"', 'stop', '"']), 'he said "go home". then "stop"', 'quotes open and close in turn');
  t.equal(joinWords(['"', 'a', '\n', '"', 'b', '"']), '"a\n"b"', 'a line break closes an open quote');
  t.equal(joinWords(['20', '%', 'of', '$', '5']), '20% of $ 5');
  t.equal(joinWords([]), '');
  t.equal(joinWords([',', 'start']), ', start', 'nothing before the first token');
  const text = 'He said (quietly): "don\'t go." Then\nshe left, 20% richer.';
  t.equal(joinWords(tokenizeWords(text, false)), text, 'tokenising then joining gives back text written this way');
});

const EXP = 'exp.yaml';
const textExperiment = (data: Record<string, unknown>, path = 'w.txt') =>
  parseExperiment({ data: { task: 'text', path, seqLen: 4, ...data }, model: { cell: 'lstm', hidden: 4 } }, EXP, '/d');

t.test('data.tokens, minCount, lowercase: defaults, and minCount/lowercase need tokens word', async (t) => {
  const char = textExperiment({});
  t.notOk('tokens' in char.data || 'minCount' in char.data || 'lowercase' in char.data, 'a character experiment resolves as before, without the word keys');
  const word = textExperiment({ tokens: 'word' });
  t.match(word.data, { tokens: 'word', minCount: 1, lowercase: false }, 'word defaults: minCount 1, lowercase false');
  t.match(textExperiment({ tokens: 'word', minCount: 3, lowercase: true }).data, { minCount: 3, lowercase: true });
  t.match(textExperiment({ tokens: 'char' }).data, { tokens: 'char' });
  expectKeyedInputError(t, () => textExperiment({ minCount: 2 }), EXP, 'data.minCount', /needs data.tokens 'word'/);
  expectKeyedInputError(t, () => textExperiment({ tokens: 'char', lowercase: true }), EXP, 'data.lowercase', /needs data.tokens 'word'/);
  expectKeyedInputError(t, () => textExperiment({ tokens: 'words' }), EXP, 'data.tokens', /char.*word/);
  expectKeyedInputError(t, () => textExperiment({ tokens: 'word', minCount: 0 }), EXP, 'data.minCount', /positive|integer|≥ 1|at least/);
  expectKeyedInputError(t, () => textExperiment({ tokens: 'word', lowercase: 'yes' }), EXP, 'data.lowercase', /true|boolean/);
  expectKeyedInputError(t, () => parseExperiment({ data: { task: 'series', path: 'x.csv', seqLen: 4, tokens: 'word' }, model: { cell: 'lstm', hidden: 4 } }, EXP, '/d'),
    EXP, 'data.tokens', /only for task 'text'/);
});

function emptyBatch(n: number, T: number): BatchArrays {
  return { tokens: new Int32Array(n * T), inputs: new Float32Array(0), targetIds: new Int32Array(n * T), targetValues: new Float32Array(0) };
}

t.test('the vocabulary comes from the training split only; unknown and rare words read as <unk>', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'w.txt');
  // 13 tokens → ⌊12/4⌋ = 3 windows; valFraction 0.3 → the last ⌈0.9⌉ = 1 is validation (tokens 8..12).
  writeFileSync(path, 'The cat the dog the cat a Dog bird zebra yak Zebra yak');
  const load = (data: Record<string, unknown>) => loadDataset(textExperiment({ tokens: 'word', valFraction: 0.3, ...data }, path).data, 1, EXP);
  const d = load({});
  t.equal(d.size('train'), 2);
  t.equal(d.size('val'), 1);
  // Training tokens 0..8 (the last training target is token 8, "bird"): the 2, cat 2, The, dog, a, Dog, bird.
  t.same(d.vocab, ['<unk>', 'cat', 'the', 'Dog', 'The', 'a', 'bird', 'dog'], 'by count, then code points (uppercase first); zebra and yak (validation only) are not in it');
  t.equal(d.inputSize, 8);
  t.equal(d.outputSize, 8);
  const val = emptyBatch(1, 4);
  d.fill('val', [0], 0, 1, 'all', val);
  t.same(Array.from(val.tokens), [6, 0, 0, 0], 'validation: bird, then zebra, yak, Zebra as <unk>');
  const train = emptyBatch(2, 4);
  d.fill('train', [0, 1], 0, 2, 'all', train);
  t.same(Array.from(train.tokens), [4, 2, 1, 1, 2, 5, 7, 3], 'training windows, time-major: The cat the dog | the cat a Dog');
  t.same(Array.from(train.targetIds), [1, 1, 2, 5, 7, 3, 2, 6], 'targets: the next token');

  t.same(load({ minCount: 2 }).vocab, ['<unk>', 'cat', 'the'], 'minCount 2 keeps the words seen twice in training');
  t.same(load({ lowercase: true }).vocab, ['<unk>', 'the', 'cat', 'dog', 'a', 'bird'], 'lowercase: The and the are one word (×3), dog and Dog (×2)');
  t.same(load({ lowercase: true, minCount: 3 }).vocab, ['<unk>', 'the']);
  const lower = load({ lowercase: true });
  t.equal(lower.lowercase, true);
  t.equal(load({ randomOffset: true }).size('train'), 1, 'randomOffset over tokens as over characters: the last training window is left out');
  expectKeyedInputError(t, () => load({ randomOffset: true, valFraction: 0.5 }), EXP, 'data.randomOffset', /needs 2 training windows/);

  writeFileSync(join(dir, 'blank.txt'), ' \n');
  expectKeyedInputError(t, () => loadDataset(textExperiment({ tokens: 'word' }, join(dir, 'blank.txt')).data, 1, EXP), EXP, 'data.seqLen', /the text is 1 tokens/);
  writeFileSync(join(dir, 'spaces.txt'), ' \t ');
  expectKeyedInputError(t, () => loadDataset(textExperiment({ tokens: 'word' }, join(dir, 'spaces.txt')).data, 1, EXP), EXP, 'data.path', /no tokens/);
  expectKeyedInputError(t, () => loadDataset(textExperiment({ tokens: 'word' }, path).data, 1, EXP, { vocab: 'abc' }), EXP, 'data.tokens', /character model/);
  expectKeyedInputError(t, () => loadDataset(textExperiment({}, path).data, 1, EXP, { vocab: ['<unk>', 'a'] }), EXP, 'data.tokens', /word model/);
});

function wordCheckpoint(vocab: string[], extra: Partial<CheckpointData> = {}): CheckpointData {
  const cfg: ModelConfig = { cell: 'lstm', inputSize: vocab.length, hidden: 3, layers: 1, outputSize: vocab.length, recurrence: 'hidden', outputs: 'all' };
  const params = new Float32Array(paramLayout(cfg).size).map((_, i) => Math.sin(i));
  return { cfg, vocab, lowercase: true, params, optim: new Map(), ...extra };
}

t.test('checkpoint: a word model stores config.vocab as a JSON array, with tokens and lowercase', async (t) => {
  const vocab = ['<unk>', 'the', '.', '\n', "don't", '😀'];
  const bytes = encodeCheckpoint(wordCheckpoint(vocab));
  const dir = t.testdir();
  writeFileSync(join(dir, 'w.safetensors'), bytes);
  const config = JSON.parse(readSafetensors(join(dir, 'w.safetensors')).metadata.config!) as Record<string, unknown>;
  t.same(config.vocab, vocab, 'the tokens as a JSON array in index order');
  t.equal(config.tokens, 'word');
  t.equal(config.lowercase, true);
  const back = decodeCheckpoint(bytes, 'w.safetensors');
  t.same(back.vocab, vocab);
  t.equal(back.lowercase, true);
  t.same(loadCheckpoint(join(dir, 'w.safetensors')).vocab, vocab, 'through the file too');
  const char = decodeCheckpoint(encodeCheckpoint({ ...wordCheckpoint(vocab), vocab: 'abcdef', lowercase: undefined }), 'c');
  t.equal(char.vocab, 'abcdef', 'a character model keeps its string');
  t.equal(char.lowercase, undefined);
  t.notOk('tokens' in (JSON.parse(decodeMetadata(encodeCheckpoint({ ...wordCheckpoint(vocab), vocab: 'abcdef', lowercase: undefined })).config!) as object), 'and says nothing of tokens');

  // Bad config metadata: each names config.vocab or config.lowercase.
  const withConfig = (change: (config: Record<string, unknown>) => void): Uint8Array => {
    const decoded = readSafetensors(join(dir, 'w.safetensors'));
    const cfg = JSON.parse(decoded.metadata.config!) as Record<string, unknown>;
    change(cfg);
    const tensors = [...decoded.tensors].map(([name, x]) => ({ name, shape: x.shape, data: x.data as Float32Array }));
    return encodeSafetensors(tensors, { ...decoded.metadata, config: JSON.stringify(cfg) });
  };
  const bad = (change: (config: Record<string, unknown>) => void, key: string, problem: RegExp) =>
    expectKeyedInputError(t, () => decodeCheckpoint(withConfig(change), 'w.safetensors'), 'w.safetensors', key, problem);
  bad((c) => { delete c.tokens; delete c.lowercase; }, '__metadata__.config.vocab', /array of tokens, but tokens is not 'word'/);
  bad((c) => { c.vocab = 'abcdef'; }, '__metadata__.config.vocab', /must be an array of tokens/);
  bad((c) => { c.vocab = ['the', '<unk>', '.', '\n', 'a', 'b']; }, '__metadata__.config.vocab', /must start with "<unk>"/);
  bad((c) => { c.vocab = ['<unk>', 'the', 'the', '\n', 'a', 'b']; }, '__metadata__.config.vocab', /repeated tokens/);
  bad((c) => { c.vocab = ['<unk>', 'the']; }, '__metadata__.config.vocab', /2 tokens but the model's inputSize is 6/);
  bad((c) => { c.vocab = ['<unk>', 1, 2, 3, 4, 5]; }, '__metadata__.config.vocab', /string of characters, or an array of tokens/);
  bad((c) => { c.vocab = 'abcdef'; delete c.tokens; }, '__metadata__.config.lowercase', /only for a word model/);
  bad((c) => { c.tokens = 'words'; }, '__metadata__.config.tokens', /char.*word/);
});

function decodeMetadata(bytes: Uint8Array): Record<string, string> {
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return (JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as { __metadata__: Record<string, string> }).__metadata__;
}

t.test('a word model through the CLI: train, eval (perplexity = e^loss), sample, eval --data', async (t) => {
  const dir = tempDir(t);
  const text = join(dir, 'story.txt');
  const lines = ['The cat sat on the mat.', 'The dog sat on the log.', "A cat and a dog don't fight.", 'The end, for now!'];
  writeFileSync(text, Array.from({ length: 30 }, (_, i) => lines[i % lines.length]).join('\n') + '\n');
  const exp = join(dir, 'words.json');
  const run = join(dir, 'run');
  writeFileSync(exp, JSON.stringify({
    seed: 3,
    data: { task: 'text', path: text, tokens: 'word', lowercase: true, minCount: 2, seqLen: 8, valFraction: 0.2 },
    model: { cell: 'lstm', hidden: 16, layers: 1 },
    train: { batch: 4, steps: 30, workers: 2, evalEvery: 30, logEvery: 10, optimizer: { name: 'adam', lr: 0.02 } },
    output: { dir: run },
  }));
  const trained = await runRecur(['train', exp]);
  t.equal(trained.code, 0, 'train exits 0', { stderr: trained.stderr });
  t.match(trained.stdout, /sample:\n/, 'the run ends with a sample of words');
  const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number; valLoss?: number });
  t.ok(metrics.at(-1)!.loss < metrics[0]!.loss, `the training loss falls: ${metrics[0]!.loss.toFixed(3)} → ${metrics.at(-1)!.loss.toFixed(3)}`);
  const ckPath = join(run, 'checkpoint.safetensors');
  const ck = loadCheckpoint(ckPath);
  t.same(ck.vocab, ['<unk>', 'the', '\n', '.', 'a', 'cat', 'dog', 'on', 'sat', 'and', "don't", 'fight', 'log', 'mat', '!', ',', 'end', 'for', 'now'],
    'the training split\'s words (lowercased, count ≥ 2) by count, then code points');
  t.equal(ck.lowercase, true);

  const evaluated = await runRecur(['eval', '--checkpoint', ckPath]);
  t.equal(evaluated.code, 0, 'eval exits 0', { stderr: evaluated.stderr });
  const scores = JSON.parse(evaluated.stdout) as { loss: number; perplexity: number; tokens: number; bitsPerChar: number };
  t.ok(Math.abs(scores.perplexity - Math.exp(scores.loss)) <= 1e-9 * scores.perplexity, `perplexity ${scores.perplexity} = e^${scores.loss}`);
  t.ok(Math.abs(scores.loss - metrics.at(-1)!.valLoss!) < 1e-6, 'the loss is the run\'s last validation loss');
  t.ok(scores.perplexity < ck.vocab!.length, `perplexity ${scores.perplexity.toFixed(2)} below the uniform model's ${ck.vocab!.length}`);

  // --data re-tokenises as trained: lowercased, an unknown word as <unk>, not an error.
  const other = join(dir, 'other.txt');
  writeFileSync(other, 'THE CAT SAT ON THE ZEBRA.\nThe dog sat on the mat.\n');
  const onData = await runRecur(['eval', '--checkpoint', ckPath, '--data', other]);
  t.equal(onData.code, 0, 'eval --data exits 0', { stderr: onData.stderr });
  const dataScores = JSON.parse(onData.stdout) as { tokens: number; perplexity: number; loss: number };
  t.equal(dataScores.tokens, 8, 'its 16 tokens (two lines of 6 words, a full stop and a line break) make ⌊15/8⌋ = 1 window of the run\'s seqLen 8');
  t.ok(Math.abs(dataScores.perplexity - Math.exp(dataScores.loss)) <= 1e-9 * dataScores.perplexity);

  // train.init from the word checkpoint: its vocabulary; its case folding must be the experiment's.
  const initExp = (lowercase: boolean) => parseExperiment({
    data: { task: 'text', path: text, tokens: 'word', lowercase, seqLen: 8, valFraction: 0.2 }, train: { batch: 4, init: ckPath },
  }, join(dir, 'again.json'), dir);
  const resumed = resolveRun(initExp(true), 'again.json');
  t.same(resumed.dataset.vocab, ck.vocab, 'train.init: the checkpoint\'s vocabulary');
  expectKeyedInputError(t, () => resolveRun(initExp(false), 'again.json'), 'again.json', 'data.lowercase', /the checkpoint \S+ has true, the experiment says false/);

  const sampled = await runRecur(['sample', '--checkpoint', ckPath, '--prime', 'The zebra sat', '--length', '40', '--seed', '2']);
  t.equal(sampled.code, 0, 'sample exits 0 with an unknown word in the prime', { stderr: sampled.stderr });
  t.ok(sampled.stdout.startsWith('The zebra sat'), 'the prime as given, then the sample');
  const continuation = sampled.stdout.slice('The zebra sat'.length, -1);
  t.match(continuation, /^( |\n|[.,!])/, 'the sample starts with a space, a line break or punctuation');
  t.notMatch(continuation, / [.,!]/, 'no space before punctuation');
  t.notMatch(continuation, / \n|\n /, 'no space around line breaks');
  t.notMatch(continuation, / {2}/, 'single spaces');
  t.ok(continuation.replace(/<unk>/g, '').split(/[\s.,!]+/).filter(Boolean).every((w) => ck.vocab!.includes(w)), 'every word is from the vocabulary');
});

t.test('the browser runtime shares the word sampler (Model.sample)', async (t) => {
  const { Model } = await import('../../src/main/inference/model.js');
  const vocab = ['<unk>', 'the', '.', '\n', 'cat'];
  const ck = wordCheckpoint(vocab);
  const model = Model.fromCheckpoint(ck, 'w', { kernels: { kernels: 'ts', requested: 'ts', why: 'test' } });
  const a = model.sample({ length: 30, temperature: 1, prime: 'The CAT', seed: 4 });
  t.equal(a, model.sample({ length: 30, temperature: 1, prime: 'the cat', seed: 4 }), 'a lowercase model reads the prime lowercased');
  t.equal(a, model.sample({ length: 30, temperature: 1, prime: 'the   cat ', seed: 4 }), 'whitespace only separates');
  const words = a.split(/[ \n]+|(?=\.)/).filter(Boolean);
  t.ok(words.every((w) => vocab.includes(w)), `only vocabulary tokens: ${JSON.stringify(a)}`);
  t.equal(model.sample({ length: 30, temperature: 1, prime: 'the zebra', seed: 4 }), model.sample({ length: 30, temperature: 1, prime: 'the giraffe', seed: 4 }), 'unknown words are all <unk>');
});
