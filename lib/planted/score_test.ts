import assert from "node:assert/strict";
import { averagePrecision, collateral, precisionAtK, ranking, repairScore } from "./score.ts";
import type { ImageSet } from "./truth.ts";

Deno.test("score: ranking, average precision and precision@k", () => {
  assert.deepEqual(ranking([0.2, NaN, 0.9, 0.2]), [2, 0, 3, 1]); // ties by index, NaN last
  assert.equal(averagePrecision([3, 2, 1, 0], [0, 1]), 1);
  assert.equal(averagePrecision([0, 1, 2, 3], [0]), 1 / 4);
  assert.equal(precisionAtK([0, 1, 2, 3], [3, 0]), 0.5);
  assert.equal(precisionAtK([0, 1, 2, 3], [3, 0], 4), 0.5);
});

const set = (values: number[][]): ImageSet => ({
  seeds: values.map((_, i) => i),
  data: Float32Array.from(values.flat()),
  shape: [values.length, 1, values[0].length, 1],
});

Deno.test("score: restoration 0 when repaired, 1 when unchanged; damage over untouched pixels only", () => {
  const clean = set([[0, 0, 0, 0], [0, 0, 0, 0]]);
  const planted = set([[1, 0, 0, 0], [0, 1, 0, 0]]); // one damaged pixel per image
  const record = (d: number[]) => ({
    seeds: [0, 1],
    damage: Float64Array.from(d),
    share: Float64Array.from([0.25, 0.25]),
  });
  const p = record([0.25, 0.25]);
  // Repaired exactly, nothing else moved.
  const same = repairScore(p, record([0, 0]), collateral(clean, planted, clean), { draws: 50 });
  assert.equal(same.restoration.estimate, 0);
  assert.equal(same.damage.estimate, 0); // the untouched pixels of `clean` equal those of `planted`
  assert.equal(same.untouched_pixels, 6);
  // Unchanged, and a correction that moves an untouched pixel by 0.5 in every image.
  const moved = set([[1, 0.5, 0, 0], [0.5, 1, 0, 0]]);
  const r = repairScore(p, record([0.25 + 0.125, 0.25 + 0.125]), collateral(moved, planted, clean), {
    draws: 50,
  });
  assert.equal(r.restoration.estimate, 1.5);
  assert.ok(Math.abs(r.damage.estimate - (1 / 6) / 0.25) < 1e-12); // mean move 1/6 over 6 untouched pixels
  assert.ok(r.restoration.lo <= r.restoration.estimate && r.restoration.estimate <= r.restoration.hi);
});
