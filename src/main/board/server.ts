/**
 * `recur board`'s HTTP server (node:http): the static page, uPlot from its npm package, a JSON API
 * and a server-sent event stream of new metrics lines. Read-only (GET and HEAD), and nothing
 * outside the DIRs is reachable: run and sweep folders are addressed by the ids the scan found,
 * files inside them by a bare name, and symbolic links are never followed.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BoardStore, type MetricsEvent, type RunSummary, type SweepView } from './store.js';
import { firstLine } from '../errors.js';
import { serveReadOnly } from '../http/server.js';
import { reply, sendFile, TYPES } from '../http/static-files.js';

/** The page's files stay in the source tree (package.json "files" ships them): no build step. */
export const PAGE_DIR = fileURLToPath(new URL('../../../../src/main/board/page/', import.meta.url));
const UPLOT_DIR = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

/** The only static paths: everything else is the API, a run's file, or 404. */
const STATIC: Record<string, string> = {
  '/': join(PAGE_DIR, 'index.html'),
  '/board.js': join(PAGE_DIR, 'board.js'),
  '/charts.js': join(PAGE_DIR, 'charts.js'),
  '/parallel.js': join(PAGE_DIR, 'parallel.js'),
  '/smooth.js': join(PAGE_DIR, 'smooth.js'),
  '/board.css': join(PAGE_DIR, 'board.css'),
  '/vendor/uPlot.esm.js': join(UPLOT_DIR, 'uPlot.esm.js'),
  '/vendor/uPlot.min.css': join(UPLOT_DIR, 'uPlot.min.css'),
};

const PAGE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** A file from a run folder is data, never a page that runs scripts with the board's origin (an SVG could). */
const DATA_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

export interface BoardOptions {
  dirs: string[];
  /** 0: any free port. */
  port: number;
  host: string;
  /** How often the folders are looked at when file-system events do not say (ms). */
  pollMs?: number;
  onNotice?: (text: string) => void;
}

export interface Board {
  url: string;
  port: number;
  store: BoardStore;
  close(): Promise<void>;
}

