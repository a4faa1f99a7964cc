/**
 * Finding run folders (config.json + metrics.jsonl) and sweep folders (trials.jsonl) under the
 * board's DIRs, and reading their files without ever leaving them: symbolic links are neither
 * followed while walking nor opened as files.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { TRIALS_FILE } from '../sweep/trials.js';
import { CONFIG_FILE, METRICS_FILE } from '../training/run-folder.js';

export interface Root {
  /** The DIR as the user typed it (shown in paths). */
  given: string;
  /** Its real path once it exists (null while it does not). */
  real: string | null;
  /** The prefix of ids under it: '' for a single DIR. */
  label: string;
}

export interface FoundFolder {
  /** Stable within a board: the folder's path below its DIR, '/'-separated (prefixed by the DIR's label). */
  id: string;
  /** Real absolute path. */
  dir: string;
  /** The folder as the user would type it: the DIR as given, joined with the path below it. */
  path: string;
}

export interface ScanResult {
  runs: FoundFolder[];
  sweeps: FoundFolder[];
  /** DIRs that do not exist (yet). */
  missing: string[];
  /** True when the walk stopped at MAX_FOLDERS. */
  truncated: boolean;
}

/** A walk of `recur board /` must not read the whole disk every second. */
export const MAX_FOLDERS = 5000;
export const MAX_DEPTH = 8;
const SKIPPED = new Set(['node_modules', '.git']);
/** A sweep trial's folder: trial-<position>-<parameter hash> (sweep/trials.ts). */
const TRIAL_FOLDER = /^trial-\d+-[0-9a-f]{6}$/;

/** The DIRs with the labels that prefix their ids (their base names, made unique, when there are several). */
export function makeRoots(dirs: string[]): Root[] {
  const used = new Set<string>();
  return dirs.map((given) => {
    let label = '';
    if (dirs.length > 1) {
      const base = basename(given.replace(/[/\\]+$/, '')) || 'dir';
      label = base;
      for (let n = 2; used.has(label); n++) label = `${base}-${n}`;
      used.add(label);
    }
    return { given, real: null, label };
  });
}

/** Every run and sweep folder under the roots (their real paths are settled here). */
export function scanRoots(roots: Root[]): ScanResult {
  const result: ScanResult = { runs: [], sweeps: [], missing: [], truncated: false };
  let budget = MAX_FOLDERS;
  for (const root of roots) {
    try {
      root.real = realpathSync(root.given);
      if (!statSync(root.real).isDirectory()) throw new Error('not a folder');
    } catch {
      root.real = null;
      result.missing.push(root.given);
      continue;
    }
    const walk = (dir: string, depth: number): void => {
      if (budget-- <= 0) { result.truncated = true; return; }
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return; // unreadable or gone since its parent was read
      }
      // Dirent types come from the directory itself: a symbolic link is neither a file nor a folder here.
      const files = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
      const found = (): FoundFolder => folderOf(root, dir);
      if (files.has(CONFIG_FILE) && files.has(METRICS_FILE)) result.runs.push(found());
      // Before its first trial ends a sweep folder has no trials.jsonl, only trial folders.
      if (files.has(TRIALS_FILE) || entries.some((e) => e.isDirectory() && TRIAL_FOLDER.test(e.name))) result.sweeps.push(found());
      if (depth >= MAX_DEPTH) return;
      for (const e of entries) {
        if (e.isDirectory() && !SKIPPED.has(e.name) && !e.name.startsWith('.')) walk(join(dir, e.name), depth + 1);
      }
    };
    walk(root.real, 0);
  }
  return result;
}

function folderOf(root: Root, dir: string): FoundFolder {
  const below = relative(root.real!, dir).split(sep).filter((s) => s !== '').join('/');
  const own = below === '' ? basename(root.real!) : below;
  const id = root.label === '' ? own : below === '' ? root.label : `${root.label}/${below}`;
  return { id, dir, path: below === '' ? root.given : join(root.given, below) };
}

/** True when `path` is `dir` or inside it (both real paths). */
export function isInside(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

export interface FileBytes {
  bytes: Buffer;
  size: number;
  mtimeMs: number;
  ino: number;
}

/**
 * The bytes of a regular file from `start` (to its end, or `limit` bytes), never through a
 * symbolic link (O_NOFOLLOW); null when it is missing, a link or not a regular file.
 */
export function readRegularFile(path: string, start = 0, limit = Infinity): FileBytes | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return null;
    const length = Math.max(0, Math.min(st.size - start, limit));
    const bytes = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const n = readSync(fd, bytes, read, length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    return { bytes: bytes.subarray(0, read), size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  } finally {
    closeSync(fd);
  }
}
