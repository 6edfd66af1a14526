import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { kernelDistance, mmd2Unbiased } from "./kid.ts";
import { loadExpected, loadFeatureFixtures, toTensor2d } from "./test_util.ts";

await initBackend({ backend: "cpu" });
const fixtures = await loadFeatureFixtures();
const expected = await loadExpected();

Deno.test("mmd2Unbiased: equals clean-fid's estimator (numpy float64) on whole sets and given subsets", async () => {
  const a = toTensor2d(fixtures.get("kid_a")), b = toTensor2d(fixtures.get("kid_b"));
  await assertNoLeak(async () => {
    const whole = await mmd2Unbiased(a, b);
    console.log(`MMD² ${whole} vs numpy ${expected.kid.whole}`);
    assert.ok(Math.abs(whole - expected.kid.whole) < 1e-6);
    for (const s of expected.kid.subsets) {
      const ia = tf.tensor1d(s.a, "int32"), ib = tf.tensor1d(s.b, "int32");
      const x = tf.gather(a, ia) as tf.Tensor2D, y = tf.gather(b, ib) as tf.Tensor2D;
      const v = await mmd2Unbiased(x, y);
      assert.ok(Math.abs(v - s.mmd2) < 1e-6, `${v} vs ${s.mmd2}`);
      tf.dispose([ia, ib, x, y]);
    }
  });
  tf.dispose([a, b]);
});

Deno.test("kernelDistance: subsets as large as the sets give the whole-set value with std 0", async () => {
  const a = toTensor2d(fixtures.get("kid_a")), b = toTensor2d(fixtures.get("kid_b"));
  await assertNoLeak(async () => {
    const r = await kernelDistance(a, b, { subsets: 3, subsetSize: 1000 });
    assert.equal(r.subsetSize, 200);
    assert.ok(Math.abs(r.mean - expected.kid.whole) < 1e-6);
    assert.ok(r.std < 1e-9);
  });
  tf.dispose([a, b]);
});

Deno.test("kernelDistance: seeded subsets are reproducible; mean and population std", async () => {
  const a = toTensor2d(fixtures.get("kid_a")), b = toTensor2d(fixtures.get("kid_b"));
  const r1 = await kernelDistance(a, b, { subsets: 6, subsetSize: 50, seed: 3 });
  const r2 = await kernelDistance(a, b, { subsets: 6, subsetSize: 50, seed: 3 });
  const r3 = await kernelDistance(a, b, { subsets: 6, subsetSize: 50, seed: 4 });
  assert.deepEqual(r1.values, r2.values);
  assert.notDeepEqual(r1.values, r3.values);
  const mean = r1.values.reduce((s, v) => s + v, 0) / 6;
  assert.ok(Math.abs(r1.mean - mean) < 1e-15);
  assert.ok(Math.abs(r1.std - Math.sqrt(r1.values.reduce((s, v) => s + (v - mean) ** 2, 0) / 6)) < 1e-15);
  // Subsets of 50 scatter around the whole-set value.
  assert.ok(Math.abs(r1.mean - expected.kid.whole) < 4 * r1.std);
  tf.dispose([a, b]);
});

Deno.test("kernelDistance: clear errors", async () => {
  const a = tf.zeros([5, 3]) as tf.Tensor2D,
    b = tf.zeros([5, 4]) as tf.Tensor2D,
    c = tf.zeros([1, 3]) as tf.Tensor2D;
  await assert.rejects(() => kernelDistance(a, b), /b: Expected \[N,3\], got \[5,4\]/);
  await assert.rejects(() => kernelDistance(a, c), /at least 2 rows/);
  await assert.rejects(() => kernelDistance(a, a, { subsets: 0 }), /subsets: Expected a positive integer/);
  tf.dispose([a, b, c]);
});
