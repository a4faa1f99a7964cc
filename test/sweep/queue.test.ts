/**
 * Sweeps on a BullMQ queue with a real redis-server on a loopback port (test/helpers/redis.ts):
 * `recur sweep --queue` and `recur agent` as separate processes, the way users run them.
 * Without redis-server the tests that need it are skipped, naming the package to install.
 */
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorLines, runRecur, spawnRecur, stackLines, tempDir, type RunResult, type RunningRecur } from '../helpers/cli.js';
import { freePort, skipWithoutRedis, startRedis } from '../helpers/redis.js';
import { InputError } from '../../src/main/errors.js';
import { parseQueueUrl, sweepQueueName } from '../../src/main/sweep/queue/connection.js';
import { nextQueue } from '../../src/main/sweep/queue/agent.js';
import { Queue } from 'bullmq';

const skip = skipWithoutRedis();

/** Short locks so a killed agent's trial is handed on within seconds; a lost Redis is given up on after 2 s. */
const QUEUE_ENV = { RECUR_QUEUE_LOCK_MS: '1500', RECUR_REDIS_TIMEOUT_MS: '2000' };

interface TrialLine {
  id: string;
  parameters: Record<string, unknown>;
  metric: number | null;
  status: string;
  seconds: number;
  steps?: number;
  plannedSteps?: number;
  evals?: [number, number][];
}

function trialLines(sweepDir: string): TrialLine[] {
  const file = join(sweepDir, 'trials.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as TrialLine);
}

/** trials.jsonl by trial id, without the wall time (the one field two runs may not share). */
function comparable(sweepDir: string): Record<string, Omit<TrialLine, 'seconds'>> {
  return Object.fromEntries(trialLines(sweepDir).map(({ seconds: _, ...rest }) => [rest.id, rest]));
}

/** A folder with base.json and <name>.json (the sweep, named `name`); returns the sweep file. */
function writeSweep(dir: string, base: Record<string, unknown>, sweep: Record<string, unknown>, name = 'sweep'): string {
  writeFileSync(join(dir, 'base.json'), JSON.stringify(base));
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ base: 'base.json', method: 'grid', ...sweep }));
  return file;
}

/** The adding problem with a small LSTM; `steps` sets how long a trial takes. */
function addingBase(train: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    seed: 1,
    data: { task: 'adding', seqLen: 10, trainSize: 256, valSize: 32 },
    model: { cell: 'lstm', hidden: 8 },
    train: { batch: 8, steps: 30, evalEvery: 10, logEvery: 10, checkpointEvery: 10, kernels: 'ts', ...train },
  };
}

/** Waits for a child, failing the test if the helper had to kill it. */
async function finish(test: Pick<typeof t, 'notOk'>, name: string, running: RunningRecur): Promise<RunResult> {
  const result = await running.done;
  test.notOk(result.timedOut, `${name} finished on its own`);
  return result;
}

t.test('--queue URLs: redis://HOST:PORT[/DB], anything else is bad input', async (t) => {
  t.match(parseQueueUrl('redis://127.0.0.1:6390/3'), { host: '127.0.0.1', port: 6390, db: 3, tls: false, display: 'redis://127.0.0.1:6390/3' });
  t.match(parseQueueUrl('redis://localhost'), { host: 'localhost', port: 6379, db: 0 }, 'port and database default');
  t.match(parseQueueUrl('rediss://u:secret@h.example:7000'), { username: 'u', password: 'secret', tls: true, display: 'rediss://u:***@h.example:7000' }, 'no password in messages');
  t.match(parseQueueUrl('redis://[::1]:6379'), { host: '::1' });
  const bad = ['localhost:6379', 'http://127.0.0.1:6379', 'redis://127.0.0.1:99999', 'redis://127.0.0.1:6379/x', 'redis://', 'redis://h:1/0?x=1', ''];
  for (const url of bad) t.throws(() => parseQueueUrl(url), InputError, JSON.stringify(url));
});

