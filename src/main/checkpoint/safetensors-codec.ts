/**
 * The safetensors file format (SPEC §3): an 8-byte little-endian header length, a JSON header
 * mapping tensor names to {dtype, shape, data_offsets} (plus an optional `__metadata__` map of
 * strings), then the raw little-endian tensor data. recur writes F32 and reads F32 and F64.
 * The codec alone, no file access (safetensors.ts reads files).
 */
import { inputError } from '../errors.js';

export interface DecodedTensor {
  dtype: string;
  shape: number[];
  data: Float32Array | Float64Array;
}

export interface DecodedSafetensors {
  tensors: Map<string, DecodedTensor>;
  metadata: Record<string, string>;
}

export interface TensorToEncode {
  name: string;
  shape: number[];
  data: Float32Array;
}

const HEADER_LENGTH_BYTES = 8;
const METADATA_KEY = '__metadata__';
/** Header padding keeps the data section 8-byte aligned, as the reference implementation does. */
const HEADER_ALIGN_BYTES = 8;

const BYTES_PER_ELEMENT: Record<string, number> = { F32: 4, F64: 8 };

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

const elementCount = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

export function decodeSafetensors(bytes: Uint8Array, file: string): DecodedSafetensors {
  if (bytes.length < HEADER_LENGTH_BYTES) {
    throw inputError(file, 'header', `file is ${bytes.length} bytes, too short for the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - HEADER_LENGTH_BYTES)) {
    throw inputError(
      file,
      'header',
      `header length ${headerLength} exceeds the ${bytes.length - HEADER_LENGTH_BYTES} bytes after it ` +
        '(truncated or not a safetensors file)',
    );
  }
  const dataStart = HEADER_LENGTH_BYTES + Number(headerLength);
  const header = parseHeader(bytes.subarray(HEADER_LENGTH_BYTES, dataStart), file);
  const dataLength = bytes.length - dataStart;

  let metadata: Record<string, string> = {};
  const tensors = new Map<string, DecodedTensor>();
  const extents: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      metadata = parseMetadata(entry, file);
      continue;
    }
    const { dtype, shape, begin, end } = parseTensorEntry(name, entry, dataLength, file);
    const data = dtype === 'F32' ? readFloat32(view, dataStart + begin, end - begin) : readFloat64(view, dataStart + begin, end - begin);
    tensors.set(name, { dtype, shape, data });
    if (end > begin) extents.push({ name, begin, end });
  }

  extents.sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < extents.length; i++) {
    const previous = extents[i - 1]!;
    const current = extents[i]!;
    if (current.begin < previous.end) {
      throw inputError(
        file,
        current.name,
        `data_offsets [${current.begin}, ${current.end}] overlap those of ${previous.name} [${previous.begin}, ${previous.end}]`,
      );
    }
  }
  return { tensors, metadata };
}

function parseHeader(headerBytes: Uint8Array, file: string): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw inputError(file, 'header', `not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(header)) throw inputError(file, 'header', 'must be a JSON object of tensor entries');
  return header;
}

function parseMetadata(entry: unknown, file: string): Record<string, string> {
  if (!isPlainObject(entry)) throw inputError(file, METADATA_KEY, 'must be an object of string values');
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value !== 'string') throw inputError(file, `${METADATA_KEY}.${key}`, `must be a string, got ${JSON.stringify(value)}`);
  }
  return entry as Record<string, string>;
}

function parseTensorEntry(
  name: string,
  entry: unknown,
  dataLength: number,
  file: string,
): { dtype: string; shape: number[]; begin: number; end: number } {
  if (!isPlainObject(entry)) throw inputError(file, name, 'tensor entry must be an object with dtype, shape and data_offsets');
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string') throw inputError(file, name, 'missing or non-string dtype');
  const bytesPerElement = BYTES_PER_ELEMENT[dtype];
  if (bytesPerElement === undefined) throw inputError(file, name, `dtype ${dtype} is not supported (expected F32 or F64)`);
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw inputError(file, name, `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw inputError(file, name, `data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    throw inputError(file, name, `data_offsets [${begin}, ${end}] are out of bounds of the ${dataLength}-byte data section`);
  }
  const expectedBytes = elementCount(shape) * bytesPerElement;
  if (end - begin !== expectedBytes) {
    throw inputError(
      file,
      name,
      `data_offsets [${begin}, ${end}] span ${end - begin} bytes, but shape [${shape.join(', ')}] of ${dtype} needs ${expectedBytes}`,
    );
  }
  return { dtype, shape, begin, end };
}

// Element-wise DataView reads: the file is little-endian whatever the host is, and the copy gives
// each tensor its own aligned buffer (the data section has no alignment guarantee).
function readFloat32(view: DataView, byteOffset: number, byteLength: number): Float32Array {
  const out = new Float32Array(byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(byteOffset + 4 * i, true);
  return out;
}

function readFloat64(view: DataView, byteOffset: number, byteLength: number): Float64Array {
  const out = new Float64Array(byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(byteOffset + 8 * i, true);
  return out;
}

export function encodeSafetensors(tensors: TensorToEncode[], metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { [METADATA_KEY]: metadata };
  let dataLength = 0;
  for (const { name, shape, data } of tensors) {
    if (name === METADATA_KEY || Object.hasOwn(header, name)) throw new Error(`safetensors: duplicate or reserved tensor name ${name}`);
    if (elementCount(shape) !== data.length) {
      throw new Error(`safetensors: tensor ${name} has ${data.length} elements, shape [${shape.join(', ')}] needs ${elementCount(shape)}`);
    }
    const byteLength = data.length * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [dataLength, dataLength + byteLength] };
    dataLength += byteLength;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / HEADER_ALIGN_BYTES) * HEADER_ALIGN_BYTES;
  const dataStart = HEADER_LENGTH_BYTES + headerLength;
  const bytes = new Uint8Array(dataStart + dataLength);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  bytes.set(json, HEADER_LENGTH_BYTES);
  bytes.fill(0x20, HEADER_LENGTH_BYTES + json.length, dataStart); // pad with spaces: still valid JSON

  let byteOffset = dataStart;
  for (const { data } of tensors) {
    for (let i = 0; i < data.length; i++, byteOffset += 4) view.setFloat32(byteOffset, data[i]!, true);
  }
  return bytes;
}
