// `recur sweep` and `recur bench` through the command line (SPEC §5, §7, §8): their flags reach
// the run, and their exit codes — 0 done, 1 a sweep whose every trial failed, 2 bad input with one
// `error:` line naming the flag or file. A sweep with `goal: maximize` ranks the largest metric first.
import t, { type Test } from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorLines, runRecur, stackLines, tempDir } from '../helpers/cli.js';

const BASE = `data: { task: adding, seqLen: 8, trainSize: 32, valSize: 8 }
model: { cell: lstm, hidden: 4 }
train: { batch: 8, steps: 3, evalEvery: 3, workers: 1, kernels: ts }
`;

const sweepOf = (over: string): string => `base: base.yaml
method: grid
${over}parameters:
  train.optimizer.lr: { values: [0.001, 0.3] }
`;

interface Trial { id: string; status: string; metric: number | null; parameters: Record<string, unknown> }

const trials = (dir: string): Trial[] => readFileSync(join(dir, 'trials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Trial);

/** Asserts one bad-input exit: code 2, exactly one `error:` line containing `names`, nothing else. */
function badInput(t: Test, res: { code: number | null; stderr: string; stdout: string }, names: string[], what: string): void {
  t.equal(res.code, 2, `${what}: exit 2`, { stderr: res.stderr });
  t.equal(res.stderr.trim().split('\n').length, 1, `${what}: one line on stderr`);
  const line = errorLines(res.stderr)[0] ?? '';
  for (const n of names) t.ok(line.includes(n), `${what}: names ${n}: ${line}`);
  t.same(stackLines(res.stderr), [], `${what}: no stack trace`);
}

t.test('recur sweep: --parallel and --out reach the sweep; goal maximize ranks the largest metric first', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'base.yaml'), BASE);
  writeFileSync(join(dir, 'max.yaml'), sweepOf('metric: { name: valLoss, goal: maximize }\n'));
  const out = join(dir, 'chosen');
  const res = await runRecur(['sweep', join(dir, 'max.yaml'), '--parallel', '2', '--out', out]);
  t.equal(res.code, 0, 'exit 0', { stderr: res.stderr });
  const records = trials(out);
  t.equal(records.length, 2, 'both trials recorded in the --out folder');
  t.ok(records.every((r) => r.status === 'ok' && typeof r.metric === 'number'), 'both trained');
  const worst = records.reduce((a, b) => (a.metric! > b.metric! ? a : b));
  t.match(res.stdout, new RegExp(`best ${worst.id} valLoss ${worst.metric}`), `the best is the trial with the largest valLoss (${worst.metric})`);
  const summary = readFileSync(join(out, 'summary.md'), 'utf8');
  t.match(summary, /valLoss` \(maximize\)/, 'the summary states the goal');
  t.ok(summary.indexOf(worst.id) < summary.indexOf(records.find((r) => r !== worst)!.id), 'and ranks the larger metric first');
  t.ok(existsSync(join(out, worst.id, 'checkpoint.safetensors')), 'each trial has its run folder inside --out');
  t.match(res.stderr, /^sweep max: 2 trials; running 2, 2 at a time/m, '--parallel 2: two trials at a time');
});

t.test('recur sweep exit codes: 2 for bad input, 1 when every trial fails', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'base.yaml'), BASE);
  writeFileSync(join(dir, 'min.yaml'), sweepOf(''));
  writeFileSync(join(dir, 'bad-goal.yaml'), sweepOf('metric: { name: valLoss, goal: maximise }\n'));
  // Every trial diverges at once: an lr of 1e30 without clipping.
  writeFileSync(join(dir, 'diverge.yaml'), `base: base.yaml\nmethod: grid\nparameters:\n  train.optimizer.lr: { values: [1e30] }\n  train.clip: { values: [null] }\n  data.task: { values: [sine] }\n`);
  const [parallel0, missing, badGoal, unknownFlag, allFail] = await Promise.all([
    runRecur(['sweep', join(dir, 'min.yaml'), '--parallel', '0', '--out', join(dir, 'p0')]),
    runRecur(['sweep', join(dir, 'no-such.yaml')]),
    runRecur(['sweep', join(dir, 'bad-goal.yaml'), '--out', join(dir, 'g')]),
    runRecur(['sweep', join(dir, 'min.yaml'), '--paralel', '2']),
    runRecur(['sweep', join(dir, 'diverge.yaml'), '--out', join(dir, 'fail')]),
  ]);
  badInput(t, parallel0, ['--parallel'], '--parallel 0');
  t.notOk(existsSync(join(dir, 'p0')), '--parallel 0 wrote nothing');
  badInput(t, missing, [join(dir, 'no-such.yaml')], 'a missing sweep file');
  badInput(t, badGoal, [join(dir, 'bad-goal.yaml'), 'metric.goal'], 'goal: maximise');
  badInput(t, unknownFlag, ['paralel'], 'an unknown flag');
  t.equal(allFail.code, 1, 'a sweep whose every trial fails exits 1', { stderr: allFail.stderr });
  t.equal(errorLines(allFail.stderr).length, 1, 'with one error: line');
  t.same(trials(join(dir, 'fail')).map((r) => r.status), ['failed'], 'the failed trial is recorded');
});

t.test('recur bench: --workloads, --workers, --cell, --kernels, --steps, --seconds, --json, --svg reach the run', async (t) => {
  const dir = tempDir(t);
  const json = join(dir, 'b.json'), svg = join(dir, 'chart.svg');
  const res = await runRecur(['bench', '--workloads', 'w0', '--workers', '1', '--cell', 'rnn', '--kernels', 'ts', '--steps', '2', '--seconds', '0', '--json', json, '--svg', svg]);
  t.equal(res.code, 0, 'exit 0', { stderr: res.stderr });
  const report = JSON.parse(readFileSync(json, 'utf8')) as { results: Array<{ workload: string; cell: string; workers: number }> };
  t.same(report.results.map((r) => [r.workload, r.cell, r.workers]), [['W0', 'rnn', 1]], 'one point: W0, the RNN, 1 worker');
  t.match(readFileSync(svg, 'utf8'), /^<svg/, 'the chart where --svg says');
  t.match(res.stdout, /W0/, 'the table on stdout');
  t.match(res.stdout, new RegExp(`wrote ${json} and ${svg}`), 'and where the files went');
});

t.test('recur bench exit 2 on bad flags, writing nothing', async (t) => {
  const dir = tempDir(t);
  const json = join(dir, 'b.json');
  const cases: Array<[string[], string[], string]> = [
    [['--workloads', 'W9'], ['W9'], 'an unknown workload'],
    [['--workers', '0'], ['--workers'], '--workers 0'],
    [['--workers', '1,x'], ['--workers'], '--workers 1,x'],
    [['--cell', 'tree'], ['--cell'], 'an unknown cell'],
    [['--steps', '-1'], ['--steps'], '--steps -1'],
    [['--seconds', 'soon'], ['--seconds'], '--seconds soon'],
  ];
  const flags = (over: string[]): string[] => {
    const given: Record<string, string> = { '--workloads': 'W0', '--workers': '1', '--steps': '1', '--seconds': '0', '--json': json };
    for (let i = 0; i < over.length; i += 2) given[over[i]!] = over[i + 1]!;
    return Object.entries(given).flat();
  };
  const results = await Promise.all(cases.map(([args]) => runRecur(['bench', ...flags(args)])));
  cases.forEach(([, names, what], i) => badInput(t, results[i]!, names, what));
  t.equal(results.length, 6, 'six bad benches');
  t.notOk(existsSync(json), 'no JSON written');
});
