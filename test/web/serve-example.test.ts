// `recur serve-example`: the example page and the bundle, read-only, on 127.0.0.1 by default;
// nothing outside examples/browser/ and dist/web/ is reachable, by '..', encoded slashes or links.
import t from 'tap';
import { rmSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { startExampleServer } from '../../src/main/http/example-server.js';
import { safeRelativePath } from '../../src/main/http/static-files.js';
import { REPO_ROOT, errorLines, runRecur, spawnRecur } from '../helpers/cli.js';

/** A raw GET (or another method) of `path` exactly as written: no client-side normalisation of '..'. */
function get(port: number, path: string, method = 'GET', host = `127.0.0.1:${port}`): Promise<{ status: number; type: string; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('serves the page, its models and the bundle; nothing else', async (t) => {
  const server = await startExampleServer({ port: 0, host: '127.0.0.1' });
  t.teardown(() => server.close());
  const { port } = server;
  const page = await get(port, '/examples/browser/');
  t.equal(page.status, 200);
  t.match(page.type, /^text\/html/);
  t.match(page.body, /<script type="module" src="app.js">/);
  t.match(String(page.headers['content-security-policy']), /connect-src 'self'/, 'the page may fetch only from this server');
  t.match(String(page.headers['content-security-policy']), /'wasm-unsafe-eval'/, 'and compile its WebAssembly');
  t.equal((await get(port, '/')).status, 302, '/ redirects to the page');
  t.match((await get(port, '/dist/web/recur.js')).type, /^text\/javascript/);
  t.equal((await get(port, '/examples/browser/models/co2.safetensors')).status, 200);
  t.equal((await get(port, '/examples/browser/models/co2-recent.csv')).status, 200);
  for (const path of [
    '/package.json', '/examples/browser/../../package.json', '/examples/browser/%2e%2e/%2e%2e/package.json',
    '/examples/browser/..%2f..%2fpackage.json', '/dist/web/..%5c..%5cpackage.json', '/dist/src/main/api.js',
    '/examples/predict-server.mjs', '/examples/browser/.hidden', '/dist/web/%00', '/examples/browser/%E0%A4%A',
    '/examples/browserx/index.html', '/dist/wasm/gemm.wasm',
  ]) {
    t.equal((await get(port, path)).status, 404, `${path}: 404`);
  }
  t.equal((await get(port, '/examples/browser/', 'POST')).status, 405, 'read-only: POST refused');
  t.equal((await get(port, '/examples/browser/', 'GET', 'evil.example:80')).status, 403, 'another host name (DNS rebinding) refused');
});

t.test('safeRelativePath: segments that stay inside a folder, or null', async (t) => {
  t.same(safeRelativePath('/examples/browser/'), ['examples', 'browser', '']);
  t.same(safeRelativePath('/dist/web/recur.js'), ['dist', 'web', 'recur.js']);
  t.same(safeRelativePath('/a%20b/c'), ['a b', 'c'], 'percent-decoded');
  for (const bad of ['/a/../b', '/a/./b', '/..', '/a//b', '/a/%2e%2e/b', '/a%2fb', '/a%5cb', '/a/.env', '/a%00', '/%E0%A4%A', 'relative']) {
    t.equal(safeRelativePath(bad), null, bad);
  }
});

t.test('a symbolic link out of the folder is not followed', async (t) => {
  const link = join(REPO_ROOT, 'dist', 'web', 'link-out.json');
  symlinkSync(join(REPO_ROOT, 'package.json'), link);
  t.teardown(() => rmSync(link, { force: true }));
  const server = await startExampleServer({ port: 0, host: '127.0.0.1' });
  t.teardown(() => server.close());
  t.equal((await get(server.port, '/dist/web/link-out.json')).status, 404);
});

t.test('the CLI: 127.0.0.1 by default, bad flags exit 2 with one line', async (t) => {
  const running = spawnRecur(['serve-example', '--port', '0']);
  const stderr = await running.waitForStderr(/open http:\/\/\S+/);
  t.match(stderr, /^recur serve-example: open http:\/\/127\.0\.0\.1:\d+\/examples\/browser\/ {2}\(Ctrl-C stops\)$/m);
  running.child.kill('SIGINT');
  const done = await running.done;
  t.equal(done.code, 0, 'Ctrl-C stops it cleanly');
  const bad = await runRecur(['serve-example', '--port', 'eighty']);
  t.equal(bad.code, 2);
  t.same(errorLines(bad.stderr), ['error: --port: expected a port number 0–65535, got "eighty"']);
});
