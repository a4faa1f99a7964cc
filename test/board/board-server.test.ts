// recur board's server without a browser: the JSON API, run status from the files, live events,
// and its safety (read-only, loopback by default, nothing outside the DIRs).
import t from 'tap';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, relative, sep } from 'node:path';
import { PAGE_DIR, pageFiles, startBoard, type Board } from '../../src/main/board/server.js';
import { BoardStore, MetricsTail } from '../../src/main/board/store.js';
import { REPO_ROOT, runRecur, spawnRecur, tempDir, writeExperiment } from '../helpers/cli.js';
import { appendLine, metricsLine, steps, writeRun, writeSweep } from './fixtures.js';

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** A request with the path sent exactly as given (fetch would resolve `..` before sending). */
function get(board: Board, path: string, opts: { method?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: board.port, path, method: opts.method ?? 'GET', headers: opts.host ? { host: opts.host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const json = async (board: Board, path: string): Promise<any> => {
  const r = await get(board, path);
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body);
};

async function boardOn(t: { teardown(fn: () => unknown): void }, dirs: string[]): Promise<Board> {
  const board = await startBoard({ dirs, port: 0, host: '127.0.0.1', pollMs: 100 });
  t.teardown(() => board.close());
  return board;
}

t.test('the JSON API: runs, their metrics, sweeps', async (t) => {
  const runs = join(tempDir(t), 'runs');
  writeRun(join(runs, 'a'), { name: 'alpha', steps: 100, logged: steps(10, 100, 10), evalEvery: 20, ended: true });
  writeSweep(join(runs, 'sw'), 'sw', [
    { id: 'trial-001-aaaaaa', parameters: { lr: 0.1 }, metric: 0.9, status: 'ok' },
    { id: 'trial-002-bbbbbb', parameters: { lr: 0.2 }, metric: 0.95, status: 'stopped', steps: 20 },
    { id: 'trial-003-cccccc', parameters: { lr: 0.3 }, metric: 0.5, status: 'ok' },
    { id: 'trial-004-dddddd', parameters: { lr: 9 }, metric: null, status: 'failed' },
  ]);
  const board = await boardOn(t, [runs]);
  const list = await json(board, '/api/runs');
  const alpha = list.find((r: any) => r.id === 'a');
  t.match(alpha, { id: 'a', path: join(runs, 'a'), name: 'alpha', status: 'finished', step: 100, steps: 100, best: { step: 100, valLoss: 3.2 / 10 } });
  t.same(list.map((r: any) => r.id).sort(), ['a', 'sw/trial-001-aaaaaa', 'sw/trial-002-bbbbbb', 'sw/trial-003-cccccc']);
  t.equal(list.find((r: any) => r.id === 'sw/trial-002-bbbbbb').sweep, 'sw');

  const lines = await json(board, '/api/runs/a/metrics');
  t.same(lines, steps(10, 100, 10).map((s) => metricsLine(s, 20)), 'every metrics line, as written');
  t.same(await json(board, '/api/runs/a/metrics?from=8'), lines.slice(8), '?from=N: the lines from index N');
  t.same(await json(board, `/api/runs/${encodeURIComponent('sw/trial-001-aaaaaa')}/metrics`), await json(board, '/api/runs/sw/trial-001-aaaaaa/metrics'),
    'a nested id, encoded or not');
  t.equal((await get(board, '/api/runs/nope/metrics')).status, 404);
  t.equal((await get(board, '/api/runs/a/metrics?from=-1')).status, 400);

  const [sweep] = await json(board, '/api/sweeps');
  t.match(sweep, { id: 'sw', name: 'sw', metric: { name: 'valLoss', goal: 'minimize' }, total: 4, status: 'finished', parameters: ['lr'] });
  t.same(sweep.trials.map((tr: any) => [tr.id, tr.rank, tr.status]), [
    ['trial-003-cccccc', 1, 'ok'], ['trial-001-aaaaaa', 2, 'ok'], ['trial-002-bbbbbb', null, 'stopped'], ['trial-004-dddddd', null, 'failed'],
  ], 'ranked: ok best first, then stopped, then failed');
  t.equal(sweep.trials[2].run, 'sw/trial-002-bbbbbb', 'a trial links to its run');
  t.equal(sweep.trials[3].run, null, 'a failed trial without a folder has no run');
});

t.test('run status from the files', async (t) => {
  const runs = join(tempDir(t), 'runs');
  const old = 3600;
  writeRun(join(runs, 'running'), { name: 'r', steps: 100, logged: steps(10, 50, 10) });
  writeRun(join(runs, 'finished'), { name: 'f', steps: 50, logged: steps(10, 50, 10), ended: true, ageSec: old });
  writeRun(join(runs, 'finished-no-chart'), { name: 'f2', steps: 50, logged: steps(10, 50, 10), ageSec: old });
  writeRun(join(runs, 'interrupted'), { name: 'i', steps: 100, logged: steps(10, 50, 10), ended: true, ageSec: old });
  writeRun(join(runs, 'early'), { name: 'e', steps: 100, logged: steps(10, 60, 10), evalEvery: 20, earlyStopping: true, ended: true, ageSec: old });
  writeRun(join(runs, 'stalled'), { name: 's', steps: 100, logged: steps(10, 50, 10), ageSec: old });
  // A resumed run: metrics written again after the old run's loss.svg.
  writeRun(join(runs, 'resumed'), { name: 'rs', steps: 100, logged: steps(10, 50, 10), ended: true, ageSec: old });
  appendLine(join(runs, 'resumed'), metricsLine(60));
  const board = await boardOn(t, [runs]);
  const status = Object.fromEntries((await json(board, '/api/runs')).map((r: any) => [r.id, r.status]));
  t.same(status, {
    running: 'running', finished: 'finished', 'finished-no-chart': 'finished', interrupted: 'interrupted',
    early: 'early-stopped', stalled: 'stalled', resumed: 'running',
  });
});

t.test('metrics.jsonl is read incrementally: a torn line waits for its newline, a rewrite starts over', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'metrics.jsonl');
  writeFileSync(path, JSON.stringify(metricsLine(10)) + '\n' + JSON.stringify(metricsLine(20)).slice(0, 15));
  const tail = new MetricsTail(path);
  t.same(tail.update(), { from: 0, reset: true });
  t.same(tail.lines.map((l) => l.step), [10], 'the half-written line is not read');
  appendFileSync(path, JSON.stringify(metricsLine(20)).slice(15) + '\n');
  t.same(tail.update(), { from: 1, reset: false });
  t.same(tail.lines.map((l) => l.step), [10, 20], 'completed, it is');
  t.equal(tail.update(), null, 'nothing new');
  // --resume from step 10 rewrites the file with the kept lines, then appends: as long as before.
  // (A moment later, as in life: the change is seen through the file's size and modification time.)
  await new Promise((r) => setTimeout(r, 50));
  writeFileSync(path, JSON.stringify(metricsLine(10)) + '\n' + JSON.stringify(metricsLine(20)).replace('"step":20', '"step":21') + '\n');
  t.same(tail.update(), { from: 0, reset: true }, 'a rewrite of the same length is noticed');
  t.same(tail.lines.map((l) => l.step), [10, 21]);
});

