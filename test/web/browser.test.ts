// recur/web in a real browser (headless Chromium): the example page served by `recur serve-example`
// forecasts CO₂ and generates text with exactly the numbers Node's loadModel gives on the wasm
// kernels, and a sequences model loaded from bytes in the page predicts what Node predicts — bit
// for bit; every request stays on 127.0.0.1 and the page raises no error.
import t from 'tap';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { encodeCheckpoint, type CheckpointData } from '../../src/main/checkpoint/checkpoint.js';
import type { SequencesMeta } from '../../src/main/data/metadata.js';
import { loadModel, type Forecast, type Prediction } from '../../src/main/inference/predict.js';
import { initParams } from '../../src/shared/model/init.js';
import { paramLayout } from '../../src/shared/model/layout.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { Rng } from '../../src/shared/model/rng.js';
import { foreignRequests, launchChromium, recordPage, skipWithoutChromium } from '../helpers/browser.js';
import { REPO_ROOT, spawnRecur, tempDir } from '../helpers/cli.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'browser');

/** The CSV's rows as objects of strings, as the page's app.js makes them. */
function csvRows(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trim().split(/\r?\n/);
  const names = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((cell, i) => [names[i], cell])));
}

/** A small sequences checkpoint made by hand: a classifier, or a regressor of two values; its layers bidirectional or not. */
function sequencesCheckpoint(target: 'class' | 'value', bidirectional = false): CheckpointData {
  const F = 2, O = target === 'class' ? 3 : 2;
  const cfg: ModelConfig = { cell: 'lstm', inputSize: F, hidden: 12, layers: 2, outputSize: O, recurrence: 'hidden', outputs: 'last', ...(bidirectional ? { bidirectional } : {}) };
  const layout = paramLayout(cfg);
  const params = new Float32Array(layout.size);
  initParams(cfg, layout, params, 5, { scale: 0.6, forgetBias: 0.5 });
  const targets = target === 'class' ? ['y'] : ['y0', 'y1'];
  const data: SequencesMeta = {
    task: 'sequences', features: ['x0', 'x1'], targets, target,
    labels: target === 'class' ? ['low', 'mid', 'high'] : null, scalarTarget: false,
    normalization: { kind: 'zscore', columns: { x0: { shift: 5, scale: 3 }, x1: { shift: -2, scale: 0.5 }, ...(target === 'value' ? { y0: { shift: 10, scale: 2 }, y1: { shift: -3, scale: 7 } } : {}) } },
  };
  return { cfg, params, optim: new Map(), data };
}

/** A small word model made by hand: a lowercase vocabulary with punctuation and line breaks. */
function wordCheckpoint(): CheckpointData {
  const vocab = ['<unk>', 'the', 'cat', 'sat', '.', ',', '\n', '(', ')', 'mat'];
  const cfg: ModelConfig = { cell: 'gru', inputSize: vocab.length, hidden: 8, layers: 1, outputSize: vocab.length, recurrence: 'hidden', outputs: 'all' };
  const layout = paramLayout(cfg);
  const params = new Float32Array(layout.size);
  initParams(cfg, layout, params, 7, { scale: 1.5, forgetBias: 0 });
  return { cfg, params, optim: new Map(), vocab, lowercase: true };
}

/** Token models made by hand: a token-sequences classifier with an embedding, and a tied text model. */
function tokenCheckpoints(): { sequences: CheckpointData; text: CheckpointData } {
  const made = (cfg: ModelConfig, extra: Partial<CheckpointData>): CheckpointData => {
    const layout = paramLayout(cfg), params = new Float32Array(layout.size);
    initParams(cfg, layout, params, 9, { scale: 0.6, forgetBias: 0.5 });
    return { cfg, params, optim: new Map(), ...extra };
  };
  const vocabulary = ['<unk>', 'good', 'bad', 'fine', 'awful'];
  const data: SequencesMeta = {
    task: 'sequences', features: ['x0'], targets: ['y'], target: 'class', labels: ['neg', 'pos'], scalarTarget: false,
    normalization: { kind: 'zscore', columns: {} }, vocabulary,
  };
  return {
    sequences: made({ cell: 'gru', inputSize: 5, hidden: 8, layers: 2, outputSize: 2, recurrence: 'hidden', outputs: 'last', embedding: 3 }, { data }),
    text: made({ cell: 'lstm', inputSize: 9, hidden: 6, layers: 1, outputSize: 9, recurrence: 'hidden', outputs: 'all', embedding: 6, tieWeights: true }, { vocab: '\n abcdehi' }),
  };
}

