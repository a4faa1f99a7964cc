/**
 * The read-only HTTP server `recur board` and `recur serve-example` share: one address, GET and
 * HEAD only, answers only to loopback host names when it listens on loopback (no DNS-rebinding
 * page can read it), a handler's failure a 500, listen errors as bad input naming --port or --host,
 * and the flags and Ctrl-C handling of a command that serves until stopped.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstLine, InputError } from '../errors.js';
import { isLoopback, listenError, loopbackHostHeader, reply } from './static-files.js';

export interface ListenOptions {
  port: number;
  host: string;
}

export interface Listening {
  /** `http://host:port` (IPv6 hosts in brackets), without a trailing slash. */
  origin: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on `opts` and answers every GET or HEAD with `handle`; `name` ("the board") words the
 * refusals. `onListenError` undoes what the caller set up when the address cannot be had.
 */
export async function serveReadOnly(
  name: string, opts: ListenOptions, handle: (req: IncomingMessage, res: ServerResponse) => void, onListenError?: () => void,
): Promise<Listening> {
  const loopbackOnly = isLoopback(opts.host);
  const server = createServer((req, res) => {
    try {
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        return reply(res, 405, { error: `${req.method} is not allowed: ${name} is read-only` });
      }
      if (loopbackOnly && !loopbackHostHeader(req.headers.host)) {
        return reply(res, 403, { error: `${name} answers only to localhost, 127.0.0.1 or [::1]` });
      }
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) reply(res, 500, { error: firstLine(err) });
      else res.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      onListenError?.();
      reject(listenError(err, opts));
    });
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    origin: `http://${shownHost}:${port}`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** `--port` and `--host` as a serving command takes them (strings from yargs). */
export function listenFlags(argv: { port: string; host: string }): ListenOptions {
  const port = Number(argv.port);
  if (!/^\d+$/.test(String(argv.port)) || port > 65535) throw new InputError(`--port: expected a port number 0–65535, got ${JSON.stringify(argv.port)}`);
  if (argv.host === '') throw new InputError('--host: expected an address, got ""');
  return { port, host: argv.host };
}

/**
 * Resolves at the first Ctrl-C or SIGTERM. Call it before printing where the server is, so a
 * signal right after that line stops it cleanly.
 */
export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
