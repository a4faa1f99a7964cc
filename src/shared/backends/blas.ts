/**
 * The system's BLAS (`cblas_sgemm`), called through the koffi FFI on the engine's shared
 * WebAssembly.Memory: operands are native addresses (the memory's base address + byte offsets),
 * so nothing is copied and a call costs ~0.15 µs of FFI on top of the product.
 *
 * Which library: RECUR_BLAS=/path/to/lib if set (and nothing else), otherwise the first of
 * libopenblas.so.0, libblas.so.3 (Linux), Accelerate (macOS), libopenblas.dll (Windows) that loads
 * and exports cblas_sgemm. The workers are the parallelism, so the BLAS runs single-threaded:
 * OPENBLAS_NUM_THREADS / VECLIB_MAXIMUM_THREADS default to 1 before the library is first loaded
 * (by the main thread: a worker's process.env is a copy that the C library never sees), and
 * openblas_set_num_threads(1) is called when the library has it.
 *
 * OpenBLAS picks its kernels from the CPU, but releases before 0.3.22 do not know AMD's Zen 4
 * and run its Haswell (AVX2) kernels there although the CPU has AVX-512; single-threaded on our
 * shapes its SkylakeX kernels are 1.3–1.9× faster. So on an AMD CPU with AVX-512 the main thread
 * sets OPENBLAS_CORETYPE=SkylakeX before the first load, unless OPENBLAS_CORETYPE is already set.
 *
 * koffi is an optional dependency: when it or a library is missing, loadBlas() says why and the
 * caller falls back (kernels: auto) or reports what to install (kernels: blas).
 *
 * The choice is the main thread's (loadBlas, when the kernels are resolved); a worker binds the
 * library the main thread loaded (bindBlasLibrary) and searches for nothing itself.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';

export interface Blas {
  /** The library that loaded, as it was named to the loader (a path with RECUR_BLAS). */
  readonly library: string;
  /** OpenBLAS's kernel family (`SkylakeX`, `Haswell`, …); null for other libraries. */
  readonly core: string | null;
  /**
   * Row-major C[M,N] = beta·C + op(A)·op(B) (cblas_sgemm, alpha 1). a, b, c are native
   * addresses; lda, ldb, ldc row strides in floats as cblas wants them (each ≥ 1).
   */
  sgemm(transA: boolean, transB: boolean, M: number, N: number, K: number,
    a: number, lda: number, b: number, ldb: number, beta: 0 | 1, c: number, ldc: number): void;
  /** The native address of the first byte of a (Shared)ArrayBuffer. */
  address(buffer: ArrayBufferLike): number;
}

export type BlasLoad = { ok: true; blas: Blas } | { ok: false; reason: string };

/** What to do when no BLAS loads: said by `kernels: blas` errors and by skipped tests. */
export const BLAS_INSTALL_HINT =
  'install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas0; Fedora: dnf install openblas) or set RECUR_BLAS=/path/to/libopenblas.so';

