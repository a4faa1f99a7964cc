/**
 * `--resume` after a run killed while it wrote metrics.jsonl: the file ends in a partial,
 * unterminated line past the checkpoint. The resumed run drops it (and every line after the
 * checkpoint) and ends bit for bit where the uninterrupted run ends, with each step logged once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { ckpt, experiment, ok } from '../helpers/resume.js';
import { readMetrics, runRecur, tempDir, writeExperiment } from '../helpers/cli.js';
import { differingTensors } from '../helpers/tensors.js';
import { sampleText } from '../helpers/text.js';

t.test('--resume with a torn last line in metrics.jsonl succeeds and equals the uninterrupted run', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'text.txt'), sampleText(3000));
  const expStraight = writeExperiment(dir, 'straight', experiment(dir, 12));
  const expTorn = writeExperiment(dir, 'torn', experiment(dir, 5));
  const straightDir = path.join(dir, 'run-straight');
  const tornDir = path.join(dir, 'run-torn');
  const [straight, first] = await Promise.all([runRecur(['train', expStraight]), runRecur(['train', expTorn])]);
  ok(t, straight, 'the uninterrupted run');
  ok(t, first, 'the 5-step run');

  // Killed after step 6 was logged and while step 7's line was being written: the checkpoint is
  // step 5's, one whole line lies past it, and the last line stops mid-number without a newline.
  const metricsPath = path.join(tornDir, 'metrics.jsonl');
  const step6 = JSON.stringify({ step: 6, loss: 99, lr: 0.01, gradNorm: 1, tokensPerSec: 1, elapsedSec: 1 });
  fs.appendFileSync(metricsPath, `${step6}\n{"step":7,"loss":2.3`);

  const resumed = await runRecur(['train', expTorn, '--resume', '--set', 'train.steps=12']);
  ok(t, resumed, 'the resumed run');

  t.same(differingTensors(ckpt(straightDir), ckpt(tornDir)), [], 'every tensor (parameters, optimizer state) equals the uninterrupted run\'s');
  const text = fs.readFileSync(metricsPath, 'utf8');
  t.ok(text.endsWith('\n'), 'metrics.jsonl ends in a whole line');
  const lines = readMetrics(tornDir); // throws on a line that is not JSON
  const expected = readMetrics(straightDir);
  t.same(lines.map((l) => l.step), expected.map((l) => l.step), 'each step logged once, in order (the torn and the stale line gone)');
  for (const want of expected) {
    const got = lines.find((l) => l.step === want.step);
    t.equal(got?.loss, want.loss, `step ${want.step}: same loss`);
    t.equal(got?.gradNorm, want.gradNorm, `step ${want.step}: same gradient norm`);
    if (want.valLoss !== undefined) t.equal(got?.valLoss, want.valLoss, `step ${want.step}: same validation loss`);
  }
});
