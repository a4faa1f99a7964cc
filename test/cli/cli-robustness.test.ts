/**
 * What a user sees when a run goes wrong (SPEC §5): a worker that throws or exits, divergence to
 * NaN, Ctrl-C / SIGTERM, and a checkpoint write that fails. Every case runs the real CLI as a
 * child process and then inspects the run folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { loadCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { errorLines, readMetrics, runRecur, spawnRecur, stackLines, tempDir, tinyExperiment, writeExperiment } from '../helpers/cli.js';

/** Long enough (minutes) that a hang after a fault cannot pass unnoticed. */
const LONG_STEPS = 100000;

const checkpointOf = (runDir: string): string => path.join(runDir, 'checkpoint.safetensors');

const allFinite = (a: ArrayLike<number>): boolean => {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
};

/** Whether two tensors hold the same bytes. */
const sameBytes = (a: Float32Array | Float64Array, b: Float32Array | Float64Array | undefined): boolean =>
  b !== undefined && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Names of the files in a folder, temp files included. */
const listing = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

for (const fault of [
  { kind: 'throw', rank: 1, step: 4, inEval: false, kernels: 'ts', what: /: injected fault in worker 1 at step 4;/ },
  { kind: 'exit', rank: 0, step: 3, inEval: false, kernels: 'ts', what: /: worker exited with code:? 3;/ },
  { kind: 'throw', rank: 0, step: 4, inEval: false, kernels: 'wasm', what: /: injected fault in worker 0 at step 4;/ },
  { kind: 'throw', rank: 1, step: 3, inEval: true, kernels: 'wasm', what: /: injected fault in worker 1 in the evaluation after step 3;/ },
  { kind: 'exit', rank: 1, step: 3, inEval: true, kernels: 'ts', what: /: worker exited with code:? 3;/ },
] as const) {
  const hook = `${fault.kind}:${fault.rank}:${fault.step}${fault.inEval ? ':eval' : ''}`;
  const where = fault.inEval ? `in the evaluation after step ${fault.step}` : `at step ${fault.step}`;
  t.test(`a worker that ${fault.kind === 'throw' ? 'throws' : 'exits its thread'} ${where} (${fault.kernels} kernels, RECUR_TEST_FAULT=${hook}) ends the run with exit 1 and the checkpoint of step 2, equal to a clean 2-step run`, async (t) => {
    const dir = tempDir(t);
    // Checkpoints every 2 steps, evaluations every 3: whatever fails at step 3 or 4, step 2's checkpoint is the last good one.
    const train = { steps: LONG_STEPS, checkpointEvery: 2, logEvery: 1, evalEvery: fault.inEval ? 3 : 1000, kernels: fault.kernels };
    const exp = writeExperiment(dir, 'fault', tinyExperiment({ train }));
    const runDir = path.join(dir, 'run-fault');
    const run = spawnRecur(['train', exp], { env: { RECUR_TEST_FAULT: hook }, timeoutMs: 60_000 });
    // The last step logged before the fault; from there to exit is what a user waits.
    const lastGood = fault.step - 1;
    const sawLastGood = await run.waitForStderr(new RegExp(`^step ${lastGood}/`, 'm')).then(() => true, () => false);
    const beforeFault = performance.now();
    const res = await run.done;
    const afterFault = performance.now() - beforeFault;
    t.ok(sawLastGood, `step ${lastGood} was logged before the fault`);
    t.equal(res.timedOut, false, 'the CLI exited by itself (no hang)');
    t.equal(res.code, 1, `exit code 1; stderr:\n${res.stderr}`);
    t.ok(afterFault < 5000, `exited ${afterFault.toFixed(0)} ms after step ${lastGood} was logged (< 5 s)`);
    t.ok(res.ms < 60000, `whole run took ${res.ms.toFixed(0)} ms (< 60 s; the uninterrupted 100,000 steps would take many minutes)`);
    const errors = errorLines(res.stderr);
    t.equal(errors.length, 1, 'exactly one error: line');
    const line = errors[0] ?? '';
    t.match(line, new RegExp(`^error: worker ${fault.rank} failed: `), 'names the worker');
    t.match(line, fault.what, 'says what failed');
    t.ok(line.endsWith(`the last good checkpoint is ${checkpointOf(runDir)} (step 2)`), `says where the last good checkpoint is: ${line}`);
    t.same(stackLines(res.stderr), [], 'no stack trace');
    const ck = loadCheckpoint(checkpointOf(runDir));
    t.equal(ck.train?.step, 2, 'the checkpoint is the one of step 2');
    t.same(readMetrics(runDir).map((l) => l.step), Array.from({ length: lastGood }, (_, i) => i + 1), 'metrics.jsonl holds the steps before the fault');
    t.same(listing(runDir).filter((f) => f.endsWith('.tmp')), [], 'no temp file left behind');

    // The same experiment run cleanly for 2 steps ends with the same bits.
    const clean = await runRecur(['train', exp, '--set', 'train.steps=2', '--out', path.join(dir, 'clean')]);
    t.equal(clean.code, 0, 'a clean 2-step run exits 0');
    const a = readSafetensors(checkpointOf(runDir)).tensors, b = readSafetensors(checkpointOf(path.join(dir, 'clean'))).tensors;
    t.same([...a.keys()].sort(), [...b.keys()].sort(), 'same tensor names');
    t.same([...a.keys()].filter((k) => !sameBytes(a.get(k)!.data, b.get(k)?.data)), [], 'every tensor equals the clean run\'s, bit for bit');
  });
}

