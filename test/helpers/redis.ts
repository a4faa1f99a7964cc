/**
 * A real redis-server for the queue tests, never a mock: each caller starts its own on a free
 * loopback port, with no persistence and its own temporary folder, and it is stopped when the
 * test ends. Without the `redis-server` binary the tests are skipped, naming the package.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

/** The redis-server binary, or null when it is not installed. */
export function redisServerPath(): string | null {
  // RECUR_TEST_REDIS_SERVER=none shows what a machine without the package gets (the skip line).
  const chosen = process.env.RECUR_TEST_REDIS_SERVER;
  if (chosen !== undefined && chosen !== '') return chosen === 'none' || !existsSync(chosen) ? null : chosen;
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  const which = spawnSync('which', ['redis-server'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() !== '' ? which.stdout.trim() : null;
}

/** The `skip` option for tap when there is no redis-server; false when there is one. */
export function skipWithoutRedis(): string | false {
  return redisServerPath() === null ? 'redis-server is not installed (install it with: sudo apt-get install redis-server)' : false;
}

/** A port nothing listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts redis-server on a free 127.0.0.1 port; stopped in `t`'s teardown. */
export async function startRedis(t: { teardown(fn: () => unknown): void }): Promise<RedisServer> {
  const bin = redisServerPath();
  if (bin === null) throw new Error('redis-server is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'recur-redis-'));
  const port = await freePort();
  const child = spawn(bin, [
    '--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes',
    '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { output += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { output += d; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  t.teardown(stop);
  await waitForPort(port, child, () => output);
  return { url: `redis://127.0.0.1:${port}`, port, process: child, stop };
}

/** Resolves once redis answers PING on `port`; rejects if it exits or takes more than 10 s. */
async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const { Socket } = await import('node:net');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.setTimeout(500);
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => { socket.destroy(); resolve(false); });
      socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.once('data', (d) => { socket.destroy(); resolve(d.toString().startsWith('+PONG')); });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not answer on port ${port}: ${output()}`);
}
