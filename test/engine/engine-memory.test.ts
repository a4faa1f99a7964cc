// Long runs stay flat: the default model once grew its RSS by 11 MB because every step left
// ~650 bytes behind (a reaction on a promise that lived as long as the engine). The probe
// (test/helpers/engine-memory-probe.ts) runs 10k steps and evaluations of a 1-unit model in a
// plain node process and reports how much the heap grew after a full GC.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const STEPS = 10_000;
/** The old leak retained ~7 MB over STEPS; a flat engine stays within noise (~0.02 MB measured). */
const MAX_GROWTH_BYTES = 1_000_000;

t.test('the engine retains no memory per step (train steps and evaluations)', async (t) => {
  const probe = fileURLToPath(new URL('../helpers/engine-memory-probe.js', import.meta.url));
  // A clean execArgv and NODE_OPTIONS: none of tap's import hooks in the probe.
  const out = spawnSync(process.execPath, ['--expose-gc', probe, String(STEPS)], {
    encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' },
  });
  t.equal(out.status, 0, `the probe ran\n${out.stderr}`);
  const { steps, growthBytes } = JSON.parse(out.stdout) as { steps: number; growthBytes: number };
  t.equal(steps, STEPS, 'every step ran');
  t.ok(growthBytes < MAX_GROWTH_BYTES, `heap grew ${(growthBytes / 1e6).toFixed(3)} MB over ${STEPS} steps (at most ${MAX_GROWTH_BYTES / 1e6} MB)`);
});