t.test('divergence to NaN/Inf: exit 1 naming the step; the checkpoint before it is intact and finite', async (t) => {
  const dir = tempDir(t);
  const base = tinyExperiment({
    data: { task: 'sine', seqLen: 8, trainSize: 64, valSize: 16 },
    train: { steps: 50, checkpointEvery: 1, logEvery: 1, evalEvery: 1000, clip: null, optimizer: { name: 'sgd', lr: 1e30 } },
  });
  const exp = writeExperiment(dir, 'diverge', base);
  const runDir = path.join(dir, 'run-diverge');
  const res = await runRecur(['train', exp]);
  t.equal(res.code, 1, `exit code 1; stderr:\n${res.stderr}`);
  const errors = errorLines(res.stderr);
  t.equal(errors.length, 1, 'exactly one error: line');
  const m = /diverged at step (\d+)/.exec(errors[0] ?? '');
  t.ok(m, `names the step: ${errors[0]}`);
  const badStep = Number(m?.[1]);
  t.ok(badStep >= 2, 'the divergence comes after at least one good step');
  t.ok((errors[0] ?? '').includes(checkpointOf(runDir)), 'names the last good checkpoint');
  t.same(stackLines(res.stderr), [], 'no stack trace');
  const ck = loadCheckpoint(checkpointOf(runDir));
  t.equal(ck.train?.step, badStep - 1, 'the checkpoint is the one of the step before the divergence');
  t.ok(allFinite(ck.params), 'all its parameters are finite');
  const logged = readMetrics(runDir);
  t.ok(logged.every((l) => Number.isFinite(l.loss)), 'metrics.jsonl holds no NaN loss');

  // An update so large that the parameters themselves overflow float32 after step 1: the loss of
  // step 1 was finite, so only the parameters tell. No checkpoint may hold them.
  const exp2 = writeExperiment(dir, 'overflow', { ...base, train: { ...(base.train as object), optimizer: { name: 'sgd', lr: 1e45 } } });
  const runDir2 = path.join(dir, 'run-overflow');
  const res2 = await runRecur(['train', exp2]);
  t.equal(res2.code, 1, `overflowing parameters: exit code 1; stderr:\n${res2.stderr}`);
  const errors2 = errorLines(res2.stderr);
  t.equal(errors2.length, 1, 'exactly one error: line');
  t.match(errors2[0] ?? '', /diverged at step \d+/, 'names the step');
  if (fs.existsSync(checkpointOf(runDir2))) {
    t.ok(allFinite(loadCheckpoint(checkpointOf(runDir2)).params), 'any checkpoint left has finite parameters');
  } else {
    t.match(errors2[0] ?? '', /no checkpoint/, 'says no checkpoint was written');
  }
});

