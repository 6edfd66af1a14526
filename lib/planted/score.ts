/**
 * Scores of an identification against a planting's ground truth.
 *
 * Ranking (unit scores `s_u`, culprits `S`, units sorted by `s_u` descending, ties broken by unit index):
 *
 *     precision@k        |top k ∩ S| / k                       (k defaults to |S|)
 *     average precision  1/|S| Σ_{u ∈ S} precision@rank(u)
 *
 * Repair, on held-out seeds, per seed `z` with `d(a, b)` the mean absolute image difference (`truth.ts`):
 *
 *     restoration  = Σ_z d(G'_corrected, G) / Σ_z d(G', G)          over all held-out seeds (0 repaired, 1 as before)
 *     damage       = mean over untouched pixels of |G'_corrected − G'| / mean_z d(G', G)
 *
 * where the untouched pixels are those the planting left (nearly) unchanged, |G' − G| ≤ 0.02: damage is what the
 * correction changes where there was nothing to repair, in units of the planted damage.
 * Both come with paired bootstrap 95% intervals over seeds (`lib/stats/bootstrap.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { averagePrecision, precisionAtK } from "./score.ts";
 * const scores = [0.9, 0.1, 0.8, 0.3]; // ranking: 0, 2, 3, 1
 * assert.equal(averagePrecision(scores, [0, 3]), (1 / 1 + 2 / 3) / 2);
 * assert.equal(precisionAtK(scores, [0, 3]), 0.5); // k = 2: units 0 and 2
 * ```
 * @module
 */
import { bootstrapInterval, type Interval, ratioOfMeans } from "../stats/bootstrap.ts";
import type { DamageRecord, ImageSet } from "./truth.ts";

/** Units by decreasing score (ties: lower index first). */
export function ranking(scores: ArrayLike<number>): number[] {
  const units = Array.from({ length: scores.length }, (_, i) => i);
  const v = (u: number) => (Number.isNaN(scores[u]) ? -Infinity : scores[u]);
  return units.sort((a, b) => v(b) - v(a) || a - b);
}

/** Average precision of the ranking by `scores` for the culprits. */
export function averagePrecision(scores: ArrayLike<number>, culprits: readonly number[]): number {
  const truth = new Set(culprits);
  let hits = 0, sum = 0;
  ranking(scores).forEach((u, i) => {
    if (truth.has(u)) sum += ++hits / (i + 1);
  });
  return sum / truth.size;
}

/** Share of the culprits among the top `k` (default: as many as there are culprits). */
export function precisionAtK(
  scores: ArrayLike<number>,
  culprits: readonly number[],
  k = culprits.length,
): number {
  const truth = new Set(culprits);
  return ranking(scores).slice(0, k).filter((u) => truth.has(u)).length / k;
}

/** Restoration and collateral damage of one correction, with intervals (see the module documentation). */
export interface RepairScore {
  restoration: Interval;
  damage: Interval;
  /** Held-out seeds measured, and the share of their pixels the planting left untouched. */
  seeds: number;
  untouched_pixels: number;
}

/** Per image: the summed change of a correction over the pixels the planting left untouched, and their count. */
export interface Collateral {
  moved: Float64Array;
  count: Float64Array;
}

/** Pixels with channel-mean |planted − clean| at most this are untouched by the planting. */
export const UNTOUCHED_BELOW = 0.02;

/**
 * {@link Collateral} of `corrected` against `planted`, over the pixels where `planted` and `clean` differ by at
 * most `below` (channel mean).
 */
export function collateral(
  corrected: ImageSet,
  planted: ImageSet,
  clean: ImageSet,
  below = UNTOUCHED_BELOW,
): Collateral {
  const [n, h, w, c] = planted.shape;
  const moved = new Float64Array(n), count = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < h * w; p++) {
      const at = (i * h * w + p) * c;
      let d = 0, m = 0;
      for (let k = 0; k < c; k++) {
        d += Math.abs(planted.data[at + k] - clean.data[at + k]);
        m += Math.abs(corrected.data[at + k] - planted.data[at + k]);
      }
      if (d / c <= below) {
        moved[i] += m / c;
        count[i]++;
      }
    }
  }
  return { moved, count };
}

/**
 * Repair scores on the same held-out seeds: `planted` = d(G', G) and `corrected` = d(G'_corrected, G) per seed,
 * and the correction's collateral change where the planting changed nothing. Damage generalises "the generations
 * the planting left untouched" to pixels, since a planted unit usually touches every generation a little:
 *
 *     damage = (Σ_i moved_i / Σ_i count_i) / mean_i d(G', G)
 */
export function repairScore(
  planted: DamageRecord,
  corrected: DamageRecord,
  side: Collateral,
  options: { draws?: number; seed?: number } = {},
): RepairScore {
  const { draws = 1000, seed = 0 } = options;
  const n = planted.seeds.length;
  const restoration = bootstrapInterval(n, ratioOfMeans(corrected.damage, planted.damage), { draws, seed });
  const damageOf = (idx: readonly number[]) => {
    let moved = 0, count = 0, total = 0;
    for (const i of idx) {
      total += planted.damage[i];
      moved += side.moved[i];
      count += side.count[i];
    }
    return count ? (moved / count) / (total / idx.length) : NaN;
  };
  const damage = bootstrapInterval(n, damageOf, { draws, seed: seed + 1 });
  return { restoration, damage, seeds: n, untouched_pixels: side.count.reduce((s, v) => s + v, 0) };
}