t.test('a bad --queue URL on the command line: exit 2, one error line, nothing written', async (t) => {
  const dir = tempDir(t);
  const file = writeSweep(dir, addingBase(), { parameters: { seed: { values: [1] } }, output: { dir: join(dir, 'out') } });
  for (const url of ['http://127.0.0.1:6379']) {
    for (const args of [['agent', '--queue', url], ['sweep', file, '--queue', url]]) {
      const r = await runRecur(args);
      t.equal(r.code, 2, `${args[0]} ${url}: exit 2`);
      t.equal(errorLines(r.stderr).length, 1, `${args[0]} ${url}: one error line`);
      t.match(r.stderr, /^error: --queue: expected redis:\/\/HOST:PORT\[\/DB\]/m, 'names the flag and the form');
      t.strictSame(stackLines(r.stderr), [], 'no stack trace');
    }
  }
  t.notOk(existsSync(join(dir, 'out')), 'no sweep folder');
});

t.test('an unreachable Redis: exit 1 with a clear error, not a hang', async (t) => {
  const dir = tempDir(t);
  const file = writeSweep(dir, addingBase(), { parameters: { seed: { values: [1] } }, output: { dir: join(dir, 'out') } });
  const url = `redis://127.0.0.1:${await freePort()}`;
  for (const args of [['agent', '--queue', url, '--once'], ['sweep', file, '--queue', url]]) {
    const r = await runRecur(args, { env: QUEUE_ENV, timeoutMs: 30_000 });
    t.notOk(r.timedOut, `${args[0]}: exits on its own`);
    t.equal(r.code, 1, `${args[0]}: exit 1`);
    t.strictSame(errorLines(r.stderr), [errorLines(r.stderr)[0]], `${args[0]}: one error line`);
    t.match(r.stderr, new RegExp(`error: cannot reach Redis at ${url.replace(/[/.]/g, '\\$&')}: .*ECONNREFUSED`), 'says which server and why');
  }
});

t.test('an idle agent serves the sweep queue with trials to take, else watches running ones', async (t) => {
  const q = (name: string, ready: number, active: number): { name: string; ready: number; active: number } => ({ name, ready, active });
  t.equal(nextQueue([], null, 0, 1000), null, 'no sweeps: nothing');
  t.equal(nextQueue([q('recur.a', 0, 0), q('recur.b', 0, 0)], 'recur.a', 5000, 1000), null, 'all done: nothing');
  t.equal(nextQueue([q('recur.a', 2, 0), q('recur.b', 3, 0)], 'recur.b', 5000, 1000), 'recur.b', 'stays while trials can be taken here');
  t.equal(nextQueue([q('recur.a', 0, 1), q('recur.b', 3, 0)], 'recur.a', 0, 1000), 'recur.b', 'goes where trials wait rather than watch');
  t.equal(nextQueue([q('recur.a', 0, 1), q('recur.b', 0, 1)], 'recur.a', 1500, 1000), 'recur.a', 'watches a running trial for two stalled checks');
  t.equal(nextQueue([q('recur.a', 0, 1), q('recur.b', 0, 1)], 'recur.a', 2500, 1000), 'recur.b', 'then the next running sweep');
  t.equal(nextQueue([q('recur.a', 0, 1), q('recur.b', 0, 1)], 'recur.b', 2500, 1000), 'recur.a', 'round and round');
  t.equal(nextQueue([q('recur.a', 0, 1), q('recur.b', 0, 0)], null, 0, 1000), 'recur.a', 'a fresh agent watches a running trial');
  t.equal(sweepQueueName('lr sweep:2'), 'recur.lr_sweep_2', 'queue names: the sweep name, in characters BullMQ takes');
});

