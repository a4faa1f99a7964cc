/**
 * The Redis server behind `--queue redis://HOST:PORT[/DB]`: the URL (a bad one is bad input,
 * exit 2), the connection options BullMQ gets, a reachability check that fails fast, and a
 * watchdog that turns a lost server into one clear error instead of a hang.
 */
import type { RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { InputError, RunError } from '../../errors.js';
import { namePart } from '../trials.js';

/**
 * Each sweep's trials go on a BullMQ queue named after the sweep (`recur.<sweep name>`), so
 * sweeps sharing a server can be watched and cleaned up one by one (e.g. in a BullMQ dashboard).
 */
export function sweepQueueName(sweep: string): string {
  return `recur.${namePart(sweep)}`;
}

/** The Redis set of queue names with a sweep on them: how agents find work without a sweep name. */
export const SWEEP_QUEUES_KEY = 'recur:sweep-queues';

export interface RedisTarget {
  /** The URL as shown in messages (no password). */
  display: string;
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
}

const URL_FORM = 'redis://HOST:PORT[/DB]';

export function parseQueueUrl(text: string, flag = '--queue'): RedisTarget {
  const bad = (why: string): InputError => new InputError(`${flag}: expected ${URL_FORM}, got ${JSON.stringify(text)} (${why})`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw bad(`the scheme must be redis: or rediss:, not ${url.protocol}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw bad('no host');
  const port = url.port === '' ? 6379 : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad('bad port');
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) throw bad(`the path must be a database number, not /${path}`);
  if (url.search !== '' || url.hash !== '') throw bad('no query or fragment allowed');
  const db = path === '' ? 0 : Number(path);
  if (db > 1_000_000) throw bad('bad database number');
  const username = url.username === '' ? undefined : decodeURIComponent(url.username);
  const password = url.password === '' ? undefined : decodeURIComponent(url.password);
  const auth = username !== undefined || password !== undefined ? `${username ?? ''}:***@` : '';
  const display = `${url.protocol}//${auth}${url.host}${db === 0 ? '' : `/${db}`}`;
  return { display, host, port, db, username, password, tls: url.protocol === 'rediss:' };
}

/** Timings, shortened by the tests through the environment; production keeps BullMQ's 30 s lock. */
export interface QueueTiming {
  /** A trial's lock: an agent silent this long loses the trial to the stalled-job check. */
  lockMs: number;
  /** How often agents look for stalled trials. */
  stalledIntervalMs: number;
  /** How long Redis may stay unreachable before a command gives up with exit 1. */
  redisTimeoutMs: number;
}

export function queueTiming(env: NodeJS.ProcessEnv = process.env): QueueTiming {
  const ms = (name: string, fallback: number): number => {
    const value = Number(env[name]);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  const lockMs = ms('RECUR_QUEUE_LOCK_MS', 30_000);
  return { lockMs, stalledIntervalMs: lockMs, redisTimeoutMs: ms('RECUR_REDIS_TIMEOUT_MS', 10_000) };
}

/** ioredis options for BullMQ: bounded connect time, steady reconnects (the watchdog decides when to give up). */
export function connectionOptions(target: RedisTarget): RedisOptions {
  return {
    host: target.host, port: target.port, db: target.db, username: target.username, password: target.password,
    ...(target.tls ? { tls: {} } : {}),
    connectTimeout: 5_000,
    retryStrategy: (times: number) => Math.min(200 * times, 1_000),
  };
}

/** A plain client for our own keys (stop flags) and the watchdog's pings: every command fails fast. */
export function commandClient(target: RedisTarget, timing: QueueTiming): Redis {
  const client = new Redis({
    ...connectionOptions(target),
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    commandTimeout: Math.min(timing.redisTimeoutMs, 5_000),
    enableOfflineQueue: true,
  });
  client.on('error', () => undefined); // reported by the watchdog or the failing command
  return client;
}

/**
 * Connects `client` after a one-shot probe (no reconnects, so an absent server fails at once
 * with the socket's own error); throws a RunError naming the server.
 */
export async function connectOrFail(client: Redis, target: RedisTarget, timing: QueueTiming): Promise<void> {
  const probe = new Redis({ ...connectionOptions(target), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  let lastError: unknown = null;
  probe.on('error', (err: unknown) => { lastError = err; });
  try {
    await withTimeout(probe.connect().then(() => probe.ping()), timing.redisTimeoutMs, () => lastError);
    await withTimeout(client.connect().then(() => client.ping()), timing.redisTimeoutMs, () => null);
  } catch (err) {
    client.disconnect();
    // ioredis rejects with a bare "Connection is closed"; the socket's error says why.
    throw new RunError(`cannot reach Redis at ${target.display}: ${describe(lastError ?? err)}`);
  } finally {
    probe.disconnect();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, cause: () => unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(cause() ?? new Error(`no answer within ${(ms / 1000).toFixed(1)} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0]);
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/**
 * Pings Redis every second; when no ping has succeeded for timing.redisTimeoutMs, calls
 * `onLost` once with a RunError. Every command that takes Redis down with it therefore ends
 * in a clear error, never in a process waiting forever for a server that is gone.
 */
export function watchRedis(client: Redis, target: RedisTarget, timing: QueueTiming, onLost: (err: RunError) => void): { stop(): void } {
  let lastOk = Date.now();
  let lastError: unknown = null;
  let fired = false;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || fired) return;
    busy = true;
    client.ping().then(
      () => { lastOk = Date.now(); },
      (err: unknown) => { lastError = err; },
    ).finally(() => {
      busy = false;
      if (!fired && Date.now() - lastOk > timing.redisTimeoutMs) {
        fired = true;
        clearInterval(timer);
        const code = (lastError as { code?: unknown } | null)?.code;
        const why = typeof code === 'string' ? ` (${code})` : '';
        onLost(new RunError(`lost the connection to Redis at ${target.display}: no answer for ${Math.round(timing.redisTimeoutMs / 1000)} s${why}`));
      }
    });
  }, Math.min(1_000, timing.redisTimeoutMs / 4));
  return { stop: () => clearInterval(timer) };
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve(); }
    signal?.addEventListener('abort', done, { once: true });
  });
}