/** The libraries tried, in order. */
export function blasCandidates(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string[] {
  if (env.RECUR_BLAS) return [env.RECUR_BLAS];
  if (platform === 'darwin') return ['/System/Library/Frameworks/Accelerate.framework/Accelerate', 'libopenblas.dylib'];
  if (platform === 'win32') return ['libopenblas.dll'];
  return ['libopenblas.so.0', 'libblas.so.3'];
}

/** The little of koffi used here (typed locally: koffi is optional, so never a compile-time import). */
interface Koffi {
  load(path: string): { func(declaration: string): (...args: unknown[]) => unknown; unload(): void };
  address(value: unknown): bigint;
}

const CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112;

/** One load per thread (and per RECUR_BLAS value, so a test can point it elsewhere). */
const loaded = new Map<string, BlasLoad>();

/** The BLAS of this thread, or why there is none. Never throws. */
export function loadBlas(env: NodeJS.ProcessEnv = process.env): BlasLoad {
  const candidates = blasCandidates(env);
  const key = candidates.join('\n');
  let result = loaded.get(key);
  if (!result) {
    result = load(candidates);
    loaded.set(key, result);
  }
  return result;
}

/**
 * The BLAS the main thread loaded, for kernels it resolved to `blas`. Resolving refuses `blas`
 * where no BLAS loads, so none here is a bug: it throws.
 */
export function loadedBlas(): Blas {
  const load = loadBlas();
  if (!load.ok) throw new Error(`the blas kernels were chosen, but ${load.reason}`);
  return load.blas;
}

/** In a worker: `library` (the main thread's Blas.library) bound in this thread; throws if it does not load here. */
export function bindBlasLibrary(library: string): Blas {
  const load = loadBlas({ RECUR_BLAS: library });
  if (!load.ok) throw new Error(`the main thread's BLAS did not load in this thread: ${load.reason}`);
  return load.blas;
}

function load(candidates: string[]): BlasLoad {
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (e) {
    return { ok: false, reason: `the koffi package did not load (${firstLine(e)}); reinstall with npm install koffi` };
  }
  if (isMainThread) {
    process.env.OPENBLAS_NUM_THREADS ??= '1';
    process.env.VECLIB_MAXIMUM_THREADS ??= '1';
    if (process.env.OPENBLAS_CORETYPE === undefined && amdWithAvx512()) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
  }
  const failures: string[] = [];
  for (const library of candidates) {
    let lib: ReturnType<Koffi['load']>;
    try {
      lib = koffi.load(library);
    } catch (e) {
      failures.push(`${library}: ${firstLine(e)}`);
      continue;
    }
    let sgemm: (...args: unknown[]) => unknown;
    try {
      sgemm = lib.func('void cblas_sgemm(int, int, int, int, int, int, float, uintptr_t, int, uintptr_t, int, float, uintptr_t, int)');
    } catch {
      failures.push(`${library}: has no cblas_sgemm`);
      lib.unload();
      continue;
    }
    setSingleThreaded(lib);
    return {
      ok: true,
      blas: {
        library,
        core: coreName(lib),
        sgemm: (transA, transB, M, N, K, a, lda, b, ldb, beta, c, ldc) => {
          sgemm(CBLAS_ROW_MAJOR, transA ? CBLAS_TRANS : CBLAS_NO_TRANS, transB ? CBLAS_TRANS : CBLAS_NO_TRANS,
            M, N, K, 1, a, lda, b, ldb, beta, c, ldc);
        },
        address: (buffer) => Number(koffi.address(new Uint8Array(buffer, 0, 0))),
      },
    };
  }
  return { ok: false, reason: `no BLAS library loaded (${failures.join('; ')})` };
}

/** openblas_set_num_threads(1) where the library has it (OpenBLAS, also behind libblas.so.3). */
function setSingleThreaded(lib: ReturnType<Koffi['load']>): void {
  let set: ((n: number) => unknown) | null = null;
  try {
    set = lib.func('void openblas_set_num_threads(int)');
  } catch {
    return; // not OpenBLAS: the environment variables above are its only say
  }
  set(1);
}

/** OpenBLAS's openblas_get_corename(), or null where the library has none. */
function coreName(lib: ReturnType<Koffi['load']>): string | null {
  try {
    const name = lib.func('const char* openblas_get_corename()')();
    return typeof name === 'string' && name !== '' ? name : null;
  } catch {
    return null;
  }
}

/** An AMD x86-64 CPU with the AVX-512 subsets OpenBLAS's SkylakeX kernels use (Linux; elsewhere false). */
function amdWithAvx512(): boolean {
  if (process.platform !== 'linux' || process.arch !== 'x64') return false;
  let cpuinfo: string;
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return false;
  }
  const flags = new Set(/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1].trim().split(/\s+/) ?? []);
  return /^vendor_id\s*:\s*AuthenticAMD$/m.test(cpuinfo) && ['avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512cd'].every((f) => flags.has(f));
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