t.test('each sweep has its own queue, named after it; one agent drains them all', { skip }, async (t) => {
  const redis = await startRedis(t);
  const dir = tempDir(t);
  const files = ['alpha', 'beta'].map((name) => writeSweep(dir, addingBase(), { parameters: { seed: { values: [1, 2] } } }, name));
  const sweeps = files.map((file, i) => spawnRecur(['sweep', file, '--queue', redis.url, '--out', join(dir, `out${i}`)], { env: QUEUE_ENV }));
  for (const [i, sweep] of sweeps.entries()) await sweep.waitForStderr(new RegExp(`\\(queue recur\\.${['alpha', 'beta'][i]}\\); queued 2`));
  const agent = await finish(t, 'agent', spawnRecur(['agent', '--queue', redis.url, '--once'], { env: QUEUE_ENV }));
  t.equal(agent.code, 0, `agent\n${agent.stderr}`);
  t.match(agent.stdout, /4 trials trained here/, 'both sweeps\' trials, by one agent');
  for (const [i, sweep] of sweeps.entries()) {
    t.equal((await finish(t, `sweep ${i}`, sweep)).code, 0, `sweep ${i}`);
    t.equal(trialLines(join(dir, `out${i}`)).length, 2, `sweep ${i}: its two trials`);
  }
  for (const name of ['alpha', 'beta']) {
    const queue = new Queue(`recur.${name}`, { connection: { host: '127.0.0.1', port: redis.port } });
    const counts = await queue.getJobCounts('completed', 'wait', 'active', 'failed');
    await queue.close();
    t.strictSame(counts, { completed: 3, wait: 0, active: 0, failed: 0 }, `queue recur.${name}: the sweep job and its 2 trials, done`);
  }
});

t.test('a queued sweep writes the trials.jsonl a local sweep writes, bit for bit', { skip }, async (t) => {
  const redis = await startRedis(t);
  const dir = tempDir(t);
  const file = writeSweep(dir, addingBase(), {
    parameters: { 'train.optimizer.lr': { values: [0.003, 0.03] }, seed: { values: [1, 2] } },
  });
  const local = await runRecur(['sweep', file, '--out', join(dir, 'local')]);
  t.equal(local.code, 0, 'local sweep');

  // Queue the trials, stop waiting (Ctrl-C), and run the same command again: it attaches.
  const first = spawnRecur(['sweep', file, '--queue', redis.url, '--out', join(dir, 'queued')], { env: QUEUE_ENV });
  await first.waitForStderr(/queued 4/);
  first.child.kill('SIGINT');
  const interrupted = await finish(t, 'first sweep', first);
  t.equal(interrupted.code, 130, 'Ctrl-C on the sweep side: exit 130, the trials stay queued');
  t.match(interrupted.stderr, /run the same command again/);
  const sweep = spawnRecur(['sweep', file, '--queue', redis.url, '--out', join(dir, 'queued')], { env: QUEUE_ENV });
  await sweep.waitForStderr(/attached to 4 already on the queue/);
  t.notMatch(sweep.stderr, /queued \d/, 'nothing queued twice');
  const agent = await finish(t, 'agent', spawnRecur(['agent', '--queue', redis.url, '--once'], { env: QUEUE_ENV }));
  t.equal(agent.code, 0, `agent exits 0 once the queue is empty\n${agent.stderr}`);
  t.match(agent.stdout, /4 trials trained here/);
  const queued = await finish(t, 'sweep', sweep);
  t.equal(queued.code, 0, `queued sweep exit 0\n${queued.stderr}`);
  t.match(queued.stderr, /4\/4 done \(4 ok, 0 stopped, 0 failed\), 0 running, 0 waiting; best so far trial-\d+-\w+ valLoss/, 'progress line');
  t.equal(trialLines(join(dir, 'queued')).length, 4, 'one line per trial');
  t.strictSame(comparable(join(dir, 'queued')), comparable(join(dir, 'local')), 'same trials, parameters, metrics and status');
  t.match(readFileSync(join(dir, 'queued', 'summary.md'), 'utf8'), /4 ok, 0 failed/, 'summary.md');

  const again = await runRecur(['sweep', file, '--queue', redis.url, '--out', join(dir, 'queued')], { env: QUEUE_ENV });
  t.equal(again.code, 0, 'a rerun');
  t.match(again.stderr, /4 already done/, 'finds the trials done');
  t.equal(trialLines(join(dir, 'queued')).length, 4, 'and records nothing twice');
});

