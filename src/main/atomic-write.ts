/**
 * Atomic file replacement for every file recur writes whole (checkpoints, config.json, charts,
 * summaries, predictions, exports); the line logs (metrics.jsonl, trials.jsonl) are appended instead.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Replaces `filePath` with `bytes` so that a reader (or a crash) sees either the old file or the
 * new one, never a torn one: write a temp file in the same folder (rename is atomic only within a
 * file system), fsync it, rename it over the target. On failure the temp file is removed.
 */
export function writeFileAtomic(filePath: string, bytes: Uint8Array): void {
  const tempPath = path.join(
    path.dirname(filePath),
    `.${path.basename(filePath)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`,
  );
  let fd: number | undefined;
  try {
    fd = fs.openSync(tempPath, 'wx');
    fs.writeFileSync(fd, bytes);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tempPath, filePath);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // The original error is the one worth reporting.
      }
    }
    fs.rmSync(tempPath, { force: true });
    throw err;
  }
}
