/**
 * Shared helpers for tests that drive the `recur` command line as a child process, the way a
 * user does: `node bin/recur.js …`, with its exit code, stdout and stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/helpers/, three levels below it). */
export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const RECUR_BIN = path.join(REPO_ROOT, 'bin', 'recur.js');

export interface RunResult {
  /** Exit code, or null when the child was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds. */
  ms: number;
  /** True when the helper had to kill the child after `timeoutMs`. */
  timedOut: boolean;
}

export interface RunOptions {
  /** Extra environment variables (merged over process.env, without RECUR_TEST_FAULT unless given). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill the child (SIGKILL) after this long; default 60 s, generous for 2 loaded cores. */
  timeoutMs?: number;
  /** Run `node bin/recur.js ARGS` through `bash -c PREFIX; exec …` (e.g. `ulimit -f 200`). */
  shellPrefix?: string;
}

export interface RunningRecur {
  child: ChildProcess;
  /** Resolves when the child has exited and its streams are drained. */
  done: Promise<RunResult>;
  /** stdout/stderr collected so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves (with the stderr so far) once stderr matches `pattern`; rejects if the child exits first or after `timeoutMs`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Never inherit a fault hook, debug output or a TTY-ish setting from the test runner.
  delete env.RECUR_TEST_FAULT;
  delete env.RECUR_DEBUG;
  delete env.NODE_OPTIONS;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Starts `node bin/recur.js ...args` and returns the running child. */
export function spawnRecur(args: string[], opts: RunOptions = {}): RunningRecur {
  const started = performance.now();
  const env = childEnv(opts.env);
  const cwd = opts.cwd ?? REPO_ROOT;
  // Under tap, @tapjs/processinfo wraps child_process and puts its `--import` hook back into
  // NODE_OPTIONS of every child, whatever env we pass; that hook (signal-exit) catches signals
  // such as SIGXFSZ and re-raises them. `env -u` / `unset` strip it at exec time, so recur runs
  // exactly as a user's shell would start it.
  const command = [process.execPath, RECUR_BIN, ...args];
  const child = opts.shellPrefix === undefined
    ? spawn('env', ['-u', 'NODE_OPTIONS', ...command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('bash', ['-c', `unset NODE_OPTIONS; ${opts.shellPrefix}; exec ${command.map(shellQuote).join(' ')}`],
      { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; listeners.forEach((l) => l()); });
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, opts.timeoutMs ?? 60_000);
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, timedOut });
    });
  });
  let exited = false;
  void done.then(() => { exited = true; listeners.forEach((l) => l()); }, () => { exited = true; listeners.forEach((l) => l()); });
  return {
    child,
    done,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    waitForStderr(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
      return new Promise<string>((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(stderr)) { cleanup(); resolve(stderr); } else if (exited) {
            cleanup();
            reject(new Error(`recur exited before stderr matched ${pattern}; stderr:\n${stderr}`));
          }
        };
        const t = setTimeout(() => { cleanup(); reject(new Error(`stderr did not match ${pattern} within ${timeoutMs} ms; stderr:\n${stderr}`)); }, timeoutMs);
        const cleanup = (): void => { clearTimeout(t); listeners.delete(check); };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Runs `node bin/recur.js ...args` to completion. */
export function runRecur(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return spawnRecur(args, opts).done;
}

/** A fresh temporary folder; removed when `t` ends unless RECUR_KEEP_TMP is set. */
export function tempDir(t: { teardown(fn: () => void): void }, prefix = 'recur-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => { if (!process.env.RECUR_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Deep merge of plain objects (arrays and scalars replace); `undefined` in `over` deletes the key. */
export function merge<T extends Record<string, unknown>>(base: T, over: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete out[k];
    else if (isPlain(v) && isPlain(out[k])) out[k] = merge(out[k] as Record<string, unknown>, v);
    else out[k] = v;
  }
  return out as T;
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A tiny, fast experiment: the adding task, a 4-unit LSTM, 10 steps on 2 workers with TS kernels. */
export function tinyExperiment(over: Record<string, unknown> = {}): Record<string, unknown> {
  return merge({
    seed: 1,
    data: { task: 'adding', seqLen: 8, trainSize: 64, valSize: 16 },
    model: { cell: 'lstm', hidden: 4 },
    train: { batch: 8, steps: 10, workers: 2, kernels: 'ts', logEvery: 1 },
  }, over);
}

/**
 * Writes an experiment as JSON (`name.json`) — or as given text when `content` is a string
 * (e.g. broken YAML) — into `dir`, with output.dir defaulting to `dir/run-<name>`. Returns its path.
 */
export function writeExperiment(dir: string, name: string, content: Record<string, unknown> | string): string {
  if (typeof content === 'string') {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    return file;
  }
  const file = path.join(dir, name.endsWith('.json') || name.endsWith('.yaml') ? name : `${name}.json`);
  const withOutput = merge({ output: { dir: path.join(dir, `run-${path.basename(file).replace(/\.[a-z]+$/, '')}`) } }, content);
  fs.writeFileSync(file, JSON.stringify(withOutput, null, 2) + '\n');
  return file;
}

/** The `error: …` lines of a stderr. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('error:'));
}

/** Lines of a stderr that look like a stack trace frame. */
export function stackLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^\s+at /.test(l));
}

/** metrics.jsonl of a run folder, parsed. */
export function readMetrics(runDir: string): Array<Record<string, number>> {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, number>);
}
