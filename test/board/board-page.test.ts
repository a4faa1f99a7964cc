// The dashboard in a real browser (headless Chromium driven by playwright-core): runs listed,
// curves drawn point for point, smoothing, live lines and runs, a ranked sweep, and nothing
// fetched from anywhere but the board itself.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startBoard } from '../../src/main/board/server.js';
import { foreignRequests, launchChromium, recordPage, skipWithoutChromium } from '../helpers/browser.js';
import { REPO_ROOT, runRecur, tempDir, writeExperiment } from '../helpers/cli.js';
import { sampleText } from '../helpers/text.js';
import { appendLine, metricsLine, steps, writeRun, writeSweep } from './fixtures.js';

/** The number of points in a panel's chart, and its smoothed training series (null without a chart). */
async function chart(page: Page, panel: string): Promise<{ points: number; smoothed: (number | null)[] | null; raw: (number | null)[] | null } | null> {
  return page.evaluate((key) => {
    const plot = (globalThis as any).board.charts()[key];
    if (!plot) return null;
    const find = (flag: string): (number | null)[] | null => {
      const i = plot.series.findIndex((s: any, j: number) => j > 0 && s.meta?.[flag]);
      return i > 0 ? Array.from(plot.data[i]) : null;
    };
    const plain = plot.series.findIndex((s: any, j: number) => j > 0 && !s.meta?.raw && !s.meta?.smoothed && s.meta?.field === 'loss');
    return { points: plot.data[0].length, smoothed: find('smoothed'), raw: find('raw') ?? (plain > 0 ? Array.from(plot.data[plain]) : null) };
  }, panel);
}

