/** Comparing checkpoint files tensor by tensor, byte for byte. */
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';

/** Names of tensors whose bytes differ between two checkpoint files (missing counts as differing). */
export function differingTensors(a: string, b: string): string[] {
  const ta = readSafetensors(a).tensors;
  const tb = readSafetensors(b).tensors;
  const names = new Set([...ta.keys(), ...tb.keys()]);
  return [...names].filter((n) => {
    const x = ta.get(n);
    const y = tb.get(n);
    if (!x || !y || x.dtype !== y.dtype || x.shape.join() !== y.shape.join()) return true;
    return !Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength).equals(Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
  });
}