export async function startBoard(opts: BoardOptions): Promise<Board> {
  const notice = opts.onNotice ?? (() => undefined);
  const store = new BoardStore(opts.dirs);
  let refreshFailed = false;
  const refresh = (forceScan = false): void => {
    try {
      store.refresh(forceScan);
      refreshFailed = false;
      syncWatchers();
    } catch (err) {
      // A folder vanishing mid-read must not stop the board; say it once, try again next time.
      if (!refreshFailed) notice(`warning: reading the run folders failed (${firstLine(err)}); retrying`);
      refreshFailed = true;
    }
  };

  // fs.watch makes new lines show at once; the poll below is the fallback where it is missing or full.
  const watchers = new Map<string, FSWatcher>();
  let soon: NodeJS.Timeout | null = null;
  const refreshSoon = (): void => {
    soon ??= setTimeout(() => { soon = null; refresh(); }, 30);
  };
  const MAX_WATCHERS = 500;
  function syncWatchers(): void {
    const wanted = new Set(store.folders().slice(0, MAX_WATCHERS));
    for (const [dir, w] of watchers) if (!wanted.has(dir)) { w.close(); watchers.delete(dir); }
    for (const dir of wanted) {
      if (watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, refreshSoon);
        w.on('error', () => { w.close(); watchers.delete(dir); });
        watchers.set(dir, w);
      } catch {
        // No watch (inotify limits, some network file systems): polling covers it.
      }
    }
  }

  const streams = new Set<ServerResponse>();
  const send = (event: string, data: unknown): void => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of streams) res.write(text);
  };
  store.on('runs', (runs: RunSummary[]) => send('runs', runs));
  store.on('sweeps', (sweeps: SweepView[]) => send('sweeps', sweeps));
  store.on('metrics', (event: MetricsEvent) => send('metrics', event));
  refresh(true);

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const [rawPath = '/', rawQuery = ''] = (req.url ?? '/').split('?', 2);
    const staticFile = STATIC[rawPath];
    if (staticFile !== undefined) return sendFile(res, req, staticFile, TYPES[extname(staticFile)] ?? 'text/plain', rawPath === '/' ? PAGE_POLICY : null);
    let segments: string[];
    try {
      segments = rawPath.split('/').slice(1).map((s) => decodeURIComponent(s));
    } catch {
      return reply(res, 400, { error: 'malformed percent-encoding in the path' });
    }
    if (segments.some((s) => s.includes('\0'))) return reply(res, 400, { error: 'bad path' });
    const query = new URLSearchParams(rawQuery);
    const [top, kind] = segments;
    if (top === 'api' && kind === 'runs' && segments.length === 2) return reply(res, 200, store.runList(), req);
    if (top === 'api' && kind === 'sweeps' && segments.length === 2) return reply(res, 200, store.sweepList(), req);
    if (top === 'api' && kind === 'events' && segments.length === 2) return openStream(req, res);
    if (top === 'api' && kind === 'runs' && segments.length >= 4) {
      const action = segments.at(-1);
      const id = segments.slice(2, -1).join('/');
      if (action === 'metrics') {
        const from = Number(query.get('from') ?? 0);
        if (!Number.isInteger(from) || from < 0) return reply(res, 400, { error: `from: expected a line index ≥ 0, got ${JSON.stringify(query.get('from'))}` });
        const lines = store.metrics(id, from);
        return lines === null ? reply(res, 404, { error: `no run ${JSON.stringify(id)}` }) : reply(res, 200, lines, req);
      }
      if (action === 'sample') {
        if (store.folder(id) === null) return reply(res, 404, { error: `no run ${JSON.stringify(id)}` });
        const sample = store.sample(id);
        return reply(res, 200, typeof sample === 'string' ? { error: sample } : { sample }, req);
      }
      if (action === 'eval') {
        if (store.folder(id) === null) return reply(res, 404, { error: `no run ${JSON.stringify(id)}` });
        const evaluation = store.evaluate(id);
        if (evaluation === null) return reply(res, 200, { evaluation: null }, req);
        evaluation.then((result) => reply(res, 200, typeof result === 'string' ? { error: result } : { evaluation: result }, req));
        return;
      }
    }
    if (top === 'files' && segments.length >= 3) {
      const name = segments.at(-1)!;
      const folder = store.folder(segments.slice(1, -1).join('/'));
      // A bare file name directly in a folder the scan found: no '..', no sub-paths, no dot files.
      if (folder === null || name === '' || name.startsWith('.') || /[/\\]/.test(name)) return reply(res, 404, { error: 'not found' });
      return sendFile(res, req, join(folder.dir, name), TYPES[extname(name)] ?? 'application/octet-stream', DATA_POLICY);
    }
    return reply(res, 404, { error: 'not found' });
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    if (req.method === 'HEAD') { res.end(); return; }
    // The snapshot first, so nothing that changed between the page's fetch and this stream is lost.
    res.write(`retry: 1000\n\nevent: runs\ndata: ${JSON.stringify(store.runList())}\n\nevent: sweeps\ndata: ${JSON.stringify(store.sweepList())}\n\n`);
    streams.add(res);
    req.on('close', () => streams.delete(res));
  }

  const poll = setInterval(() => refresh(), opts.pollMs ?? 500);
  // Comments keep idle streams open through proxies and let the page notice a dead server.
  const heartbeat = setInterval(() => { for (const res of streams) res.write(': ping\n\n'); }, 15_000);

  const listening = await serveReadOnly('the board', opts, handle, () => {
    clearInterval(poll);
    clearInterval(heartbeat);
    for (const w of watchers.values()) w.close();
  });
  return {
    url: `${listening.origin}/`,
    port: listening.port,
    store,
    close: async () => {
      clearInterval(poll);
      clearInterval(heartbeat);
      if (soon) clearTimeout(soon);
      for (const w of watchers.values()) w.close();
      for (const res of streams) res.end();
      streams.clear();
      await listening.close();
    },
  };
}

/** The files the page is made of (a test checks the package ships them). */
export function pageFiles(): string[] {
  return Object.values(STATIC);
}