t.test('the board page in headless Chromium', { skip: skipWithoutChromium }, async (t) => {
  const dir = tempDir(t, 'recur-board-');
  const runs = join(dir, 'runs');
  // A real text run, trained by the CLI, for the sample and the status the trainer's files give.
  writeFileSync(join(dir, 'text.txt'), sampleText(3000));
  const experiment = writeExperiment(dir, 'charlm', {
    name: 'charlm', seed: 1, data: { task: 'text', path: join(dir, 'text.txt'), seqLen: 16, valFraction: 0.1 },
    model: { cell: 'lstm', hidden: 8 }, train: { batch: 4, steps: 30, workers: 1, kernels: 'ts', logEvery: 5, evalEvery: 10 },
    output: { dir: join(runs, 'charlm') },
  });
  const trained = await runRecur(['train', experiment]);
  if (trained.code !== 0) t.comment(trained.stderr);
  t.equal(trained.code, 0, 'the text run trains');
  // A real classification run, for its evaluation against the majority-class baseline.
  const jsonl = (...objects: unknown[]): string => objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
  writeFileSync(join(dir, 'train.jsonl'), jsonl({ x: [1, 2], y: 'a' }, { x: [3], y: 'a' }, { x: [2, 2, 2], y: 'a' }, { x: [5], y: 'b' }, { x: [0, 1], y: 'c' }));
  writeFileSync(join(dir, 'val.jsonl'), jsonl({ x: [1], y: 'b' }, { x: [4, 4], y: 'b' }, { x: [0], y: 'a' }, { x: [9, 9, 9, 9], y: 'c' }));
  const classifier = writeExperiment(dir, 'cls', {
    name: 'classifier', seed: 1, data: { task: 'sequences', path: join(dir, 'train.jsonl'), valPath: join(dir, 'val.jsonl') },
    model: { cell: 'lstm', hidden: 4 }, train: { batch: 2, steps: 4, workers: 1, kernels: 'ts', evalEvery: 2, logEvery: 1 }, output: { dir: join(runs, 'cls') },
  });
  t.equal((await runRecur(['train', classifier])).code, 0, 'the classification run trains');
  const live = writeRun(join(runs, 'live'), { name: 'live', steps: 1000, logged: steps(10, 400, 10), evalEvery: 100 });
  writeRun(join(runs, 'old'), { name: 'old', steps: 200, logged: steps(10, 200, 10), evalEvery: 50, ended: true, ageSec: 3600 });
  writeSweep(join(runs, 'lr-sweep'), 'lr-sweep', [
    { id: 'trial-001-aaaaaa', parameters: { 'train.optimizer.lr': 0.001, 'model.hidden': 8 }, metric: 0.52, status: 'ok' },
    { id: 'trial-002-bbbbbb', parameters: { 'train.optimizer.lr': 0.01, 'model.hidden': 8 }, metric: 0.91, status: 'stopped', steps: 20 },
    { id: 'trial-003-cccccc', parameters: { 'train.optimizer.lr': 0.1, 'model.hidden': 16 }, metric: 0.31, status: 'ok' },
    { id: 'trial-004-dddddd', parameters: { 'train.optimizer.lr': 1, 'model.hidden': 16 }, metric: null, status: 'failed' },
    { id: 'trial-005-eeeeee', parameters: { 'train.optimizer.lr': 0.003, 'model.hidden': 16 }, metric: 0.44, status: 'ok' },
  ]);

  const board = await startBoard({ dirs: [runs], port: 0, host: '127.0.0.1' });
  t.teardown(() => board.close());
  const browser = await launchChromium(t);
  const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
  const { requests, errors } = recordPage(page);
  await page.goto(board.url);

  await t.test('the runs appear with their status', async (t) => {
    await page.waitForSelector('#runs tbody tr[data-id="live"]');
    const rows = await page.$$eval('#runs tbody tr', (trs) => trs.map((tr) => [(tr as any).dataset.id, tr.querySelector('.status')!.textContent]));
    const status = Object.fromEntries(rows);
    t.equal(status.live, 'running');
    t.equal(status.old, 'finished');
    t.equal(status.charlm, 'finished');
    t.equal(status['lr-sweep/trial-002-bbbbbb'], 'stopped', 'the ASHA-stopped trial');
    t.equal(status.cls, 'finished');
    t.equal(rows.length, 8, 'four runs and the four sweep trials that trained');
  });

  await t.test('the filter narrows the list', async (t) => {
    await page.fill('#filter', 'trial-00');
    t.equal(await page.$$eval('#runs tbody tr', (trs) => trs.length), 4);
    await page.fill('#filter', '');
    t.equal(await page.$$eval('#runs tbody tr', (trs) => trs.length), 8);
  });

  await t.test('a chart has as many points as the run has metrics lines', async (t) => {
    await page.click('#runs tbody tr[data-id="live"] td.name');
    await page.waitForFunction(() => (globalThis as any).board.charts().loss?.data[0].length > 0);
    const loss = await chart(page, 'loss');
    t.equal(loss!.points, 40, '40 lines, 40 points');
    for (const panel of ['lr', 'gradNorm', 'tokensPerSec']) t.equal((await chart(page, panel))?.points, 40, `${panel} drawn`);
  });

  await t.test('hovering shows the step and the value', async (t) => {
    const box = (await page.locator('[data-panel="loss"] .u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const legend = await page.$$eval('[data-panel="loss"] .u-legend .u-series', (rows) => rows.map((r) => r.querySelector('.u-value')?.textContent ?? ''));
    t.match(legend[0], /^\d+$/, `the step: ${legend[0]}`);
    t.ok(legend.slice(1).some((v) => /^\d/.test(v)), `a value: ${legend.join(' | ')}`);
  });

  await t.test('the smoothing slider changes the drawn curve', async (t) => {
    const canvas = page.locator('[data-panel="loss"] canvas');
    const before = await chart(page, 'loss');
    const pixelsBefore = await canvas.screenshot();
    t.ok(before!.smoothed, 'smoothed by default (0.6, as TensorBoard)');
    await page.$eval('#smoothing', (e) => { (e as any).value = '0.95'; e.dispatchEvent(new Event('input')); });
    const after = await chart(page, 'loss');
    t.notSame(after!.smoothed, before!.smoothed, 'the smoothed series changed');
    t.same(after!.raw, before!.raw, 'the raw series did not');
    t.notOk((await canvas.screenshot()).equals(pixelsBefore), 'the canvas changed');
    await page.$eval('#smoothing', (e) => { (e as any).value = '0'; e.dispatchEvent(new Event('input')); });
    const none = await chart(page, 'loss');
    t.equal(none!.smoothed, null, 'smoothing 0: the raw curve alone');
  });

  await t.test('linear or log y axes', async (t) => {
    const distr = (): Promise<number> => page.evaluate(() => (globalThis as any).board.charts().loss.scales.y.distr);
    t.equal(await distr(), 1, 'linear by default');
    await page.check('#log-y');
    t.equal(await distr(), 3, 'log on a tick');
    await page.uncheck('#log-y');
    t.equal(await distr(), 1, 'linear again');
  });

  await t.test('a line appended to a running run shows within 2 s', async (t) => {
    const started = Date.now();
    appendLine(live, metricsLine(410));
    await page.waitForFunction(() => (globalThis as any).board.charts().loss?.data[0].length === 41, undefined, { timeout: 2000 });
    t.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
  });

  await t.test('runs overlay in one chart', async (t) => {
    await page.check('#runs tbody tr[data-id="old"] input[type=checkbox]');
    await page.waitForFunction(() => (globalThis as any).board.charts().loss?.series.filter((s: any) => s.meta?.field === 'loss').length === 2);
    t.equal((await chart(page, 'loss'))!.points, 41, 'the union of both runs\' steps (old logs steps live also logs)');
  });

  await t.test('a run started after the page opened appears', async (t) => {
    writeRun(join(runs, 'newcomer'), { name: 'newcomer', steps: 100, logged: [10] });
    await page.waitForSelector('#runs tbody tr[data-id="newcomer"]', { timeout: 3000 });
    t.pass('listed');
  });

  await t.test('a text model shows its sample', async (t) => {
    await page.click('#runs tbody tr[data-id="charlm"] td.name');
    await page.waitForSelector('#samples pre', { timeout: 5000 });
    t.match(await page.textContent('#samples'), /checkpoint\.safetensors at step 30/);
    t.ok((await page.textContent('#samples pre'))!.length >= 300, 'its text');
  });

  await t.test('a data model: its evaluation figures beside the baseline', async (t) => {
    await page.click('#runs tbody tr[data-id="cls"] td.name');
    await page.waitForSelector('#figures table.figures');
    t.match(await page.textContent('#figures'), /val accuracy/, 'the logged validation accuracy');
    await page.click('#figures button[data-evaluate="cls"]');
    const row = await page.waitForSelector('#figures tr[data-figure="accuracy"]', { timeout: 20_000 });
    const cells = await row.$$eval('td', (tds) => tds.map((td) => td.textContent));
    t.equal(cells[2], '0.25', 'the majority-class baseline');
    t.equal(cells[3], 'majority class');
    t.match(cells[1], /^(0|0\.25|0\.5|0\.75|1)$/, 'the model\'s accuracy on four sequences');
  });

  await t.test('a sweep: ranked trials, stopped ones marked, a parallel-coordinates plot', async (t) => {
    await page.click('#sweeps li[data-id="lr-sweep"]');
    await page.waitForSelector('#trials tbody tr');
    const rows = await page.$$eval('#trials tbody tr', (trs) => trs.map((tr) => ({
      id: (tr as any).dataset.id, rank: tr.children[0]!.textContent, status: tr.querySelector('.status')!.textContent,
    })));
    t.same(rows.map((r) => r.id), ['trial-003-cccccc', 'trial-005-eeeeee', 'trial-001-aaaaaa', 'trial-002-bbbbbb', 'trial-004-dddddd'], 'best first');
    t.same(rows.map((r) => r.rank), ['1', '2', '3', '–', '–']);
    t.equal(rows[3]!.status, 'stopped (ASHA)');
    const inked = await page.$eval('#parallel', (c) => {
      const canvas = c as any;
      const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
      return n;
    });
    t.ok(inked > 2000, `the plot is drawn (${inked} pixels)`);
    t.equal(await page.evaluate(() => (globalThis as any).board.state.selected.length), 4, 'the four trials that trained overlay in the charts');
  });

  await t.test('nothing left 127.0.0.1, and the page raised no error', async (t) => {
    const origin = new URL(board.url).origin;
    const foreign = foreignRequests({ requests, errors }, origin);
    t.same(foreign, [], `${requests.length} requests, all to ${origin}`);
    t.ok(requests.some((u) => u.endsWith('/vendor/uPlot.esm.js')), 'uPlot came from the package');
    t.same(errors, []);
  });

  const shot = join(dir, 'board.png');
  await page.screenshot({ path: shot, fullPage: true });
  if (process.env.RECUR_BOARD_SCREENSHOT) {
    mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, process.env.RECUR_BOARD_SCREENSHOT), fullPage: false });
  }
  t.comment(`screenshot: ${shot}`);
});
