/**
 * Which units to plant faults in: units that fire locally (a small part of the image) or broadly.
 *
 * Over the activations `a_u` of `seeds` at every position of layer `l`, with `q_u` the 99th percentile of unit
 * `u`:
 *
 *     spread_u = P(a_u > q_u / 2)          share of positions where the unit is at least half its peak
 *
 * Units whose peak `q_u` is below a fifth of the layer's median peak are dead and never chosen. Local culprits are
 * drawn (seeded) from the quarter of live units with the smallest spread, broad ones from the quarter with the
 * largest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { chooseUnits, unitSpread } from "./units.ts";
 * await initBackend({ backend: "cpu" });
 * const gen = await createGenerator(randomPggan([16, 16, 16]), { engine: "tfjs" });
 * const spread = await unitSpread(gen, "layer3", [0, 1, 2, 3]);
 * const local = chooseUnits(spread, { footprint: "local", count: 2, seed: 0 });
 * const broad = chooseUnits(spread, { footprint: "broad", count: 2, seed: 0 });
 * assert.ok(Math.max(...local.map((u) => spread.spread[u])) <= Math.min(...broad.map((u) => spread.spread[u])));
 * await gen.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { GeneratorRunner } from "../engine/select.ts";
import { latents, Rng } from "../tensor/rng.ts";

/** Per-unit footprint of a layer (see the module documentation). */
export interface UnitSpread {
  layer: string;
  /** `P(a_u > q_u / 2)` per unit. */
  spread: Float64Array;
  /** The 99th percentile `q_u` per unit. */
  peak: Float64Array;
}

/** Where planted units fire. */
export type Footprint = "local" | "broad";

/** The spread of every unit of `layer` over the generations of `seeds` (batches of `batch`, default 32). */
export async function unitSpread(
  gen: GeneratorRunner,
  layer: string,
  seeds: readonly number[],
  options: { batch?: number } = {},
): Promise<UnitSpread> {
  const { batch = 32 } = options;
  const parts: Float32Array[] = [];
  let units = 0;
  for (let i = 0; i < seeds.length; i += batch) {
    const z = latents(seeds.slice(i, i + batch), gen.model.zDim);
    const { output } = await gen.run(z, { to: layer });
    units = output.shape[3];
    parts.push(await output.data() as Float32Array);
    tf.dispose([z, output]);
  }
  const positions = parts.reduce((s, p) => s + p.length, 0) / units;
  const spread = new Float64Array(units), peak = new Float64Array(units);
  const column = new Float32Array(positions);
  for (let u = 0; u < units; u++) {
    let k = 0;
    for (const p of parts) for (let j = u; j < p.length; j += units) column[k++] = p[j];
    const sorted = column.slice().sort();
    const q = sorted[Math.min(positions - 1, Math.floor(0.99 * positions))];
    let above = 0;
    for (let j = 0; j < positions; j++) if (column[j] > q / 2) above++;
    peak[u] = q;
    spread[u] = q > 0 ? above / positions : 0;
  }
  return { layer, spread, peak };
}

/** `count` distinct units of the chosen footprint, drawn with `seed` (see the module documentation). */
export function chooseUnits(
  spread: UnitSpread,
  options: { footprint: Footprint; count: number; seed?: number },
): number[] {
  const { footprint, count, seed = 0 } = options;
  const peaks = Array.from(spread.peak).sort((a, b) => a - b);
  const median = peaks[Math.floor(peaks.length / 2)];
  const live = Array.from(spread.peak.keys()).filter((u) => spread.peak[u] > median / 5);
  live.sort((a, b) => spread.spread[a] - spread.spread[b] || a - b);
  const quarter = Math.max(count, Math.ceil(live.length / 4));
  const pool = footprint === "local" ? live.slice(0, quarter) : live.slice(-quarter);
  if (pool.length < count) {
    throw new Error(
      `planting: ${spread.layer} has ${pool.length} live ${footprint} units, asked for ${count}`,
    );
  }
  const order = new Rng(seed).permutation(pool.length);
  return order.slice(0, count).map((i) => pool[i]).sort((a, b) => a - b);
}
