#!/usr/bin/env node
// Mutation check of the test suite ("a test that fails on the bug it names"). Each
// mutant below is a realistic bug, one edit (or a few that make one bug) in src/ or in a test,
// and names the test file(s) that must catch it. The repository's files are copied once into a
// temp folder (node_modules linked) and built with `npm run build`; the named test files first
// run there unmutated and must pass (else a kill would prove nothing). Then for each mutant: its
// edit applied to the copy (the search text must occur exactly once), the edited files
// recompiled to dist/ (TypeScript's transpileModule: a full tsc build per mutant would cost a
// minute on two loaded cores), only the named test files run with tap, and both the source and
// its compiled file restored. A mutant is KILLED when a named file fails, SURVIVED when they all
// pass — a hole in the suite.
//
//   npm run test:mutants                 all mutants (a few minutes each for the CLI-heavy ones)
//   npm run test:mutants -- 1a 8b        only those mutants
//   npm run test:mutants -- --list       the table, nothing run
//   npm run test:mutants -- --check      only that every edit still applies to this tree
//   npm run test:mutants -- --no-baseline
//
// Exit 0 when every mutant is killed, 1 when any survives or cannot be applied.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** A test named by its file's base name, wherever it sits under test/ (the folders follow the layers). */
function testFile(name) {
  const found = execFileSync('git', ['ls-files', `test/**/${name}.test.ts`], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  return found.length === 1 ? found[0] : null;
}

/**
 * point: the area the bug is in (a number, for the report); bug: what breaks (the issue's words); edits: [file, search, replace];
 * tests: test files (test/<name>.test.ts) that must fail; grep: optional tap --grep patterns
 * limiting those files to the subtests that concern the bug (keeps each run short).
 */
const MUTANTS = [
  {
    id: '1a', point: 1, bug: 'train.clip ignored (no clipping)',
    edits: [['src/workers/train-worker.ts', 'const gradScale = clipScale(norm, spec.clip);', 'const gradScale = clipScale(norm, null);']],
    tests: ['golden-cases'], grep: ['^clip:'],
  },
  {
    id: '1b', point: 1, bug: 'gradient norm missing its square root',
    edits: [['src/workers/train-worker.ts', 'const norm = Math.sqrt(squares);', 'const norm = squares;']],
    tests: ['golden-cases'], grep: ['^clip:'],
  },
  {
    id: '2a', point: 2, bug: 'Adam without bias correction',
    edits: [['src/shared/model/optim.ts', 'stepSize: spec.lr / (1 - Math.pow(spec.beta1, step)),', 'stepSize: spec.lr,']],
    tests: ['golden-cases'], grep: ['^adam:'],
  },
  {
    id: '2b', point: 2, bug: 'Nesterov as plain momentum (TypeScript optimizer)',
    edits: [['src/shared/model/optim.ts', 'params[k] -= lr * (spec.nesterov ? g + mu * buf : buf);', 'params[k] -= lr * buf;']],
    tests: ['golden-cases', 'golden-gradients'], grep: ['^nesterov:'],
  },
  {
    id: '2c', point: 2, bug: 'SGD weight decay dropped (TypeScript optimizer)',
    edits: [['src/shared/model/optim.ts', 'params[k] -= lr * (grads[k] * gradScale + wd * params[k]);', 'params[k] -= lr * grads[k] * gradScale;']],
    tests: ['golden-cases', 'golden-gradients'], grep: ['^sgd-weight-decay:'],
  },
  {
    id: '2d', point: 2, bug: 'AdamW without its decoupled decay (TypeScript optimizer)',
    edits: [['src/shared/model/optim.ts', 'if (decoupled) params[k] *= 1 - lr * wd;', 'if (decoupled) params[k] *= 1;']],
    tests: ['golden-cases', 'golden-gradients'], grep: ['^adamw:'],
  },
  {
    id: '3a', point: 3, bug: 'max-error accumulated with Math.max (a NaN passes)',
    edits: [['test/helpers/max-error.ts', '  if (!Number.isFinite(error)) return Infinity;\n  return error > worst ? error : worst;', '  return Math.max(worst, error);']],
    tests: ['max-error'],
  },
  {
    id: '3b', point: 3, bug: 'max-error with `error > worst` (NaN > worst is false: a NaN vanishes)',
    edits: [['test/helpers/max-error.ts', '  if (!Number.isFinite(error)) return Infinity;\n', '']],
    tests: ['max-error'],
  },
  {
    id: '4a', point: 4, bug: "16% error in one gate's rows of the weight gradients (forget gate)",
    edits: [['src/shared/model/cells.ts', 'dGates[db + H + j] = dc * c[cPrevOff + cb + j] * f * (1 - f);', 'dGates[db + H + j] = 0.84 * dc * c[cPrevOff + cb + j] * f * (1 - f);']],
    tests: ['golden-cases'], grep: ['^lstm1: .*\\(1 worker, ts kernels'],
  },
  {
    id: '4b', point: 4, bug: "zero gradient in one gate's rows (cell gate g)",
    edits: [['src/shared/model/cells.ts', 'dGates[db + 2 * H + j] = dc * i * (1 - g * g);', 'dGates[db + 2 * H + j] = 0;']],
    tests: ['golden-cases'], grep: ['^lstm1: .*\\(1 worker, ts kernels'],
  },
  {
    id: '5a', point: 5, bug: 'recurrence output + outputs last: stale dY rows before the last step',
    edits: [['src/shared/model/network.ts', '      dY.fill(0, 0, row0 * O);\n', '']],
    tests: ['gradcheck'], grep: ['output/last'],
  },
  {
    id: '5b', point: 5, bug: 'a parameter (head bias) left out of both forward and backward',
    edits: [
      ['src/shared/model/network.ts', '    this.ops.addRowVector(this.y, row0 * O, p.headB, rows, O);\n', ''],
      ['src/shared/model/network.ts', '    this.ops.addColumnSums(g.headB, this.dY, row0 * O, rows, O);\n', ''],
    ],
    tests: ['gradcheck'], grep: ['hidden/all'],
  },
  {
    id: '6a', point: 6, bug: 'tanh RNN forward with another nonlinearity (ReLU)',
    edits: [['src/shared/model/cells.ts', 'h[hOff + k] = Math.tanh(pre[aOff + k]);', 'h[hOff + k] = Math.max(0, pre[aOff + k]);']],
    tests: ['golden-cases', 'golden-gradients'], grep: ['^rnn:'],
  },
  {
    id: '6b', point: 6, bug: "2-layer LSTM: layer 2 reads layer 1's previous step",
    edits: [['src/shared/model/network.ts', 'if (k > 0) return [this.output(k - 1), B * this.width];', 'if (k > 0) return [this.output(k - 1), 0];']],
    tests: ['golden-cases'], grep: ['^lstm2:'],
  },
  {
    id: '6c', point: 6, bug: 'MSE as ½·(y − t)² (forward and backward agree, so only PyTorch can tell)',
    edits: [
      ['src/shared/model/loss.ts', 'total += d * d * inv;', 'total += 0.5 * d * d * inv;'],
      ['src/shared/model/loss.ts', 'if (dY) dY[yOff + k] = 2 * d * inv * scale;', 'if (dY) dY[yOff + k] = d * inv * scale;'],
    ],
    tests: ['golden-cases', 'golden-gradients'], grep: ['^adding:'],
  },
  {
    id: '7a', point: 7, bug: 'sampler ignores the temperature',
    edits: [['src/main/inference/model.ts', 'Math.exp(net.y[o] / opt.temperature - max)', 'Math.exp(net.y[o] - max)']],
    tests: ['sample'], grep: ['temperature'],
  },
  {
    id: '7b', point: 7, bug: 'sampler reads only the last character of the prime',
    edits: [['src/main/inference/model.ts', 'for (const id of ids) feed(id);', 'feed(ids[ids.length - 1]!);']],
    tests: ['sample'], grep: ['prime sets the state'],
  },
  {
    id: '8a', point: 8, bug: 'resume reruns every step from step 1',
    edits: [['src/main/training/trainer.ts', 'let step = startStep;', 'let step = 0;']],
    tests: ['resume'], grep: ['continues rather than reruns'],
  },
  {
    id: '8b', point: 8, bug: "resume ignores the checkpoint's weights",
    edits: [['src/main/training/trainer.ts', 'kernels.kernels, resumeFrom ?? init, resumeFrom);', 'kernels.kernels, init, resumeFrom);']],
    tests: ['resume'], grep: ['continues rather than reruns'],
  },
  {
    id: '9a', point: 9, bug: 'bad input: the run folder is made before the input is validated',
    edits: [['src/main/training/trainer.ts', '  const { cfg, dataset, init } = resolveRun(exp, file);', '  folder.open({}, null);\n  const { cfg, dataset, init } = resolveRun(exp, file);']],
    tests: ['bad-inputs'],
  },
  {
    id: '9b', point: 9, bug: 'bad input: a case silently lost from the table',
    edits: [['test/cli/bad-inputs.test.ts', "  train('unknown-optimizer', tinyExperiment({ train: { optimizer: { name: 'rmsprop' } } }), ['train.optimizer.name']);\n", '']],
    tests: ['bad-inputs'],
  },
  {
    id: '10a', point: 10, bug: 'worker fault: the checkpoint left is not a clean run\'s (failed step saved as the last good one)',
    edits: [['src/main/training/trainer.ts', '      throw err instanceof RunError ? new RunError', '      checkpoint(folder["checkpointStep"] ?? 0);\n      throw err instanceof RunError ? new RunError']],
    tests: ['cli-robustness'], grep: ['throw:1:4\\)'],
  },
  {
    id: '11a', point: 11, bug: 'train.evalBatches ignored',
    edits: [['src/main/training/evaluator.ts', 'this.sample = evalBatches !== null &&', 'this.sample = false && evalBatches !== null &&']],
    tests: ['eval-batches'],
  },
  {
    id: '11b', point: 11, bug: 'teacher forcing applied in evaluation',
    edits: [['src/workers/train-worker.ts', '? model.net.forward(model.params, model.shard, B, { teacherForcing: false, gradScale: null })', '? model.net.forward(model.params, model.shard, B, { teacherForcing: plan.spec.teacherForcing, gradScale: null })']],
    tests: ['teacher-forcing'],
  },
  {
    id: '11c', point: 11, bug: 'forget-gate bias defaults to 0',
    edits: [['src/main/experiment/schema.ts', 'forgetBias: is.finiteNumber().default(1),', 'forgetBias: is.finiteNumber().default(0),']],
    tests: ['init-defaults'], grep: ['^defaults'],
  },
  {
    id: '11d', point: 11, bug: 'default initScale not 1/√hidden',
    edits: [['src/shared/model/init.ts', 'const scale = opt.scale ?? 1 / Math.sqrt(cfg.hidden);', 'const scale = opt.scale ?? 0.08;']],
    tests: ['init-defaults'], grep: ['^defaults'],
  },
  {
    id: '11e', point: 11, bug: 'goal: maximize ranked as minimize',
    edits: [['src/main/sweep/summary.ts', "const sign = goal === 'minimize' ? 1 : -1;", 'const sign = 1;']],
    tests: ['cli-sweep-bench'], grep: ['maximize'],
  },
  {
    id: '11f', point: 11, bug: 'recur sweep --out ignored',
    edits: [['src/main/cli/sweep.ts', "parallel: positiveInt('--parallel', argv.parallel), outDir: argv.out,", "parallel: positiveInt('--parallel', argv.parallel), outDir: undefined,"]],
    tests: ['cli-sweep-bench'], grep: ['maximize'],
  },
  {
    id: '11g', point: 11, bug: 'recur bench --cell ignored',
    edits: [['src/main/cli/bench.ts', "cell: oneOf('--cell', argv.cell, ['lstm', 'gru', 'rnn'] as const),", "cell: oneOf('--cell', 'lstm', ['lstm', 'gru', 'rnn'] as const),"]],
    tests: ['cli-sweep-bench'], grep: ['reach the run'],
  },
  {
    id: '11h', point: 11, bug: 'recur sample --help missing a flag (--seed)',
    edits: [['src/main/cli/sample.ts', ".option('seed', { type: 'string', default: '1' })", ".option('seed', { type: 'string', default: '1', hidden: true })"]],
    tests: ['cli-help'], grep: ['each of its flags'],
  },
  {
    id: '11i', point: 11, bug: 'a worker fault during evaluation goes unnoticed (the engine stops checking for a failed worker while it waits)',
    edits: [
      ['src/main/engine/engine.ts', '      if (done >= N) return;\n      if (this.failure) throw this.failure;\n', '      if (done >= N) return;\n'],
    ],
    tests: ['cli-robustness'], grep: ['throw:1:3:eval'],
  },
  {
    id: '12a', point: 12, bug: 'wasm-optim: the step loop runs zero cases',
    edits: [['test/shared/wasm-optim.test.ts', 'for (let step = 1; step <= 50; step++) {', 'for (let step = 1; step < 1; step++) {']],
    tests: ['wasm-optim'],
  },
  {
    id: '12b', point: 12, bug: 'wasm-loss: a shape loop runs zero cases',
    edits: [['test/shared/wasm-loss.test.ts', 'for (const R of [1, 3, 33]) {\n        for (const withGrad', 'for (const R of [1, 3, 33].filter((r) => r > 33)) {\n        for (const withGrad']],
    tests: ['wasm-loss'], grep: ['^softmax cross-entropy'],
  },
  {
    id: '12c', point: 12, bug: 'dropout forgets its inverted scaling (kept units not multiplied by 1/(1 - p))',
    edits: [['src/shared/model/dropout.ts', 'const keep = 1 / (1 - p), threshold', 'const keep = 1, threshold']],
    tests: ['dropout-scaling'],
  },
  {
    id: '13a', point: 13, bug: 'the token embedding gradient reaches only the first step\'s rows (the rest of the batch\'s tokens get none)',
    edits: [['src/shared/model/network.ts', 'for (let r = 0; r < R; r++) addTo(dEmb,', 'for (let r = 0; r < B; r++) addTo(dEmb,']],
    tests: ['gradcheck'], grep: ['embedding'],
  },
  {
    id: '13b', point: 13, bug: 'a categorical column\'s gradient goes to the level of the wrong sequence (time index read as the sequence)',
    edits: [['src/shared/model/network.ts', 'addTo(dTable, input.categories![(r % B) * C + c] * W', 'addTo(dTable, input.categories![(Math.floor(r / B) % B) * C + c] * W']],
    tests: ['gradcheck'], grep: ['categorical'],
  },
  {
    id: '13c', point: 13, bug: 'a shard\'s categories are written at the sequence\'s place in the whole batch, so on N workers the levels shift (1 worker is unaffected)',
    edits: [['src/main/data/series.ts', 'out.categories![j * C + c] = s.categories[c]', 'out.categories![(start + j) * C + c] = s.categories[c]']],
    tests: ['engine-equivalence'], grep: ['series'],
  },
  {
    id: '13d', point: 13, bug: 'a level unseen in training reads the first known level\'s row instead of <unk>',
    edits: [['src/main/data/series-build.ts', 'index[c].get(level) ?? 0', 'index[c].get(level) ?? 1']],
    tests: ['categorical'], grep: ['unseen'],
  },
  {
    id: '14a', point: 14, bug: 'weightDrop backward forgets the mask (dropped weight_hh entries get a gradient)',
    edits: [['src/shared/model/network.ts', 'addProduct(g.layers[k].wRec, dMasked, mask, mask.length);', 'addProduct(g.layers[k].wRec, dMasked, this.weightDrops[k].weights.map(() => 1), mask.length);']],
    tests: ['gradcheck'], grep: ['weightDrop'],
  },
  {
    id: '14b', point: 14, bug: 'lockedDropout draws a new mask at every step (its time key not fixed)',
    edits: [['src/shared/model/network.ts', 'locked ? LOCKED_TIME : t, B, W);', 't, B, W);']],
    tests: ['recurrent-regularisers'], grep: ['^lockedDropout'],
  },
  {
    id: '14c', point: 14, bug: 'randomOffset: every epoch gets epoch 0\'s offset',
    edits: [['src/main/training/trainer.ts', 'windowOffset(exp.seed, epoch, dataset.seqLen)', 'windowOffset(exp.seed, 0, dataset.seqLen)']],
    tests: ['random-offset'],
  },
  {
    id: '13e', point: 13, bug: 'a tied checkpoint loads whatever its head.weight holds (not checked against embedding.weight)',
    edits: [['src/main/checkpoint/checkpoint-codec.ts', 'if (cfg.tieWeights) checkTiedHead(', 'if (false) checkTiedHead(']],
    tests: ['checkpoint'], grep: ['token models'],
  },
  {
    id: '13f', point: 13, bug: 'the token vocabulary of sequences counts the validation lines too',
    edits: [['src/main/data/sequences.ts', 'buildVocabulary(trainRaw.flatMap(', 'buildVocabulary([...trainRaw, ...valRaw].flatMap(']],
    tests: ['sequences'], grep: ['token steps: vocabulary'],
  },
  {
    id: '13g', point: 13, bug: 'ONNX: a tied head multiplies by the embedding matrix untransposed',
    edits: [['src/main/export/onnx.ts', "wT = g.node('Transpose', [TIED_HEAD_WEIGHT], { perm: [1, 0] });", 'wT = TIED_HEAD_WEIGHT;']],
    tests: ['onnx'], grep: ['tied GRU'],
  },
  {
    id: '13h', point: 13, bug: 'model.embeddingInitScale never reaches the initialisation (embeddings always start N(0, 1))',
    edits: [['src/main/training/trainer.ts', 'embeddingScale: exp.model!.embeddingInitScale }', 'embeddingScale: null }']],
    tests: ['init-defaults'], grep: ['embedding tables'],
  },
  {
    id: '15a', point: 15, bug: 'bidirectional: the reverse direction starts at the padded batch\'s last step, not at each sequence\'s own',
    edits: [['src/shared/model/network.ts', 'const n = lengths && this.masked ? lengths[b] : T;', 'const n = T;']],
    tests: ['golden-cases', 'golden-gradients'], grep: ['^bi'],
  },
  {
    id: '15b', point: 15, bug: 'bidirectional, outputs last: the head reads the reverse direction after its first step, not its final state',
    edits: [['src/shared/model/network.ts', "const top = k === this.shape.cfg.layers - 1 && this.shape.cfg.outputs === 'last';", 'const top = false;']],
    tests: ['onnx'], grep: ['bidirectional'],
  },
];

const args = process.argv.slice(2);
if (args.includes('--list')) {
  for (const m of MUTANTS) console.log(`${m.id.padEnd(4)} pt ${String(m.point).padEnd(3)} ${m.bug} → ${m.tests.join(', ')}`);
  process.exit(0);
}
if (args.includes('--check')) {
  // Only that every edit still applies (its search text occurs exactly once), against this tree.
  let bad = 0;
  for (const m of MUTANTS) {
    for (const [file, search] of m.edits) {
      const count = readFileSync(join(ROOT, file), 'utf8').split(search).length - 1;
      if (count !== 1) { bad++; console.error(`${m.id}: ${file}: the search text occurs ${count} times: ${JSON.stringify(search)}`); }
    }
    for (const test of m.tests) {
      if (!testFile(test)) { bad++; console.error(`${m.id}: no test/**/${test}.test.ts`); }
    }
  }
  console.log(bad ? `${bad} problem(s)` : `all ${MUTANTS.length} mutants apply`);
  process.exit(bad ? 1 : 0);
}
const chosen = args.filter((a) => !a.startsWith('--'));
const unknown = chosen.filter((id) => !MUTANTS.some((m) => m.id === id));
if (unknown.length) {
  console.error(`error: unknown mutant(s) ${unknown.join(', ')}; see --list`);
  process.exit(2);
}
const mutants = chosen.length ? MUTANTS.filter((m) => chosen.includes(m.id)) : MUTANTS;
const baseline = !args.includes('--no-baseline');

/** The repository's files (tracked, and new ones not ignored) copied into a fresh temp folder. */
function freshCopy() {
  const dir = mkdtempSync(join(tmpdir(), 'recur-mutant-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0').filter((f) => f !== '' && f !== 'node_modules' && existsSync(join(ROOT, f)));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(ROOT, f), join(dir, f));
  }
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(dir, 'node_modules'));
  return dir;
}

