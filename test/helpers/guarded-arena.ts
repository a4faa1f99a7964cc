/**
 * A bump allocator of typed views on a WebAssembly memory for kernel tests, with guard values on
 * both sides of every region so a kernel that writes out of bounds is caught.
 */

const GUARD = 12345.5;
const GUARD_FLOATS = 8;

export class GuardedArena {
  private next = 1024;
  private readonly regions: [number, number][] = [];

  constructor(private readonly memory: WebAssembly.Memory) {}

  /** `skew` floats (0..3) put the region off 16-byte alignment. */
  f32(n: number, skew = 0): Float32Array {
    return new Float32Array(this.memory.buffer, this.take(n, skew) * 4, n);
  }

  i32(n: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.take(n, 0) * 4, n);
  }

  private take(n: number, skew: number): number {
    const heap = new Float32Array(this.memory.buffer);
    const start = this.next / 4 + GUARD_FLOATS + skew;
    this.next = Math.ceil(((start + n + GUARD_FLOATS) * 4) / 64) * 64;
    if (this.next > this.memory.buffer.byteLength) throw new Error('test arena is full');
    heap.fill(GUARD, start - GUARD_FLOATS, start);
    heap.fill(GUARD, start + n, start + n + GUARD_FLOATS);
    this.regions.push([start, n]);
    return start;
  }

  guardsIntact(): boolean {
    const heap = new Float32Array(this.memory.buffer);
    return this.regions.every(([start, n]) => {
      for (let i = 1; i <= GUARD_FLOATS; i++) if (heap[start - i] !== GUARD || heap[start + n - 1 + i] !== GUARD) return false;
      return true;
    });
  }
}
