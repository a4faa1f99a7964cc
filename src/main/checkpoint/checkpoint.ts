/**
 * Checkpoint files (SPEC §3): the codec (checkpoint-codec.ts, shared with the browser runtime)
 * plus reading and atomically writing a file.
 */
import { writeFileAtomic } from '../atomic-write.js';
import { checkpointFromSafetensors, encodeCheckpoint, type CheckpointData, type LoadCheckpointOptions } from './checkpoint-codec.js';
import { readSafetensors } from './safetensors.js';

export * from './checkpoint-codec.js';

export function loadCheckpoint(filePath: string, opts: LoadCheckpointOptions = {}): CheckpointData {
  return checkpointFromSafetensors(readSafetensors(filePath), filePath, opts);
}

/** Writes the checkpoint atomically: a crash mid-save leaves the previous checkpoint intact. */
export function saveCheckpoint(filePath: string, data: CheckpointData): void {
  writeFileAtomic(filePath, encodeCheckpoint(data));
}