t.test('two agents, one killed mid-trial: every trial finishes exactly once, the killed one resumes bit for bit', { skip }, async (t) => {
  const redis = await startRedis(t);
  const dir = tempDir(t);
  // Long enough (a second or two a trial) to kill an agent between checkpoints.
  const file = writeSweep(dir, addingBase({ steps: 2000, evalEvery: 500, logEvery: 100, checkpointEvery: 100 }), {
    parameters: { seed: { values: [1, 2, 3] }, 'train.workers': { values: [1] } },
  });
  const local = await runRecur(['sweep', file, '--out', join(dir, 'local')], { timeoutMs: 120_000 });
  t.equal(local.code, 0, 'the same sweep locally');

  const out = join(dir, 'queued');
  const sweep = spawnRecur(['sweep', file, '--queue', redis.url, '--out', out], { env: QUEUE_ENV, timeoutMs: 120_000 });
  await sweep.waitForStderr(/queued 3/);
  const doomed = spawnRecur(['agent', '--queue', redis.url, '--once'], { env: QUEUE_ENV });
  const started = await doomed.waitForStderr(/\[\d\/3\] sweep (trial-\S+): training/);
  const trial = /\[\d\/3\] sweep (trial-\S+): training/.exec(started)![1]!;
  const survivor = spawnRecur(['agent', '--queue', redis.url, '--once'], { env: QUEUE_ENV, timeoutMs: 120_000 });
  // Kill it once it has checkpointed at least once, while it still trains.
  const checkpoint = join(out, trial, 'checkpoint.safetensors');
  while (!existsSync(checkpoint)) await new Promise((r) => setTimeout(r, 20));
  doomed.child.kill('SIGKILL');
  const killed = await doomed.done;
  t.equal(killed.signal, 'SIGKILL', 'the first agent died mid-trial');
  t.notMatch(killed.stderr, new RegExp(`${trial}: valLoss`), 'before finishing its trial');

  const survived = await finish(t, 'surviving agent', survivor);
  t.equal(survived.code, 0, `the surviving agent drains the queue\n${survived.stderr}`);
  t.match(survived.stderr, new RegExp(`${trial}: resuming with 1 worker`), 'it took over the killed trial from its checkpoint');
  const done = await finish(t, 'sweep', sweep);
  t.equal(done.code, 0, `sweep exit 0\n${done.stderr}`);
  const lines = trialLines(out);
  t.strictSame(lines.map((l) => l.id).sort(), Object.keys(comparable(join(dir, 'local'))).sort(), 'every trial recorded exactly once');
  t.ok(lines.every((l) => l.status === 'ok'), 'all ok');
  t.strictSame(comparable(out), comparable(join(dir, 'local')), 'and the resumed trial ends where an uninterrupted one does');
});

t.test('SIGTERM on an agent checkpoints, gives the trial back and exits; the next agent resumes it', { skip }, async (t) => {
  const redis = await startRedis(t);
  const dir = tempDir(t);
  // No periodic checkpoint before the end: the one the second agent resumes from is SIGTERM's.
  const file = writeSweep(dir, addingBase({ steps: 6000, evalEvery: 1000, logEvery: 100, checkpointEvery: 100000 }), {
    parameters: { seed: { values: [1] }, 'train.workers': { values: [1] } },
  });
  const out = join(dir, 'queued');
  const sweep = spawnRecur(['sweep', file, '--queue', redis.url, '--out', out], { env: QUEUE_ENV });
  await sweep.waitForStderr(/queued 1/);
  const first = spawnRecur(['agent', '--queue', redis.url], { env: QUEUE_ENV });
  const trial = /sweep (trial-\S+): training with 1 worker/.exec(await first.waitForStderr(/: training with 1 worker/))![1]!;
  // Once it has trained a little (metrics.jsonl has lines), ask it to stop.
  const metrics = join(out, trial, 'metrics.jsonl');
  while (!existsSync(metrics) || readFileSync(metrics, 'utf8') === '') await new Promise((r) => setTimeout(r, 20));
  first.child.kill('SIGTERM');
  const stopped = await finish(t, 'first agent', first);
  t.equal(stopped.code, 143, `exit 143 after SIGTERM\n${stopped.stderr}`);
  t.match(stopped.stderr, /giving trial \S+ back to the queue/);
  const second = await finish(t, 'second agent', spawnRecur(['agent', '--queue', redis.url, '--once'], { env: QUEUE_ENV }));
  t.equal(second.code, 0, `second agent\n${second.stderr}`);
  t.match(second.stderr, /: resuming with 1 worker/, 'resumes from the checkpoint written at SIGTERM');
  t.equal((await finish(t, 'sweep', sweep)).code, 0, 'sweep');
  t.equal(trialLines(out).length, 1, 'recorded once');
  t.equal(trialLines(out)[0]!.status, 'ok');
});