/** Applies one edit; the search text must occur exactly once. */
function applyEdit(dir, [file, search, replace]) {
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  const count = text.split(search).length - 1;
  if (count !== 1) throw new Error(`${file}: the search text occurs ${count} times (must be once): ${JSON.stringify(search)}`);
  writeFileSync(path, text.replace(search, () => replace));
}

function build(dir) {
  const r = spawnSync('npm', ['run', 'build'], { cwd: dir, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}\n${r.stderr}` };
}

/** Runs one test file (optionally only the subtests matching grep); true when it passed. */
function runTest(dir, test, grep) {
  const source = testFile(test);
  const file = source === null ? `dist/test/**/${test}.test.js` : join('dist', source.replace(/\.ts$/, '.js'));
  if (source === null || !existsSync(join(dir, file))) return { passed: null, output: `no ${file}` };
  const tapArgs = ['--disable-coverage', '--reporter=tap', ...(grep ?? []).map((g) => `--grep=${g}`), file];
  const env = { ...process.env };
  delete env.RECUR_TEST_FAULT;
  const r = spawnSync(join(dir, 'node_modules/.bin/tap'), tapArgs, { cwd: dir, encoding: 'utf8', env });
  const output = `${r.stdout}\n${r.stderr}`;
  // A failure counts only as failing assertions; tap exiting non-zero without any (a crash, a
  // broken install) is no evidence either way.
  if (r.error || (r.status !== 0 && failures(output).length === 0) || (r.status === 0 && !/^\s*ok \d+/m.test(output))) {
    return { passed: null, output: `tap exited ${r.status}${r.error ? ` (${r.error.message})` : ''} without a failing assertion, or passed without a passing one\n${output}` };
  }
  return { passed: r.status === 0, output };
}

/** The first failing assertions of a tap log, for the report. */
function failures(output) {
  return output.split('\n').filter((l) => /^\s*not ok /.test(l) && !/# (SKIP|TODO)/.test(l)).map((l) => l.trim()).slice(0, 3);
}

/** Recompiles one edited .ts file of the copy into dist/ (no type check: the tests only run the JS). */
function compile(dir, file) {
  if (!file.endsWith('.ts')) throw new Error(`${file}: only TypeScript sources can be mutated`);
  const out = join(dir, 'dist', file.replace(/\.ts$/, '.js'));
  const { outputText } = ts.transpileModule(readFileSync(join(dir, file), 'utf8'), {
    fileName: file,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, sourceMap: false },
  });
  writeFileSync(out, outputText);
}

const logDir = mkdtempSync(join(tmpdir(), 'recur-mutants-logs-'));
const rows = [];
let failed = false;
const dir = freshCopy();
// Ctrl-C or a kill between test runs: leave no copy behind.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}
try {
  const b = build(dir);
  if (!b.ok) throw new Error(`the copy does not build:\n${b.output}`);

  if (baseline) {
    // The named files unmutated, with the same filters: they must pass.
    const seen = new Set();
    for (const m of mutants) {
      for (const test of m.tests) {
        const key = `${test} ${JSON.stringify(m.grep ?? [])}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const started = Date.now();
        const r = runTest(dir, test, m.grep);
        const seconds = (Date.now() - started) / 1000;
        console.error(`baseline ${test}${m.grep ? ` --grep ${m.grep.join(' ')}` : ''}: ${r.passed ? 'passes' : r.passed === null ? `NO RESULT (${r.output.split('\n')[0]})` : 'FAILS'} (${seconds.toFixed(0)} s)`);
        if (!r.passed) {
          failed = true;
          writeFileSync(join(logDir, `baseline-${test}.log`), r.output);
          for (const f of failures(r.output)) console.error(`  ${f}`);
        }
      }
    }
    if (failed) console.error('baseline: some named tests fail or are missing without any mutant; kills there would prove nothing (see logs)');
  }

  for (const m of mutants) {
    const started = Date.now();
    const files = [...new Set(m.edits.map(([file]) => file))];
    const saved = new Map(files.map((f) => {
      const js = join(dir, 'dist', f.replace(/\.ts$/, '.js'));
      return [f, { source: readFileSync(join(dir, f)), js, compiled: existsSync(js) ? readFileSync(js) : null }];
    }));
    let status, detail = '';
    try {
      for (const edit of m.edits) applyEdit(dir, edit);
      for (const f of files) compile(dir, f);
      const killedBy = [];
      let missing = false;
      for (const test of m.tests) {
        const r = runTest(dir, test, m.grep);
        writeFileSync(join(logDir, `${m.id}-${test}.log`), r.output);
        if (r.passed === null) { missing = true; detail ||= r.output.split('\n')[0]; }
        else if (!r.passed) {
          killedBy.push(test);
          detail ||= failures(r.output)[0] ?? '';
        }
      }
      status = missing ? 'NO RESULT' : killedBy.length === m.tests.length ? 'killed' : killedBy.length ? `killed by ${killedBy.join(', ')}` : 'SURVIVED';
    } catch (err) {
      status = 'NOT APPLIED';
      detail = err.message;
    } finally {
      for (const [f, { source, js, compiled }] of saved) {
        writeFileSync(join(dir, f), source);
        if (compiled) writeFileSync(js, compiled);
      }
    }
    const seconds = (Date.now() - started) / 1000;
    if (!status.startsWith('killed')) failed = true;
    rows.push({ ...m, status, seconds, detail });
    console.error(`${m.id} (pt ${m.point}) ${m.bug}: ${status} in ${seconds.toFixed(0)} s${detail ? ` — ${detail}` : ''}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const table = [
  '| # | point | bug | test | result | seconds |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.id} | ${r.point} | ${r.bug} | ${r.tests.map((x) => testFile(x) ?? `test/${x}.test.ts`).join(', ')}${r.grep ? ` (${r.grep.map((g) => `\`${g.replace(/\|/g, '\\|')}\``).join(', ')})` : ''} | ${r.status} | ${r.seconds.toFixed(0)} |`),
];
console.log(table.join('\n'));
const killed = rows.filter((r) => r.status.startsWith('killed')).length;
console.log(`\n${killed} of ${rows.length} mutants killed; logs in ${logDir}`);
process.exit(failed ? 1 : 0);
