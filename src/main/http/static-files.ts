/**
 * Read-only static files over node:http, for the servers recur starts on this machine
 * (`recur board`, `recur serve-example`): the content types, the loopback checks, why a port
 * could not be listened on, and sending one regular file — never through a symbolic link — with
 * the content policy given. Which paths map to which files is the server's business; `safeRelativePath` turns a URL
 * path into segments that cannot leave a folder.
 */
import { closeSync, constants, createReadStream, fstatSync, openSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InputError } from '../errors.js';

export const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
};

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The Host header names this machine's loopback (a page elsewhere that rebinds its name to 127.0.0.1 does not). */
export function loopbackHostHeader(header: string | undefined): boolean {
  if (header === undefined) return false;
  const name = header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.replace(/:\d+$/, '');
  return isLoopback(name.toLowerCase());
}

/**
 * A URL path's segments, decoded, or null where any could step outside the folder it is
 * resolved in or is hidden: '..', '.', empty inner segments, dot files, slashes or backslashes
 * inside a segment (%2F, %5C), NUL, malformed percent-encoding. A trailing '/' gives a last ''.
 */
export function safeRelativePath(rawPath: string): string[] | null {
  if (!rawPath.startsWith('/')) return null;
  let segments: string[];
  try {
    segments = rawPath.slice(1).split('/').map((s) => decodeURIComponent(s));
  } catch {
    return null;
  }
  const ok = segments.every((s, i) => (s === '' ? i === segments.length - 1 : !s.startsWith('.') && !/[/\\\0]/.test(s)));
  return ok ? segments : null;
}

export function reply(res: ServerResponse, status: number, body: unknown, req?: IncomingMessage): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(req?.method === 'HEAD' ? undefined : text);
}

/** A regular file, never through a symbolic link, with the content policy given (if any). */
export function sendFile(res: ServerResponse, req: IncomingMessage, path: string, type: string, policy: string | null): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return reply(res, 404, { error: 'not found' });
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    return reply(res, 404, { error: 'not found' });
  }
  const headers: Record<string, string | number> = { 'Content-Type': type, 'Content-Length': st.size, 'Cache-Control': 'no-cache' };
  if (policy !== null) headers['Content-Security-Policy'] = policy;
  if (type === 'application/octet-stream') headers['Content-Disposition'] = 'attachment';
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    closeSync(fd);
    res.end();
    return;
  }
  createReadStream('', { fd }).pipe(res);
}

/** A listen error as bad input naming --port or --host where it is one (else the error itself). */
export function listenError(err: NodeJS.ErrnoException, opts: { port: number; host: string }): Error {
  if (err.code === 'EADDRINUSE') return new InputError(`--port: ${opts.port} is already in use (choose another with --port)`);
  if (err.code === 'EACCES') return new InputError(`--port: not allowed to listen on ${opts.port} (ports below 1024 need privileges)`);
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return new InputError(`--host: cannot listen on ${JSON.stringify(opts.host)} (${err.code})`);
  return err;
}
