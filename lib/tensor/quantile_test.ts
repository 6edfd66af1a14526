import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { quantileOfSorted, quantiles, thresholdByChannel } from "./quantile.ts";
import { assertClose, assertNoLeak, NUMPY_QUANTILES, QUANTILE_LEVELS, quantileInput } from "./test_util.ts";

await initBackend({ backend: "cpu" });

Deno.test("quantileOfSorted interpolates linearly between order statistics, by hand", () => {
  const v = [1, 2, 3, 4];
  assert.equal(quantileOfSorted(v, 0), 1);
  assert.equal(quantileOfSorted(v, 1), 4);
  assert.equal(quantileOfSorted(v, 0.5), 2.5); // p = 1.5
  assert.equal(quantileOfSorted(v, 0.25), 1.75); // p = 0.75
  const hundred = Array.from({ length: 100 }, (_, i) => i);
  assertClose([quantileOfSorted(hundred, 0.99)], [98.01], 1e-12); // p = 98.01
  assert.equal(quantileOfSorted([7], 0.3), 7);
  assert.ok(Number.isNaN(quantileOfSorted([1, 2, NaN], 0.1)));
  assert.throws(() => quantileOfSorted(v, 1.5), { message: "q: Expected values in [0, 1], got 1.5" });
  assert.throws(() => quantileOfSorted([], 0.5), /at least one value/);
});

Deno.test("quantiles of [N,H,W,C] match numpy.quantile per channel", async () => {
  await assertNoLeak(() => {
    const x = quantileInput();
    const qs = quantiles(x, QUANTILE_LEVELS);
    assert.deepEqual(qs.shape, [6, 5]);
    const err = assertClose(qs.dataSync(), NUMPY_QUANTILES.flat(), 1e-6, "quantiles vs numpy");
    console.log(`max |quantiles - numpy| = ${err.toExponential(2)} (float32 result)`);
    const one = quantiles(x, 0.99);
    assert.deepEqual(one.shape, [5]);
    assertClose(one.dataSync(), NUMPY_QUANTILES[4], 1e-6);
    tf.dispose([x, qs, one]);
  });
});

Deno.test("quantiles of [M,C]: hand values, int32 input, NaN channels", async () => {
  await assertNoLeak(() => {
    const x = tf.tensor2d([4, 10, 1, 40, 3, 20, 2, 30], [4, 2], "int32"); // unsorted; columns 1..4 and 10..40
    const med = quantiles(x, 0.5);
    assert.deepEqual([...med.dataSync()], [2.5, 25]);
    const ends = quantiles(x, [0, 0.25, 1]);
    assert.deepEqual([...ends.dataSync()], [1, 10, 1.75, 17.5, 4, 40]);
    const withNaN = tf.tensor2d([1, NaN, 2, 5], [2, 2]);
    const q = quantiles(withNaN, 0.5);
    const [a, b] = q.dataSync();
    assert.equal(a, 1.5);
    assert.ok(Number.isNaN(b));
    assert.throws(() => quantiles(x, [0.5, -0.1]), { message: "q: Expected values in [0, 1], got -0.1" });
    assert.throws(() => quantiles(x, []), { message: "q: Expected at least one level, got []" });
    const bad = tf.zeros([2, 3, 4]);
    assert.throws(() => quantiles(bad, 0.5), { message: "x: Expected rank 2 or 4, got [2,3,4]" });
    tf.dispose([x, med, ends, withNaN, q, bad]);
  });
});

Deno.test("thresholdByChannel gives strict per-channel binary masks", async () => {
  await assertNoLeak(() => {
    const x = tf.tensor4d([1, 10, 2, 20, 3, 30, 4, 40], [1, 2, 2, 2]);
    const m = thresholdByChannel(x, [2, 30]);
    assert.equal(m.dtype, "float32");
    assert.deepEqual([...m.dataSync()], [0, 0, 0, 0, 1, 0, 1, 1]);
    const levels = quantiles(x, 0.5); // [2.5, 25]
    const half = thresholdByChannel(x, levels);
    assert.deepEqual([...half.dataSync()], [0, 0, 0, 0, 1, 1, 1, 1]);
    assert.throws(() => thresholdByChannel(x, [1, 2, 3]), { message: "levels: Expected [2], got [3]" });
    const ints = tf.tensor2d([1, 2, 3], [3, 1], "int32");
    const intMask = thresholdByChannel(ints, [1.5]);
    assert.deepEqual([...intMask.dataSync()], [0, 1, 1]);
    tf.dispose([x, m, levels, half, ints, intMask]);
  });
});

Deno.test("the 0.99 quantile thresholds about 1% of each channel", async () => {
  await assertNoLeak(() => {
    const x = tf.tidy(() => tf.reshape(tf.range(0, 10000 * 3), [10000, 3])); // [M, C], distinct values
    const levels = quantiles(x, 0.99);
    const masks = thresholdByChannel(x, levels);
    const counts = tf.sum(masks, 0);
    assert.deepEqual([...counts.dataSync()], [100, 100, 100]); // p = 0.99 · 9999 = 9899.01: the 100 values of ranks 9900..9999
    tf.dispose([x, levels, masks, counts]);
  });
});
