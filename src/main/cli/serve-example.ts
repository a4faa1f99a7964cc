/**
 * `recur serve-example`: the browser example (examples/browser/, SPEC §10) and the runtime it
 * loads (dist/web/), served read-only from the installed package on 127.0.0.1, so the page's
 * `../../dist/web/recur.js` resolves. Only those two folders are reachable; no path leaves them.
 */
import { existsSync, realpathSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstLine, InputError, RunError } from '../errors.js';
import { isLoopback, loopbackHostHeader, reply, safeRelativePath, sendFile, TYPES, listenError } from '../http/static-files.js';
import type { RecurCommand } from './command.js';

/** The package's root (this file is dist/src/main/cli/serve-example.js). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** URL prefix → folder: the only files served. */
const FOLDERS: readonly (readonly [string, string])[] = [
  ['examples/browser', join(PACKAGE_ROOT, 'examples', 'browser')],
  ['dist/web', join(PACKAGE_ROOT, 'dist', 'web')],
];
export const EXAMPLE_PATH = '/examples/browser/';

/**
 * Scripts from the page's own origin only, WebAssembly compiled from them ('wasm-unsafe-eval'),
 * fetches to the same origin only: the page cannot reach the internet even by mistake.
 */
const PAGE_POLICY = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface ExampleServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startExampleServer(opts: { port: number; host: string }): Promise<ExampleServer> {
  if (!existsSync(join(PACKAGE_ROOT, 'dist', 'web', 'recur.js'))) throw new RunError('dist/web/recur.js is missing: build the package first (npm run build)');
  const loopbackOnly = isLoopback(opts.host);
  const roots = new Map(FOLDERS.map(([prefix, dir]) => [prefix, realpathSync(dir)]));

  function handle(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return reply(res, 405, { error: `${req.method} is not allowed: the example server is read-only` });
    }
    if (loopbackOnly && !loopbackHostHeader(req.headers.host)) {
      return reply(res, 403, { error: 'the example server answers only to localhost, 127.0.0.1 or [::1]' });
    }
    const rawPath = (req.url ?? '/').split('?', 1)[0]!;
    if (rawPath === '/' || rawPath === '/examples/browser') {
      res.writeHead(302, { Location: EXAMPLE_PATH, 'Content-Length': 0 });
      return void res.end();
    }
    const segments = safeRelativePath(rawPath);
    if (segments === null) return reply(res, 404, { error: 'not found' });
    const file = resolveFile(roots, segments);
    if (file === null) return reply(res, 404, { error: 'not found' });
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    sendFile(res, req, file, type, type.startsWith('text/html') ? PAGE_POLICY : null);
  }

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) reply(res, 500, { error: firstLine(err) });
      else res.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(listenError(err, opts));
    });
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${shownHost}:${port}${EXAMPLE_PATH}`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The file a URL path's safe segments name inside one of FOLDERS (a folder: its index.html), or null. */
function resolveFile(roots: Map<string, string>, segments: string[]): string | null {
  for (const [prefix, root] of roots) {
    const head = prefix.split('/');
    if (segments.length <= head.length || head.some((s, i) => segments[i] !== s)) continue;
    const rest = segments.slice(head.length);
    if (rest.at(-1) === '') rest[rest.length - 1] = 'index.html';
    let real: string;
    try {
      real = realpathSync(join(root, ...rest));
    } catch {
      return null;
    }
    // A link inside the folder must not lead out of it.
    return real.startsWith(root + sep) ? real : null;
  }
  return null;
}

interface ServeArgs { port: string; host: string }

export const serveExampleCommand: RecurCommand = {
  command: 'serve-example',
  describe: 'serve the browser example (a forecast and generated text, in the page) read-only',
  builder: (y) => y
    .option('port', { type: 'string', default: '8080', describe: 'TCP port (0: any free one)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on' })
    .example('$0 serve-example', 'open http://127.0.0.1:8080/examples/browser/'),
  run: (argv) => runServeExample(argv as unknown as ServeArgs),
};

async function runServeExample(argv: ServeArgs): Promise<number> {
  const port = Number(argv.port);
  if (!/^\d+$/.test(String(argv.port)) || port > 65535) throw new InputError(`--port: expected a port number 0–65535, got ${JSON.stringify(argv.port)}`);
  if (argv.host === '') throw new InputError('--host: expected an address, got ""');
  // Listening for Ctrl-C before saying where the page is: a signal right after that line stops it cleanly.
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const server = await startExampleServer({ port, host: argv.host });
  console.error(`recur serve-example: open ${server.url}  (Ctrl-C stops)`);
  await stopped;
  await server.close();
  return 0;
}
