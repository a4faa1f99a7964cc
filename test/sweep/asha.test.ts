import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../src/main/errors.js';
import { loadSweep } from '../../src/main/experiment/sweep-file.js';
import { Asha, rungSteps, stepsSaved, survivors } from '../../src/main/sweep/asha.js';

t.test('rungs sit at minSteps·eta^k below maxSteps', async (t) => {
  t.strictSame(rungSteps({ minSteps: 200, eta: 3, maxSteps: 2000 }), [200, 600, 1800]);
  t.strictSame(rungSteps({ minSteps: 200, eta: 3, maxSteps: 1800 }), [200, 600], 'no rung at maxSteps itself');
  t.strictSame(rungSteps({ minSteps: 10, eta: 2, maxSteps: 10 }), [], 'minSteps at the end: no rung');
  t.strictSame(rungSteps({ minSteps: 4, eta: 2, maxSteps: 40 }), [4, 8, 16, 32]);
});

t.test('the top 1/eta of n go on, at least one', async (t) => {
  t.strictSame([1, 2, 3, 5, 6, 9, 10].map((n) => survivors(n, 3)), [1, 1, 1, 1, 2, 3, 3]);
  t.equal(survivors(4, 2), 2);
});

t.test('a scripted sweep: the first trial at a rung goes on, later ones must rank in the top 1/eta', async (t) => {
  // eta 2, rungs at 2 and 4 (maxSteps 8). Lower is better.
  const asha = new Asha({ minSteps: 2, eta: 2, maxSteps: 8 }, 'minimize');
  t.equal(asha.report('a', 1, 9), 'continue', 'before the first rung nothing is decided');
  t.equal(asha.report('a', 2, 1.0), 'continue', 'a: alone at rung 2');
  t.equal(asha.report('b', 2, 2.0), 'stop', 'b: worse than a, top 1 of 2 is a');
  t.equal(asha.report('c', 2, 0.5), 'continue', 'c: best of 3 (top 1)');
  t.equal(asha.report('d', 2, 0.9), 'continue', 'd: second of 4, top 2 go on');
  t.equal(asha.report('e', 2, 1.5), 'stop', 'e: fourth of 5, top 2 go on');
  t.equal(asha.report('a', 3, 0.1), 'continue', 'a: step 3 is no rung, and a already counted at rung 2');
  t.equal(asha.report('a', 4, 0.8), 'continue', 'a: first at rung 4');
  t.equal(asha.report('c', 4, 0.9), 'stop', 'c: worse than a at rung 4');
  t.equal(asha.report('d', 4, 0.8), 'continue', 'd: ties go the trial\'s way');
  t.equal(asha.report('a', 8, 0.1), 'continue', 'maxSteps is no rung');
  t.strictSame(asha.rungTable().map((r) => [r.step, [...r.trials]]), [
    [2, [['a', 1.0], ['b', 2.0], ['c', 0.5], ['d', 0.9], ['e', 1.5]]],
    [4, [['a', 0.8], ['c', 0.9], ['d', 0.8]]],
  ]);
});

t.test('maximize ranks the other way', async (t) => {
  const asha = new Asha({ minSteps: 5, eta: 3, maxSteps: 100 }, 'maximize');
  t.equal(asha.report('a', 5, 10), 'continue');
  t.equal(asha.report('b', 5, 20), 'continue', 'higher is better');
  t.equal(asha.report('c', 5, 15), 'stop');
});

t.test('an evaluation past a rung counts for the highest rung reached, once', async (t) => {
  const asha = new Asha({ minSteps: 10, eta: 2, maxSteps: 100 }, 'minimize'); // rungs 10, 20, 40, 80
  t.equal(asha.report('a', 25, 1), 'continue', 'step 25 counts for rung 20');
  t.equal(asha.report('b', 25, 2), 'stop', 'b at rung 20 behind a');
  t.strictSame(asha.rungTable().map((r) => r.trials.size), [0, 2, 0, 0], 'rung 10 is skipped, not back-filled');
  t.equal(asha.report('a', 30, 5), 'continue', 'a already reached rung 20');
});

