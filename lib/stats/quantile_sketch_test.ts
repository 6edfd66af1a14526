import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { quantiles as exactQuantiles } from "../tensor/quantile.ts";
import { Rng } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { QuantileSketch } from "./quantile_sketch.ts";

await initBackend({ backend: "cpu" });

const LEVELS = [0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999];

/** [M, 3] values: standard normal, exponential, and ReLU of a normal (half of it ties at 0). */
function streamValues(m: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const data = new Float32Array(m * 3);
  for (let i = 0; i < m; i++) {
    data[3 * i] = rng.normal();
    data[3 * i + 1] = -Math.log(1 - rng.uniform());
    data[3 * i + 2] = Math.max(0, rng.normal());
  }
  return data;
}

/** Unit u's values sorted. */
function sortedColumn(data: Float32Array, units: number, u: number): Float32Array {
  const column = new Float32Array(data.length / units);
  for (let i = 0; i < column.length; i++) column[i] = data[i * units + u];
  return column.sort();
}

/** First index in `sorted` whose value is > v (upper) or ≥ v (lower). */
function bound(sorted: Float32Array, v: number, upper: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (upper ? sorted[mid] <= v : sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Rank error of estimate v for level q: the distance (as a fraction of n) from the target rank q·(n−1) to the
 * ranks v occupies in the data ([#values < v, #values ≤ v − 1]).
 */
function rankError(sorted: Float32Array, v: number, q: number): number {
  const n = sorted.length;
  const first = bound(sorted, v, false);
  const last = bound(sorted, v, true) - 1;
  const target = q * (n - 1);
  if (target < first) return (first - target) / n;
  if (target > last) return (target - last) / n;
  return 0;
}

function maxRankError(sketch: QuantileSketch, data: Float32Array): number {
  const estimates = sketch.quantiles(LEVELS);
  let worst = 0;
  for (let u = 0; u < sketch.units; u++) {
    const sorted = sortedColumn(data, sketch.units, u);
    LEVELS.forEach((q, j) => worst = Math.max(worst, rankError(sorted, estimates[j][u], q)));
  }
  return worst;
}

Deno.test("QuantileSketch equals exact quantiles bit for bit before its first compaction", async () => {
  const rng = new Rng(3);
  // [2, 5, 7, 4]: 70 values per unit, with ties (rounded to quarters).
  const values = Float32Array.from({ length: 2 * 5 * 7 * 4 }, () => Math.round(rng.normal() * 4) / 4);
  const x = tf.tensor4d(values, [2, 5, 7, 4]);
  const levels = [0, 0.1, 0.33, 0.5, 0.99, 1];
  const sketch = new QuantileSketch(4, { k: 128 });
  await assertNoLeak(() => sketch.add(x));
  const expected = exactQuantiles(x, levels);
  const rows = expected.arraySync() as number[][];
  const got = sketch.quantiles(levels);
  levels.forEach((_, j) => assert.deepEqual(Array.from(got[j]), rows[j]));
  assert.equal(sketch.count, 70);
  tf.dispose([x, expected]);
});

Deno.test("QuantileSketch rank error on 10^6 values per unit is below 0.5% (also merged from shards)", () => {
  const m = 1_000_000;
  const data = streamValues(m, 1);
  const whole = new QuantileSketch(3);
  const shards = [1, 2, 3].map((seed) => new QuantileSketch(3, { seed }));
  const rows = 4096;
  for (let offset = 0, b = 0; offset < m; offset += rows, b++) {
    const batch = data.subarray(offset * 3, Math.min(m, offset + rows) * 3); // [M, 3]
    whole.add(batch);
    shards[b % 3].add(batch);
  }
  shards[0].merge(shards[1]);
  shards[0].merge(shards[2]);
  assert.equal(whole.count, m);
  assert.equal(shards[0].count, m);
  const errWhole = maxRankError(whole, data);
  const errMerged = maxRankError(shards[0], data);
  console.log(
    `rank error, k=1024, 1e6 values: ${(100 * errWhole).toFixed(3)}% streamed, ${
      (100 * errMerged).toFixed(3)
    }% merged from 3 shards; ${whole.retained} items kept per unit`,
  );
  assert.ok(errWhole <= 0.005, `rank error ${errWhole}`);
  assert.ok(errMerged <= 0.005, `rank error after merge ${errMerged}`);
  // The extremes are exact.
  const [lo, hi] = [whole.quantile(0), whole.quantile(1)];
  for (let u = 0; u < 3; u++) {
    const sorted = sortedColumn(data, 3, u);
    assert.equal(lo[u], sorted[0]);
    assert.equal(hi[u], sorted[m - 1]);
  }
});

Deno.test("QuantileSketch agrees with lib/tensor quantiles on 10^5 values of a [N,H,W,C] batch", () => {
  const values = streamValues(100_000, 5); // [N=100, 1000 positions, C=3] as [100, 25, 40, 3]
  const x = tf.tensor4d(values, [100, 25, 40, 3]);
  const sketch = new QuantileSketch(3, { k: 512 });
  for (const part of tf.split(x, 10, 0)) {
    sketch.add(part);
    part.dispose();
  }
  const exact = exactQuantiles(x, LEVELS).arraySync() as number[][];
  const est = sketch.quantiles(LEVELS);
  assert.ok(maxRankError(sketch, values) <= 0.005);
  // In value: within the spread of the data between ranks q ± 0.5%.
  for (let u = 0; u < 3; u++) {
    const sorted = sortedColumn(values, 3, u);
    LEVELS.forEach((q, j) => {
      const lo = sorted[Math.max(0, Math.floor((q - 0.005) * 99_999))];
      const hi = sorted[Math.min(99_999, Math.ceil((q + 0.005) * 99_999))];
      assert.ok(est[j][u] >= lo && est[j][u] <= hi, `unit ${u} q ${q}: ${est[j][u]} vs exact ${exact[j][u]}`);
    });
  }
  x.dispose();
});

Deno.test("QuantileSketch toJSON/fromJSON round trip continues identically", () => {
  const data = streamValues(20_000, 7);
  const a = new QuantileSketch(3, { k: 64, seed: 9 });
  a.add(data.subarray(0, 30_000));
  const b = QuantileSketch.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
  assert.deepEqual(b.quantiles(LEVELS), a.quantiles(LEVELS));
  a.add(data.subarray(30_000));
  b.add(data.subarray(30_000));
  assert.deepEqual(b.toJSON(), a.toJSON());
  assert.equal(b.count, 20_000);
  // An empty sketch round-trips too.
  const empty = QuantileSketch.fromJSON(new QuantileSketch(2).toJSON());
  assert.equal(empty.count, 0);
  assert.throws(() => empty.quantile(0.5), /no values/);
});

Deno.test("QuantileSketch samples positions per image when asked, deterministically", async () => {
  const x = tf.randomUniform([3, 4, 4, 2], 0, 1, "float32", 1);
  const a = new QuantileSketch(2, { positionsPerImage: 5, seed: 4 });
  const b = new QuantileSketch(2, { positionsPerImage: 5, seed: 4 });
  await assertNoLeak(() => {
    a.add(x);
    b.add(x);
  });
  assert.equal(a.count, 15);
  assert.deepEqual(a.toJSON(), b.toJSON());
  x.dispose();
});

Deno.test("QuantileSketch rejects bad input with clear errors", () => {
  const s = new QuantileSketch(3);
  const bad = tf.zeros([2, 4, 4, 2]);
  assert.throws(() => s.add(bad), /batch: Expected \[N,H,W,3\] or \[M,3\], got \[2,4,4,2\]/);
  bad.dispose();
  assert.throws(() => s.add(new Float32Array(4)), /multiple of 3/);
  assert.throws(() => s.add(new Float32Array([1, NaN, 2])), /NaN value for unit 1/);
  assert.throws(() => s.merge(new QuantileSketch(3, { k: 64 })), /Expected units 3 and k 1024/);
  assert.throws(() => s.quantiles([1.5]), /q: Expected values in \[0, 1\]/);
  assert.throws(
    () => QuantileSketch.fromJSON({ kind: "RunningTopK", version: 1 }),
    /expected a serialised QuantileSketch/,
  );
  assert.throws(() => new QuantileSketch(0), /units: Expected a positive integer/);
});