t.test('live: a new metrics line and a new run are streamed as server-sent events', async (t) => {
  const runs = join(tempDir(t), 'runs');
  const live = writeRun(join(runs, 'live'), { name: 'live', steps: 100, logged: [10, 20] });
  const board = await boardOn(t, [runs]);
  const events: { event: string; data: any }[] = [];
  const req = request({ host: '127.0.0.1', port: board.port, path: '/api/events' }, (res) => {
    t.match(res.headers['content-type'], /^text\/event-stream/);
    let buffer = '';
    res.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    });
  });
  req.end();
  t.teardown(() => req.destroy());
  const waitFor = async (what: string, test: () => boolean): Promise<number> => {
    const started = Date.now();
    while (!test()) {
      if (Date.now() - started > 3000) throw new Error(`no ${what} within 3 s: ${JSON.stringify(events.map((e) => e.event))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return Date.now() - started;
  };
  await waitFor('snapshot', () => events.some((e) => e.event === 'runs'));
  const first = events.find((e) => e.event === 'runs')!.data;
  t.same(first.map((r: any) => r.id), ['live'], 'the stream opens with the runs');
  appendLine(live, metricsLine(30));
  const ms = await waitFor('metrics event', () => events.some((e) => e.event === 'metrics'));
  t.ok(ms < 2000, `a new line within 2 s (${ms} ms)`);
  t.same(events.find((e) => e.event === 'metrics')!.data, { id: 'live', from: 2, reset: false, lines: [metricsLine(30)] });
  writeRun(join(runs, 'later'), { name: 'later', steps: 100, logged: [10] });
  await waitFor('the new run', () => events.some((e) => e.event === 'runs' && e.data.some((r: any) => r.id === 'later')));
  t.pass('a run started later is announced');
});

t.test('a DIR that does not exist yet is watched for', async (t) => {
  const runs = join(tempDir(t), 'runs');
  const store = new BoardStore([runs]);
  store.refresh(true);
  t.same(store.missing, [runs]);
  writeRun(join(runs, 'default'), { name: 'default', steps: 10, logged: [1] });
  store.refresh(true);
  t.same(store.runList().map((r) => r.id), ['default']);
});

t.test('several DIRs: ids carry the DIR name', async (t) => {
  const dir = tempDir(t);
  writeRun(join(dir, 'one', 'runs', 'x'), { name: 'x', steps: 10, logged: [1] });
  writeRun(join(dir, 'two', 'runs', 'x'), { name: 'x', steps: 10, logged: [1] });
  writeRun(join(dir, 'solo'), { name: 'solo', steps: 10, logged: [1] });
  const store = new BoardStore([join(dir, 'one', 'runs'), join(dir, 'two', 'runs'), join(dir, 'solo')]);
  store.refresh(true);
  t.same(store.runList().map((r) => r.id).sort(), ['runs-2/x', 'runs/x', 'solo']);
});

t.test('read-only: every method but GET and HEAD is refused', async (t) => {
  const runs = join(tempDir(t), 'runs');
  writeRun(join(runs, 'a'), { name: 'a', steps: 10, logged: [1] });
  const board = await boardOn(t, [runs]);
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const r = await get(board, '/api/runs', { method });
    t.equal(r.status, 405, method);
    t.equal(r.headers.allow, 'GET, HEAD');
  }
  const head = await get(board, '/api/runs', { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.body, '');
});

t.test('nothing outside the DIRs: no traversal, encoded or not; no symbolic links followed', async (t) => {
  const dir = tempDir(t);
  const runs = join(dir, 'runs');
  writeRun(join(runs, 'a'), { name: 'a', steps: 10, logged: [1] });
  writeFileSync(join(dir, 'secret.txt'), 'SECRET');
  mkdirSync(join(dir, 'outside'));
  writeRun(join(dir, 'outside', 'run'), { name: 'outside', steps: 10, logged: [1] });
  writeFileSync(join(dir, 'outside', 'run', 'secret.txt'), 'SECRET');
  symlinkSync(join(dir, 'secret.txt'), join(runs, 'a', 'link.txt'));
  symlinkSync(join(dir, 'outside', 'run'), join(runs, 'linked-run'));
  symlinkSync(join(dir, 'outside'), join(runs, 'linked-folder'));
  // A run folder whose metrics.jsonl is a link to a file outside.
  mkdirSync(join(runs, 'b'));
  writeFileSync(join(runs, 'b', 'config.json'), '{}');
  symlinkSync(join(dir, 'secret.txt'), join(runs, 'b', 'metrics.jsonl'));
  const board = await boardOn(t, [runs]);

  t.same((await json(board, '/api/runs')).map((r: any) => r.id), ['a'], 'links to folders are not followed, a linked metrics.jsonl makes no run');
  t.equal((await get(board, '/files/a/config.json')).status, 200, 'a file of a run folder is served');
  const attempts = [
    '/files/a/../../secret.txt', '/files/a/..%2f..%2fsecret.txt', '/files/a/%2e%2e%2f%2e%2e%2fsecret.txt', '/files/a/%2E%2E/%2E%2E/secret.txt',
    '/files/a/%252e%252e%252fsecret.txt', '/files/..%2fsecret.txt', '/files/a/..\\..\\secret.txt', '/files/a%2f..%2f..%2fsecret.txt/x',
    '/files/a/x%2f..%2f..%2f..%2fsecret.txt', '/files/a/x%5c..%5c..%5c..%5csecret.txt',
    '/files/a/link.txt', '/files/linked-run/secret.txt', '/files/linked-folder/run/secret.txt', '/files/b/metrics.jsonl',
    '/api/runs/..%2f..%2fsecret.txt/metrics', '/api/runs/b/metrics', '/../secret.txt', '/%2e%2e/secret.txt', '/board.js/../../secret.txt',
    '/files/a/%00config.json', '/files/a/.config.json.tmp', '/files/a/%ZZ',
  ];
  for (const path of attempts) {
    const r = await get(board, path);
    t.ok(r.status >= 400 && !r.body.includes('SECRET'), `${path}: ${r.status}`);
  }
});

t.test('loopback by default: a page that rebinds its name to 127.0.0.1 is refused', async (t) => {
  const runs = join(tempDir(t), 'runs');
  const board = await boardOn(t, [runs]);
  t.equal((await get(board, '/api/runs', { host: 'evil.example:6006' })).status, 403);
  for (const host of [`127.0.0.1:${board.port}`, `localhost:${board.port}`, `[::1]:${board.port}`]) t.equal((await get(board, '/api/runs', { host })).status, 200, host);
});

t.test('the page is served with a content policy that allows nothing from elsewhere', async (t) => {
  const runs = join(tempDir(t), 'runs');
  const board = await boardOn(t, [runs]);
  const page = await get(board, '/');
  t.equal(page.status, 200);
  t.match(page.headers['content-security-policy'], /default-src 'none'; script-src 'self'/);
  t.notMatch(page.body, /https?:\/\//, 'no external URL in the page');
  for (const path of ['/board.js', '/charts.js', '/parallel.js', '/smooth.js', '/board.css', '/vendor/uPlot.esm.js', '/vendor/uPlot.min.css']) {
    const r = await get(board, path);
    t.equal(r.status, 200, path);
    t.notMatch(r.body, /\b(?:import|from)\s*['"]https?:/, `${path} imports nothing from the internet`);
  }
});

t.test('smoothing is TensorBoard\'s debiased exponential moving average', async (t) => {
  const { smooth } = await import(new URL('../../../src/main/board/page/smooth.js', import.meta.url).href) as { smooth: (v: (number | null)[], w: number) => (number | null)[] };
  t.same(smooth([1, 2, 3], 0), [1, 2, 3], 'weight 0: unchanged');
  t.same(smooth([5, 5, 5], 0.9), [5, 5, 5], 'a constant series: unchanged');
  const [a, b, c] = smooth([1, 3, 2], 0.6) as number[];
  t.equal(a, 1, 'debiased: the first point is not pulled toward 0');
  t.ok(Math.abs(b! - (0.6 * 0.4 * 1 + 0.4 * 3) / (1 - 0.36)) < 1e-12);
  t.ok(Math.abs(c! - (0.36 * 0.4 * 1 + 0.6 * 0.4 * 3 + 0.4 * 2) / (1 - 0.216)) < 1e-12);
  t.same(smooth([1, null, 3], 0.5), [1, null, (0.5 * 0.5 * 1 + 0.5 * 3) / 0.75], 'gaps pass through');
});

t.test('recur board on the command line', async (t) => {
  const dir = tempDir(t);
  writeRun(join(dir, 'runs', 'a'), { name: 'a', steps: 10, logged: [1] });
  const open = spawnRecur(['board', 'runs', 'later', '--port', '0', '--host', '0.0.0.0'], { cwd: dir });
  const said = await open.waitForStderr(/can read these runs/);
  t.match(said, /1 run, 0 sweeps under runs, later/);
  t.match(said, /later does not exist yet/);
  t.match(said, /warning: listening on 0\.0\.0\.0: anyone who can reach port \d+ can read these runs/);
  open.child.kill('SIGINT');
  t.equal((await open.done).code, 0, 'Ctrl-C stops it');

  writeFileSync(join(dir, 'file'), 'x');
  const notFolder = await runRecur(['board', 'file'], { cwd: dir });
  t.equal(notFolder.code, 2);
  t.match(notFolder.stderr, /^error: file: not a folder/m);
  const badPort = await runRecur(['board', '--port', '70000'], { cwd: dir });
  t.equal(badPort.code, 2);
  t.match(badPort.stderr, /^error: --port: expected a port number 0–65535, got "70000"$/m);
  const quiet = spawnRecur(['board', '--port', '0'], { cwd: dir });
  const local = await quiet.waitForStderr(/Ctrl-C stops/);
  t.notMatch(local, /warning/, 'no warning on loopback');
  quiet.child.kill('SIGTERM');
  t.equal((await quiet.done).code, 0);
});

t.test('a sweep folder shows its trial in progress before trials.jsonl exists', async (t) => {
  const runs = join(tempDir(t), 'runs');
  writeRun(join(runs, 'sw', 'trial-001-abcdef'), { name: 'sw-trial-001-abcdef', steps: 40, logged: [10, 20], evalEvery: 20 });
  const store = new BoardStore([runs]);
  store.refresh(true);
  const [sweep] = store.sweepList();
  t.match(sweep, { id: 'sw', status: 'running', trials: [{ id: 'trial-001-abcdef', run: 'sw/trial-001-abcdef', status: 'running', metric: 3.2 / Math.sqrt(20), steps: 20 }] });
  renameSync(join(runs, 'sw', 'trial-001-abcdef'), join(runs, 'sw', 'not-a-trial'));
  store.refresh(true);
  t.same(store.sweepList(), [], 'an ordinary folder of runs is no sweep');
});

t.test('a data model is evaluated against its baseline on request', async (t) => {
  const dir = tempDir(t);
  const jsonl = (...objects: unknown[]): string => objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
  writeFileSync(join(dir, 'train.jsonl'), jsonl({ x: [1, 2], y: 'a' }, { x: [3], y: 'a' }, { x: [2, 2, 2], y: 'a' }, { x: [5], y: 'b' }, { x: [0, 1], y: 'c' }));
  writeFileSync(join(dir, 'val.jsonl'), jsonl({ x: [1], y: 'b' }, { x: [4, 4], y: 'b' }, { x: [0], y: 'a' }, { x: [9, 9, 9, 9], y: 'c' }));
  const runs = join(dir, 'runs');
  const experiment = writeExperiment(dir, 'cls', {
    seed: 1, data: { task: 'sequences', path: join(dir, 'train.jsonl'), valPath: join(dir, 'val.jsonl') }, model: { cell: 'lstm', hidden: 4 },
    train: { batch: 2, steps: 4, workers: 1, kernels: 'ts', evalEvery: 2, logEvery: 1 }, output: { dir: join(runs, 'cls') },
  });
  const trained = await runRecur(['train', experiment]);
  t.equal(trained.code, 0, 'trains');
  const board = await boardOn(t, [runs]);
  const { evaluation } = await json(board, '/api/runs/cls/eval');
  t.match(evaluation, { checkpoint: 'best.safetensors', baselineAccuracy: 0.25, tokens: 4 }, 'the majority class of the training split (a) is one of four');
  t.type(evaluation.accuracy, 'number');
  t.same(await json(board, '/api/runs/cls/eval'), { evaluation }, 'asked again: the same answer, from the cache');
  writeRun(join(runs, 'no-checkpoint'), { name: 'n', steps: 10, logged: [1] });
  await new Promise((r) => setTimeout(r, 1200));
  t.same(await json(board, '/api/runs/no-checkpoint/eval'), { evaluation: null });
});

t.test('the page ships in the package: its folder is in package.json "files", uPlot a dependency', async (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[]; dependencies: Record<string, string> };
  const pageDir = relative(REPO_ROOT, PAGE_DIR).split(sep).join('/').replace(/\/$/, '');
  t.ok(pkg.files.includes(pageDir), `${pageDir} is shipped`);
  t.ok(pkg.dependencies.uplot, 'uplot is a dependency, not a devDependency');
  for (const file of pageFiles()) t.ok(existsSync(file), relative(REPO_ROOT, file));
});