t.test('ASHA stops a diverging trial, locally and on the queue', { skip }, async (t) => {
  const redis = await startRedis(t);
  const dir = tempDir(t);
  // Trial 1 (lr 0.01) reaches each rung first; trial 2's plain SGD at lr 20 blows the loss up.
  const file = writeSweep(dir, addingBase({ steps: 80, evalEvery: 5, logEvery: 5, checkpointEvery: 20, optimizer: { name: 'sgd', lr: 0.01 }, clip: 1 }), {
    parameters: { 'train.optimizer.lr': { values: [0.05, 20] }, 'train.workers': { values: [1] } },
    earlyTerminate: { type: 'asha', minSteps: 10, eta: 2 },
  });
  const local = await runRecur(['sweep', file, '--out', join(dir, 'local')]);
  t.equal(local.code, 0, `local sweep\n${local.stderr}`);
  const sweep = spawnRecur(['sweep', file, '--queue', redis.url, '--out', join(dir, 'queued')], { env: QUEUE_ENV });
  await sweep.waitForStderr(/queued 2/);
  const agent = await finish(t, 'agent', spawnRecur(['agent', '--queue', redis.url, '--once'], { env: QUEUE_ENV }));
  t.equal(agent.code, 0, `agent\n${agent.stderr}`);
  t.equal((await finish(t, 'sweep', sweep)).code, 0, 'queued sweep');
  t.strictSame(comparable(join(dir, 'queued')), comparable(join(dir, 'local')), 'the queue makes the decisions a local sweep makes');
  for (const where of ['local', 'queued']) {
    const [good, bad] = trialLines(join(dir, where)).sort((a, b) => a.id.localeCompare(b.id));
    t.equal(good!.status, 'ok', `${where}: the sound trial runs to the end`);
    t.equal(good!.steps, 80);
    t.equal(bad!.status, 'stopped', `${where}: the diverging trial is stopped`);
    t.ok(bad!.steps! < 80, `${where}: early (step ${bad!.steps})`);
    t.ok(bad!.metric! > good!.evals!.find(([s]) => s === 10)![1], `${where}: recorded with its last metric, worse than the sound trial's`);
    const summary = readFileSync(join(dir, where, 'summary.md'), 'utf8');
    t.match(summary, /\| stopped \|/, `${where}: summary.md lists it as stopped`);
    t.match(summary, /ASHA .*saved \d+ of 160 steps/, `${where}: and the compute saved`);
  }
  const [, bad] = trialLines(join(dir, 'queued')).sort((a, b) => a.id.localeCompare(b.id));
  t.equal(bad!.steps, 10, 'the stop comes at the rung itself');
});

t.test('Redis lost mid-sweep: sweep and agent end with exit 1 and a clear error', { skip }, async (t) => {
  const redis = await startRedis(t);
  const dir = tempDir(t);
  const file = writeSweep(dir, addingBase({ steps: 100000, evalEvery: 1000, logEvery: 1000, checkpointEvery: 500 }), {
    parameters: { seed: { values: [1] }, 'train.workers': { values: [1] } },
  });
  const sweep = spawnRecur(['sweep', file, '--queue', redis.url, '--out', join(dir, 'queued')], { env: QUEUE_ENV });
  await sweep.waitForStderr(/queued 1/);
  const agent = spawnRecur(['agent', '--queue', redis.url], { env: QUEUE_ENV });
  await agent.waitForStderr(/: training with 1 worker/);
  await redis.stop();
  for (const [name, running] of [['sweep', sweep], ['agent', agent]] as const) {
    const r = await finish(t, name, running);
    t.equal(r.code, 1, `${name}: exit 1\n${r.stderr}`);
    t.match(r.stderr, new RegExp(`error: lost the connection to Redis at ${redis.url.replace(/[/.]/g, '\\$&')}`), `${name}: says so`);
    t.equal(errorLines(r.stderr).length, 1, `${name}: one error line`);
  }
});