/** Sequences of 1 to 9 steps of two features, in the data's units. */
function randomSequences(count: number): number[][][] {
  const rng = new Rng(11, 4);
  return Array.from({ length: count }, (_, i) => Array.from({ length: 1 + (i * 7) % 9 }, () => [5 + 3 * rng.normal(), -2 + rng.normal()]));
}

t.test('the browser example in headless Chromium equals Node bit for bit', { skip: skipWithoutChromium }, async (t) => {
  const dir = tempDir(t, 'recur-web-');
  const server = spawnRecur(['serve-example', '--port', '0'], { timeoutMs: 240_000 });
  t.teardown(async () => { server.child.kill('SIGTERM'); await server.done; });
  const url = /open (http:\/\/\S+)/.exec(await server.waitForStderr(/open http:\/\/\S+/))![1]!;
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/examples\/browser\/$/, 'served on 127.0.0.1 by default');
  const origin = new URL(url).origin;

  const browser = await launchChromium(t);
  const page: Page = await browser.newPage({ viewport: { width: 1000, height: 1200 } });
  const record = recordPage(page);
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as any).recurExample?.ready === true || (globalThis as any).recurExample?.error, undefined, { timeout: 60_000 });
  t.equal(await page.evaluate(() => (globalThis as any).recurExample.error), undefined, 'the page loaded both models');

  await t.test('the forecast equals Node loadModel on wasm', async (t) => {
    const co2 = await loadModel(join(EXAMPLE, 'models', 'co2.safetensors'), { kernels: 'wasm' });
    const [node] = co2.forecast(csvRows(readFileSync(join(EXAMPLE, 'models', 'co2-recent.csv'), 'utf8')));
    const page_ = await page.evaluate(() => (globalThis as any).recurExample.forecast as Forecast);
    t.same(Object.keys(page_.values), ['CO2_t+1', 'CO2_t+2', 'CO2_t+3'], 'three months ahead');
    for (const [name, value] of Object.entries(node!.values)) t.ok(page_.values[name] === value, `${name}: ${page_.values[name]} === ${value}`);
    t.equal(page_.time, node!.time, `made after ${node!.time}`);
    const shown = await page.$$eval('#forecast tbody td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
    t.same(shown, Object.values(node!.values).map((v) => v.toFixed(2)), 'the table shows them');
  });

  await t.test('generated text equals Node sample on wasm', async (t) => {
    const char = await loadModel(join(EXAMPLE, 'models', 'char.safetensors'), { kernels: 'wasm' });
    const shown = await page.textContent('#sample');
    t.equal(shown, 'ROMEO:' + char.sample({ prime: 'ROMEO:', length: 400, temperature: 0.7, seed: 1 }), 'the text on the page');
    for (const opt of [{ prime: 'JULIET:\n', length: 300, temperature: 1, seed: 7 }, { prime: 'The king', length: 120, temperature: 0.3, seed: 123 }]) {
      t.equal(await page.evaluate((o) => (globalThis as any).recurExample.sample(o), opt), char.sample(opt), `prime ${JSON.stringify(opt.prime)}, seed ${opt.seed}`);
    }
    // Typing a prime generates anew.
    await page.fill('#prime', 'HAMLET:');
    await page.waitForFunction(() => (globalThis as any).document.getElementById('sample').textContent.startsWith('HAMLET:'));
    t.equal(await page.textContent('#sample'), 'HAMLET:' + char.sample({ prime: 'HAMLET:', length: 400, temperature: 0.7, seed: 1 }), 'the text for a typed prime');
    t.match(await page.textContent('#status'), /^wasm kernels/, 'on the wasm kernels');
  });

  for (const [target, bidirectional] of [['class', false], ['value', false], ['class', true]] as const) {
    const kind = `${bidirectional ? 'bidirectional ' : ''}${target}`;
    await t.test(`a sequences model (${kind}) loaded from bytes predicts as in Node`, async (t) => {
      const bytes = encodeCheckpoint(sequencesCheckpoint(target, bidirectional));
      const file = join(dir, `${kind.replace(' ', '-')}.safetensors`);
      writeFileSync(file, bytes);
      const seqs = randomSequences(12);
      const node = (await loadModel(file, { kernels: 'wasm', batch: 5 })).predict(seqs);
      const inPage = await page.evaluate(async ({ bytes, seqs }) => {
        const { loadModel } = await import('/dist/web/recur.js' as string);
        const model = await loadModel(new Uint8Array(bytes), { batch: 5 });
        return { predictions: model.predict(seqs), kernels: model.kernels };
      }, { bytes: Array.from(bytes), seqs });
      t.equal(inPage.kernels, 'wasm');
      t.same(inPage.predictions as Prediction[], node, `${seqs.length} sequences of 1 to 9 steps, in batches of 5`);
      const flat = (ps: Prediction[]): number[] => ps.flatMap((p) => ('probs' in p ? Object.values(p.probs) : [p.value].flat()));
      const a = flat(inPage.predictions as Prediction[]), b = flat(node);
      t.ok(a.length === b.length && a.every((v, i) => v === b[i]), 'every number ===');
    });
  }

  await t.test('a word model loaded from bytes samples as in Node (tokenised prime, joined words)', async (t) => {
    const bytes = encodeCheckpoint(wordCheckpoint());
    const file = join(dir, 'words.safetensors');
    writeFileSync(file, bytes);
    const opt = { prime: 'The CAT (sat', length: 80, temperature: 0.9, seed: 3 };
    const node = (await loadModel(file, { kernels: 'wasm' })).sample(opt);
    const inPage = await page.evaluate(async ({ bytes, opt }) => {
      const { loadModel } = await import('/dist/web/recur.js' as string);
      return (await loadModel(new Uint8Array(bytes))).sample(opt) as string;
    }, { bytes: Array.from(bytes), opt });
    t.equal(inPage, node, 'the same words, joined the same way');
    t.notMatch(node, / [.,)]|\( /, 'joined: no space before . , ) nor after (');
  });

  await t.test('token models loaded from bytes (an embedding; a tied head) predict and sample as in Node', async (t) => {
    const { sequences, text } = tokenCheckpoints();
    const seqBytes = encodeCheckpoint(sequences), textBytes = encodeCheckpoint(text);
    writeFileSync(join(dir, 'tokens.safetensors'), seqBytes);
    writeFileSync(join(dir, 'tied.safetensors'), textBytes);
    // 'zebra' is in no vocabulary: <unk>, here and in the page.
    const seqs = [['good', 'bad', 'fine'], ['awful'], ['zebra', 'good'], ['fine', 'fine', 'bad', 'good', 'awful']];
    const opt = { prime: 'ab', length: 60, temperature: 0.8, seed: 3 };
    const node = {
      predictions: (await loadModel(join(dir, 'tokens.safetensors'), { kernels: 'wasm', batch: 3 })).predict(seqs),
      sample: (await loadModel(join(dir, 'tied.safetensors'), { kernels: 'wasm' })).sample(opt),
    };
    const inPage = await page.evaluate(async ({ seqBytes, textBytes, seqs, opt }) => {
      const { loadModel } = await import('/dist/web/recur.js' as string);
      const tokens = await loadModel(new Uint8Array(seqBytes), { batch: 3 });
      const tied = await loadModel(new Uint8Array(textBytes));
      return { predictions: tokens.predict(seqs), sample: tied.sample(opt) };
    }, { seqBytes: Array.from(seqBytes), textBytes: Array.from(textBytes), seqs, opt });
    t.same(inPage.predictions as Prediction[], node.predictions, 'token sequences: the same labels and probabilities');
    t.equal(inPage.sample, node.sample, 'the tied text model: the same characters');
    t.equal(node.sample.length, 60);
  });

  await t.test('nothing left 127.0.0.1, and the page raised no error', async (t) => {
    t.ok(record.requests.length >= 5, `${record.requests.length} requests`);
    t.same(foreignRequests(record, origin), [], `all to ${origin}`);
    t.ok(record.requests.every((u) => u.startsWith('http://127.0.0.1:')), 'every URL starts with http://127.0.0.1');
    t.same(record.errors, []);
  });

  await page.fill('#prime', 'ROMEO:');
  await page.waitForFunction(() => (globalThis as any).document.getElementById('sample').textContent.startsWith('ROMEO:'));
  const shot = join(dir, 'browser-example.png');
  await page.screenshot({ path: shot, fullPage: true });
  if (process.env.RECUR_WEB_SCREENSHOT) copyFileSync(shot, join(REPO_ROOT, process.env.RECUR_WEB_SCREENSHOT));
  t.comment(`screenshot: ${shot}`);
});