t.test('a diverging trial (NaN, Infinity) ranks below every finite one', async (t) => {
  const asha = new Asha({ minSteps: 2, eta: 2, maxSteps: 10 }, 'minimize');
  t.equal(asha.report('nan', 2, NaN), 'continue', 'first at the rung: nothing to compare with');
  t.equal(asha.report('ok', 2, 100), 'continue', 'a finite metric beats NaN');
  t.equal(asha.report('inf', 2, Infinity), 'stop');
  const up = new Asha({ minSteps: 2, eta: 2, maxSteps: 10 }, 'maximize');
  t.equal(up.report('ok', 2, -5), 'continue');
  t.equal(up.report('nan', 2, NaN), 'stop', 'NaN is worst when maximizing too');
});

t.test('replay rebuilds the rungs from recorded evaluations and stops at the first stop', async (t) => {
  const live = new Asha({ minSteps: 2, eta: 2, maxSteps: 16 }, 'minimize');
  live.report('a', 2, 1); live.report('a', 4, 0.5); live.report('a', 8, 0.2);
  const rebuilt = new Asha({ minSteps: 2, eta: 2, maxSteps: 16 }, 'minimize');
  t.equal(rebuilt.replay('a', [[1, 3], [2, 1], [4, 0.5], [8, 0.2]]), 'continue');
  t.strictSame(rebuilt.rungTable(), live.rungTable(), 'same rungs as live reports');
  t.equal(rebuilt.replay('b', [[2, 0.9], [4, 0.7], [8, 0.1]]), 'stop', 'b stops at rung 4');
  t.equal(rebuilt.rungTable()[2]!.trials.has('b'), false, 'nothing recorded after the stop');
});

t.test('steps saved: planned minus run, for stopped trials', async (t) => {
  t.strictSame(stepsSaved([
    { status: 'ok', steps: 100, plannedSteps: 100 },
    { status: 'stopped', steps: 20, plannedSteps: 100 },
    { status: 'failed', steps: 5, plannedSteps: 100 },
  ]), { saved: 80, planned: 300 });
});

t.test('earlyTerminate in a sweep file: defaults, and each bad value is one input error naming the key', async (t) => {
  const dir = t.testdir({ 'base.yaml': 'data: { task: adding, seqLen: 8 }\nmodel: { cell: lstm, hidden: 4 }\ntrain: { batch: 4, steps: 40 }\n' });
  const sweep = (early: string): string => {
    const file = join(dir, `sweep-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, `base: base.yaml\nmethod: grid\nparameters: { seed: { values: [1, 2] } }\n${early}`);
    return file;
  };
  t.equal(loadSweep(sweep('')).earlyTerminate, null, 'none by default');
  t.strictSame(loadSweep(sweep('earlyTerminate: { type: asha, minSteps: 5 }')).earlyTerminate, { type: 'asha', minSteps: 5, eta: 3, maxSteps: null }, 'eta defaults to 3, maxSteps to each trial\'s train.steps');
  const bad: [string, RegExp][] = [
    ['earlyTerminate: { type: hyperband, minSteps: 5 }', /: earlyTerminate\.type: expected 'asha', got "hyperband"/],
    ['earlyTerminate: { type: asha }', /: earlyTerminate\.minSteps: /],
    ['earlyTerminate: { type: asha, minSteps: 0 }', /: earlyTerminate\.minSteps: /],
    ['earlyTerminate: { type: asha, minSteps: 5, eta: 1 }', /: earlyTerminate\.eta: expected an integer ≥ 2/],
    ['earlyTerminate: { type: asha, minSteps: 5, eta: 2.5 }', /: earlyTerminate\.eta: /],
    ['earlyTerminate: { type: asha, minSteps: 5, maxSteps: 5 }', /: earlyTerminate\.maxSteps: must be greater than minSteps/],
    ['earlyTerminate: { type: asha, minSteps: 5, patience: 3 }', /: earlyTerminate\.patience: /],
  ];
  for (const [text, message] of bad) {
    const error = t.throws(() => loadSweep(sweep(text))) as unknown;
    t.ok(error instanceof InputError, `${text}: bad input`);
    t.match((error as Error).message, message, text);
  }
});
