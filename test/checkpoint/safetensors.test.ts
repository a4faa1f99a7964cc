// safetensors (SPEC §3): encode → decode round trips (metadata, zero-size tensors, F64 at
// unaligned offsets, views into larger buffers); malformed files rejected with an InputError naming
// the file and key; and writeFileAtomic keeps the old file whenever a write fails (a failed rename,
// a path under a file, a write failing midway).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { REPO_ROOT } from '../helpers/cli.js';
import { InputError } from '../../src/main/errors.js';
import { decodeSafetensors, encodeSafetensors, readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { writeFileAtomic } from '../../src/main/atomic-write.js';
import { expectKeyedInputError, thrownBy } from '../helpers/input-error.js';

const FILE = 'model.safetensors';
const expectKeyed = (tt: Parameters<typeof expectKeyedInputError>[0], fn: () => unknown, key: string, problem: RegExp): void =>
  expectKeyedInputError(tt, fn, FILE, key, problem);

/** A safetensors file built by hand, header unpadded, so tests can break any part of it. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.length);
  return bytes;
}

function headerOf(bytes: Uint8Array): { length: number; text: string } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { length, text: Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8') };
}



t.test('encode → decode round trip', async (t) => {
  const weights = Float32Array.from([0.1, -2.5, 1e-30, -0, 3.4e38, 7]);
  const bias = Float32Array.from([Math.PI, -1]);
  const metadata = { config: '{"cell":"lstm"}', note: 'ünïcode ✓' };
  const bytes = encodeSafetensors(
    [
      { name: 'w', shape: [2, 3], data: weights },
      { name: 'b', shape: [2], data: bias },
    ],
    metadata,
  );

  const header = headerOf(bytes);
  t.equal(header.length % 8, 0, 'header padded to a multiple of 8 bytes');
  t.match(header.text, /^\{.*\} *$/, 'padding is spaces after the JSON');
  const entries = JSON.parse(header.text);
  t.same(Object.keys(entries), ['__metadata__', 'w', 'b']);
  t.same(entries.w, { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] }, 'offsets follow the order given');
  t.same(entries.b, { dtype: 'F32', shape: [2], data_offsets: [24, 32] });
  t.equal(bytes.length, 8 + header.length + 32);

  const decoded = decodeSafetensors(bytes, FILE);
  t.same(decoded.metadata, metadata);
  t.same([...decoded.tensors.keys()], ['w', 'b']);
  const w = decoded.tensors.get('w')!;
  t.equal(w.dtype, 'F32');
  t.same(w.shape, [2, 3]);
  t.type(w.data, Float32Array);
  t.same(Array.from(w.data), Array.from(weights), 'values exact');
  t.ok(Object.is(w.data[3], -0), 'negative zero kept');
  t.same(Array.from(decoded.tensors.get('b')!.data), Array.from(bias));
});

t.test('empty metadata and zero-size tensors', async (t) => {
  const bytes = encodeSafetensors([{ name: 'empty', shape: [0, 4], data: new Float32Array(0) }], {});
  const decoded = decodeSafetensors(bytes, FILE);
  t.same(decoded.metadata, {});
  t.same(decoded.tensors.get('empty')!.shape, [0, 4]);
  t.equal(decoded.tensors.get('empty')!.data.length, 0);
});

t.test('decodes F64 tensors at unaligned offsets into an aligned Float64Array', async (t) => {
  const values = [1 / 3, -1e-300, 12345.678];
  const data = new Uint8Array(24);
  values.forEach((v, i) => new DataView(data.buffer).setFloat64(8 * i, v, true));
  // A 3-byte header prefix puts the data section at an odd offset.
  const bytes = rawFile(`{"x": {"dtype": "F64", "shape": [3], "data_offsets": [0, 24]}}`, data);
  t.not((8 + headerOf(bytes).length) % 8, 0, 'data section is unaligned');
  const x = decodeSafetensors(bytes, FILE).tensors.get('x')!;
  t.equal(x.dtype, 'F64');
  t.type(x.data, Float64Array);
  t.same(Array.from(x.data), values);
});

t.test('decodes a view into a larger buffer', async (t) => {
  const bytes = encodeSafetensors([{ name: 'v', shape: [2], data: Float32Array.from([1.5, -2]) }], {});
  const padded = new Uint8Array(bytes.length + 13);
  padded.set(bytes, 5);
  const v = decodeSafetensors(padded.subarray(5, 5 + bytes.length), FILE).tensors.get('v')!;
  t.same(Array.from(v.data), [1.5, -2]);
});

t.test('rejects malformed files with an InputError naming the file and key', async (t) => {
  const f32 = (shape: number[], offsets: [number, number]): unknown => ({ dtype: 'F32', shape, data_offsets: offsets });
  const good = encodeSafetensors([{ name: 'w', shape: [4], data: new Float32Array(4) }], {});

  expectKeyed(t, () => decodeSafetensors(new Uint8Array(0), FILE), 'header', /0 bytes, too short/);
  expectKeyed(t, () => decodeSafetensors(good.subarray(0, 5), FILE), 'header', /too short/);
  expectKeyed(t, () => decodeSafetensors(good.subarray(0, 20), FILE), 'header', /header length \d+ exceeds the 12 bytes after it/);
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
  expectKeyed(t, () => decodeSafetensors(huge, FILE), 'header', /exceeds/);
  expectKeyed(t, () => decodeSafetensors(rawFile('{"w": {"dtype": "F32",'), FILE), 'header', /not valid UTF-8 JSON/);
  expectKeyed(t, () => decodeSafetensors(rawFile([1, 2]), FILE), 'header', /must be a JSON object/);
  expectKeyed(t, () => decodeSafetensors(rawFile('null'), FILE), 'header', /must be a JSON object/);
  expectKeyed(t, () => decodeSafetensors(rawFile({ w: 3 }), FILE), 'w', /must be an object/);
  expectKeyed(t, () => decodeSafetensors(rawFile({ w: { shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), FILE), 'w', /missing or non-string dtype/);
  expectKeyed(
    t,
    () => decodeSafetensors(rawFile({ w: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)), FILE),
    'w',
    /dtype BF16 is not supported/,
  );
  expectKeyed(t, () => decodeSafetensors(rawFile({ w: { dtype: 'F32', data_offsets: [0, 4] } }, new Uint8Array(4)), FILE), 'w', /shape must be/);
  expectKeyed(t, () => decodeSafetensors(rawFile({ w: f32([-1], [0, 4]) }, new Uint8Array(4)), FILE), 'w', /shape must be/);
  expectKeyed(t, () => decodeSafetensors(rawFile({ w: { dtype: 'F32', shape: [1] } }, new Uint8Array(4)), FILE), 'w', /data_offsets must be/);
  expectKeyed(t, () => decodeSafetensors(rawFile({ w: f32([1], [0, 4.5]) }, new Uint8Array(8)), FILE), 'w', /data_offsets must be/);
  expectKeyed(t, () => decodeSafetensors(rawFile({ w: f32([2], [0, 8]) }, new Uint8Array(4)), FILE), 'w', /out of bounds of the 4-byte data section/);
  expectKeyed(t, () => decodeSafetensors(rawFile({ w: f32([1], [4, 0]) }, new Uint8Array(4)), FILE), 'w', /out of bounds/);
  expectKeyed(t, () => decodeSafetensors(rawFile({ w: f32([3], [0, 8]) }, new Uint8Array(8)), FILE), 'w', /span 8 bytes, but shape \[3\] of F32 needs 12/);
  expectKeyed(
    t,
    () => decodeSafetensors(rawFile({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, new Uint8Array(12)), FILE),
    'b',
    /overlap those of a/,
  );
  expectKeyed(t, () => decodeSafetensors(rawFile({ __metadata__: { step: 3 } }), FILE), '__metadata__.step', /must be a string/);
  expectKeyed(t, () => decodeSafetensors(rawFile({ __metadata__: 'x' }), FILE), '__metadata__', /must be an object/);
});

t.test('readSafetensors', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'a.safetensors');
  fs.writeFileSync(file, encodeSafetensors([{ name: 'w', shape: [1], data: Float32Array.of(2) }], { k: 'v' }));
  const decoded = readSafetensors(file);
  t.same(decoded.metadata, { k: 'v' });
  t.same(Array.from(decoded.tensors.get('w')!.data), [2]);

  const missing = path.join(dir, 'missing.safetensors');
  const err = thrownBy(() => readSafetensors(missing));
  t.type(err, InputError);
  t.equal((err as Error).message, `${missing}: file not found`);
  t.match((thrownBy(() => readSafetensors(dir)) as Error).message, `${dir}: cannot read the file (EISDIR)`);
});

t.test('writeFileAtomic', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'checkpoint.safetensors');
  writeFileAtomic(file, Uint8Array.of(1, 2, 3));
  t.same([...fs.readFileSync(file)], [1, 2, 3]);
  writeFileAtomic(file, Uint8Array.of(4, 5));
  t.same([...fs.readFileSync(file)], [4, 5], 'replaces the previous file');
  t.same(fs.readdirSync(dir), ['checkpoint.safetensors'], 'no temp files left');
});

t.test('writeFileAtomic: a failed rename removes the temp file and keeps the target', async (t) => {
  const dir = t.testdir({ target: { 'inside.txt': 'kept' } });
  const target = path.join(dir, 'target');
  t.throws(() => writeFileAtomic(target, Uint8Array.of(1)), { code: /EISDIR|ENOTEMPTY|EEXIST|EPERM/ });
  t.equal(fs.readFileSync(path.join(target, 'inside.txt'), 'utf8'), 'kept');
  t.same(fs.readdirSync(dir), ['target'], 'temp file removed');
});

t.test('writeFileAtomic: a path under a file (ENOTDIR) fails cleanly', async (t) => {
  const dir = t.testdir({ 'a-file': 'x' });
  t.throws(() => writeFileAtomic(path.join(dir, 'a-file', 'checkpoint.safetensors'), Uint8Array.of(1)), { code: 'ENOTDIR' });
  t.same(fs.readdirSync(dir), ['a-file']);
  t.equal(fs.readFileSync(path.join(dir, 'a-file'), 'utf8'), 'x');
});

t.test(
  'writeFileAtomic: a write failing midway (file size limit) keeps the old file intact',
  { skip: process.platform === 'win32' ? 'needs a POSIX shell for ulimit' : false },
  async (t) => {
    const dir = t.testdir();
    const target = path.join(dir, 'checkpoint.safetensors');
    writeFileAtomic(target, Buffer.from('old checkpoint'));
    // `ulimit -f` caps file size even for root; Node ignores SIGXFSZ, so the write fails with EFBIG.
    const moduleUrl = pathToFileURL(path.join(REPO_ROOT, 'dist/src/main/atomic-write.js')).href;
    const script = `
      import { writeFileAtomic } from ${JSON.stringify(moduleUrl)};
      try { writeFileAtomic(process.env.TARGET, new Uint8Array(256 * 1024)); console.log('written'); }
      catch (err) { console.log(err.code); }`;
    const child = spawnSync('/bin/sh', ['-c', 'ulimit -f 8 && exec "$@"', 'sh', process.execPath, '--input-type=module', '-e', script], {
      env: { ...process.env, TARGET: target },
      encoding: 'utf8',
    });
    t.equal(child.stderr, '');
    t.equal(child.stdout.trim(), 'EFBIG', 'the write failed');
    t.equal(fs.readFileSync(target, 'utf8'), 'old checkpoint', 'old file intact');
    t.same(fs.readdirSync(dir), ['checkpoint.safetensors'], 'temp file removed');
  },
);