/** Splits a shell command line into words (plain words and '…' quoting, as the CLI prints them). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /\s*((?:[^\s']+|'[^']*')+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) words.push(m[1]!.replace(/'([^']*)'/g, '$1'));
  return words;
}

for (const sig of [
  // With command-line overrides and a run folder whose name needs quoting: the printed resume
  // command must carry them, or --resume would refuse the run as a different experiment.
  { name: 'SIGINT', code: 130, extra: (dir: string) => ['--workers', '1', '--set', 'train.optimizer.lr=0.005', '--out', path.join(dir, 'my run')] },
  { name: 'SIGTERM', code: 143, extra: (_dir: string) => [] as string[] },
] as const) {
  t.test(`${sig.name} during training: exit ${sig.code}, a checkpoint, and the printed --resume command finishes where an uninterrupted run would`, async (t) => {
    const dir = tempDir(t);
    const exp = writeExperiment(dir, 'long', tinyExperiment({ train: { steps: LONG_STEPS, logEvery: 50, evalEvery: 1000, checkpointEvery: 100000 } }));
    const extra = sig.extra(dir);
    const runDir = extra.includes('--out') ? extra[extra.indexOf('--out') + 1]! : path.join(dir, 'run-long');
    const run = spawnRecur(['train', exp, ...extra], { timeoutMs: 60_000 });
    await run.waitForStderr(/^step \d+\//m);
    const killedAt = performance.now();
    run.child.kill(sig.name);
    const res = await run.done;
    const stopMs = performance.now() - killedAt;
    t.equal(res.timedOut, false, 'the CLI exited by itself');
    t.equal(res.code, sig.code, `exit code ${sig.code}; stderr:\n${res.stderr.slice(-2000)}`);
    t.ok(stopMs < 5000, `stopped ${stopMs.toFixed(0)} ms after the signal (< 5 s)`);
    t.same(errorLines(res.stderr), [], 'no error: line');
    t.same(stackLines(res.stderr), [], 'no stack trace');
    const ck = loadCheckpoint(checkpointOf(runDir));
    const step = Number(ck.train?.step);
    t.ok(step > 0 && step < LONG_STEPS, `the checkpoint has a step inside the run (${step})`);
    t.ok(res.stderr.includes(checkpointOf(runDir)), 'stderr says where the checkpoint is');
    t.match(res.stderr, new RegExp(`stopped at step ${step}\\b`), 'stderr says at which step it stopped');
    const hint = res.stderr.split('\n').find((l) => /--resume/.test(l)) ?? '';
    t.match(hint, /recur train .*--resume/, `stderr says how to resume: ${hint}`);
    t.same(listing(runDir).filter((f) => f.endsWith('.tmp')), [], 'no temp file left behind');
    t.ok(readMetrics(runDir).every((l) => l.step <= step), 'metrics.jsonl ends at or before the checkpoint');

    // Run exactly the printed command (steps raised so it ends soon).
    const words = shellWords(hint.slice(hint.indexOf('recur train')));
    t.equal(words[0], 'recur', 'the hint is a recur command');
    const target = step + 5;
    const resumed = await runRecur([...words.slice(1), '--set', `train.steps=${target}`]);
    t.equal(resumed.code, 0, `the printed --resume command exits 0; stderr:\n${resumed.stderr.slice(-2000)}`);
    const after = loadCheckpoint(checkpointOf(runDir));
    t.equal(after.train?.step, target, `the resumed run ends at step ${target}`);

    // The same command run straight through to `target` steps ends with the same bits.
    const straightDir = path.join(dir, 'straight');
    const straightArgs = ['train', exp, ...extra.filter((_, i) => extra[i] !== '--out' && extra[i - 1] !== '--out')];
    const straight = await runRecur([...straightArgs, '--set', `train.steps=${target}`, '--out', straightDir]);
    t.equal(straight.code, 0, 'the uninterrupted run exits 0');
    const a = readSafetensors(checkpointOf(runDir)).tensors;
    const b = readSafetensors(checkpointOf(straightDir)).tensors;
    t.same([...a.keys()].sort(), [...b.keys()].sort(), 'same tensor names');
    const differing = [...a.keys()].filter((k) => !sameBytes(a.get(k)!.data, b.get(k)?.data));
    t.same(differing, [], 'interrupted + resumed == uninterrupted, bit for bit (parameters and optimizer state)');
  });
}

t.test('a checkpoint write that fails (EFBIG under ulimit -f) keeps the previous checkpoint and says so', async (t) => {
  const dir = tempDir(t);
  // hidden 64 + Adam: the checkpoint is ~200 KB, over a 100 KB file-size limit; metrics and config stay small.
  const exp = writeExperiment(dir, 'big', tinyExperiment({ model: { cell: 'lstm', hidden: 64 }, train: { steps: 3, checkpointEvery: 2, logEvery: 1, evalEvery: 1000 } }));
  const runDir = path.join(dir, 'run-big');
  const first = await runRecur(['train', exp]);
  t.equal(first.code, 0, `the first run writes its checkpoint; stderr:\n${first.stderr}`);
  const before = fs.readFileSync(checkpointOf(runDir));
  t.ok(before.length > 102400, `the checkpoint (${before.length} bytes) is larger than the limit`);

  // SIGXFSZ is ignored (node does so itself; the trap makes sure), so the write fails with EFBIG.
  const res = await runRecur(['train', exp, '--resume', '--set', 'train.steps=8'], { shellPrefix: "trap '' XFSZ; ulimit -f 200" });
  t.equal(res.signal, null, 'not killed by SIGXFSZ');
  const warnings = res.stderr.split('\n').filter((l) => l.startsWith('warning:'));
  t.ok(warnings.length >= 1, `warns about the failed write; stderr:\n${res.stderr}`);
  t.match(warnings[0] ?? '', /could not write the checkpoint at step 4/, 'the warning names the step');
  t.ok((warnings[0] ?? '').includes(checkpointOf(runDir)) && /intact/.test(warnings[0] ?? ''), 'the warning names the intact checkpoint');
  t.equal(res.code, 1, 'the final checkpoint cannot be written either: exit 1');
  const errors = errorLines(res.stderr);
  t.equal(errors.length, 1, 'exactly one error: line');
  t.ok((errors[0] ?? '').includes(checkpointOf(runDir)), `the error names the checkpoint: ${errors[0]}`);
  t.match(errors[0] ?? '', /last good checkpoint|intact/, 'and says it is the last good one');
  t.same(stackLines(res.stderr), [], 'no stack trace');
  t.ok(fs.readFileSync(checkpointOf(runDir)).equals(before), 'the previous checkpoint is byte-for-byte intact');
  t.equal(loadCheckpoint(checkpointOf(runDir)).train?.step, 3, 'and still loads, at step 3');
  t.same(listing(runDir).filter((f) => f.endsWith('.tmp')), [], 'no temp file left behind');
});
