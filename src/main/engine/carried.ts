/**
 * The main thread's access to the streams' carried states of stateful text: each worker keeps
 * its rows' states in its own region of the shared memory (engine-views carriedStateViews); a
 * checkpoint holds them in batch-row order, so a run resumes with any number of workers.
 */
import { carriedStateViews } from '../../shared/memory/views.js';
import type { CarriedState } from '../../shared/model/network.js';
import { shardRange } from './shards.js';
import type { Engine } from './engine.js';

/** Each worker's carried-state views and the batch rows its shard holds. */
function shards(engine: Engine): { state: CarriedState<Float32Array>; start: number; count: number }[] {
  const { plan, memory } = engine;
  return Array.from({ length: engine.workers }, (_, rank) => {
    const state = carriedStateViews(memory, plan, rank);
    if (!state) throw new Error('the engine keeps no carried states (data.stateful is off)');
    return { state, ...shardRange(plan.spec.batch, engine.workers, rank) };
  });
}

/** Every stream back to a zero state (the start of an epoch). */
export function resetCarriedStates(engine: Engine): void {
  for (const { state } of shards(engine)) {
    for (const h of state.h) h.fill(0);
    for (const c of state.c) c?.fill(0);
  }
}

/** The carried states in batch-row order: `h_l{k}` (and `c_l{k}`) → [batch · H]. */
export function readCarriedStates(engine: Engine): Map<string, Float32Array> {
  const { cfg, batch } = engine.plan.spec, H = cfg.hidden;
  const out = new Map<string, Float32Array>();
  for (const { state, start, count } of shards(engine)) {
    state.h.forEach((h, k) => rows(out, `h_l${k}`, batch * H).set(h.subarray(0, count * H), start * H));
    state.c.forEach((c, k) => c && rows(out, `c_l${k}`, batch * H).set(c.subarray(0, count * H), start * H));
  }
  return out;
}

/** Writes states read by readCarriedStates (from a checkpoint) back into the workers' regions. */
export function writeCarriedStates(engine: Engine, states: Map<string, Float32Array>): void {
  const { cfg, batch } = engine.plan.spec, H = cfg.hidden;
  const get = (name: string): Float32Array => {
    const s = states.get(name);
    if (!s || s.length !== batch * H) throw new Error(`carried state ${name}: expected ${batch}×${H} values`);
    return s;
  };
  for (const { state, start, count } of shards(engine)) {
    state.h.forEach((h, k) => h.set(get(`h_l${k}`).subarray(start * H, (start + count) * H)));
    state.c.forEach((c, k) => c?.set(get(`c_l${k}`).subarray(start * H, (start + count) * H)));
  }
}

function rows(out: Map<string, Float32Array>, name: string, size: number): Float32Array {
  let block = out.get(name);
  if (!block) out.set(name, (block = new Float32Array(size)));
  return block;
}
