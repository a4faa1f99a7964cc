/**
 * The server of `recur serve-example`: the browser example (examples/browser/, SPEC §10) and the runtime it
 * loads (dist/web/), served read-only from the installed package on 127.0.0.1, so the page's
 * `../../dist/web/recur.js` resolves. Only those two folders are reachable; no path leaves them.
 */
import { existsSync, realpathSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunError } from '../errors.js';
import { serveReadOnly, type ListenOptions } from './server.js';
import { reply, safeRelativePath, sendFile, TYPES } from './static-files.js';

/** The package's root (this file is dist/src/main/http/example-server.js). */
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

export async function startExampleServer(opts: ListenOptions): Promise<ExampleServer> {
  if (!existsSync(join(PACKAGE_ROOT, 'dist', 'web', 'recur.js'))) throw new RunError('dist/web/recur.js is missing: build the package first (npm run build)');
  const roots = new Map(FOLDERS.map(([prefix, dir]) => [prefix, realpathSync(dir)]));

  function handle(req: IncomingMessage, res: ServerResponse): void {
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

  const listening = await serveReadOnly('the example server', opts, handle);
  return { url: `${listening.origin}${EXAMPLE_PATH}`, port: listening.port, close: listening.close };
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
