import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, initBackend } from "../backend/backend.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import {
  checkNeighbourCount,
  nearestNeighbourRadii,
  pairwiseSquaredDistances,
  percentile,
  precisionRecall,
} from "./prdc.ts";
import { loadExpected, loadFeatureFixtures, maxRelativeError, toTensor2d } from "./test_util.ts";

const fixtures = await loadFeatureFixtures();
const expected = await loadExpected();

for (const backend of ["cpu", "wasm"] as BackendName[]) {
  for (const key of ["k3", "k5"]) {
    Deno.test(`precisionRecall (${backend}, ${key}): equals the official code's conventions (numpy float32)`, async () => {
      await initBackend({ backend });
      const ref = expected.prdc[key];
      const real = toTensor2d(fixtures.get("pr_real")), fake = toTensor2d(fixtures.get("pr_fake"));
      await assertNoLeak(async () => {
        // A small row block exercises the blocking (uneven last block).
        const r = await precisionRecall(real, fake, { k: ref.k, rowBlock: key === "k3" ? 37 : undefined });
        assert.equal(r.nReal, 200);
        assert.equal(r.nFake, 180);
        for (const name of ["precision", "recall", "density", "coverage"] as const) {
          assert.ok(Math.abs(r[name] - ref[name]) < 1e-6, `${name}: ${r[name]} vs ${ref[name]}`);
        }
        assert.deepEqual([...r.inRealManifold], ref.in_real_manifold);
        const radiiErr = maxRelativeError(r.realRadii, ref.real_radii);
        const realismErr = Math.max(
          ...ref.realism.map((v: number, i: number) => Math.abs(r.realism[i] - v) / v),
        );
        console.log(
          `P ${r.precision} R ${r.recall} D ${r.density.toFixed(4)} C ${r.coverage}; radii rel err ` +
            `${radiiErr.toExponential(2)}, realism max rel err ${realismErr.toExponential(2)}`,
        );
        assert.ok(radiiErr < 1e-5);
        assert.ok(realismErr < 1e-5);
      });
      tf.dispose([real, fake]);
    });
  }
}

Deno.test("pairwiseSquaredDistances and nearestNeighbourRadii on a toy set", async () => {
  await initBackend({ backend: "cpu" });
  const x = tf.tensor2d([[0, 0], [3, 4], [6, 8], [0, 1]]);
  await assertNoLeak(async () => {
    const d = pairwiseSquaredDistances(x, x);
    assert.deepEqual(
      await d.data(),
      new Float32Array([0, 25, 100, 1, 25, 0, 25, 18, 100, 25, 0, 85, 1, 18, 85, 0]),
    );
    d.dispose();
    // k = 1: the nearest other point; k = 3: the farthest (self counts as the first).
    assert.deepEqual([...await nearestNeighbourRadii(x, 1)], [1, 18, 25, 1]);
    assert.deepEqual([...await nearestNeighbourRadii(x, 3)], [100, 25, 100, 85]);
  });
  await assert.rejects(() => nearestNeighbourRadii(x, 4), /needs more than k = 4 samples, got 4/);
  x.dispose();
});

Deno.test("percentile: numpy's linear interpolation", () => {
  assert.equal(percentile([4, 1, 3, 2], 50), 2.5);
  assert.equal(percentile([5, 1, 3], 50), 3);
  assert.ok(Math.abs(percentile([1, 2, 3, 4, 10], 90) - 7.6) < 1e-12);
  assert.equal(percentile([7], 0), 7);
  assert.throws(() => percentile([1], 101), /q in \[0, 100\]/);
});

Deno.test("precisionRecall: identical sets have precision = recall = coverage = 1; errors", async () => {
  await initBackend({ backend: "cpu" });
  const real = toTensor2d(fixtures.get("pr_real"));
  const r = await precisionRecall(real, real, { k: 3 });
  assert.equal(r.precision, 1);
  assert.equal(r.recall, 1);
  assert.equal(r.coverage, 1);
  const other = tf.zeros([10, 3]) as tf.Tensor2D;
  await assert.rejects(() => precisionRecall(real, other), /fake: Expected \[N,64\], got \[10,3\]/);
  tf.dispose([real, other]);
});

Deno.test("precisionRecall: too few samples for k are refused up front, naming the set and the count", async () => {
  await initBackend({ backend: "cpu" });
  const many = tf.zeros([10, 2]) as tf.Tensor2D, two = tf.zeros([2, 2]) as tf.Tensor2D;
  await assertNoLeak(async () => {
    await assert.rejects(() => precisionRecall(many, two, { k: 3 }), {
      message:
        "fake: 2 samples, but k-NN with k = 3 needs more than 3 (each sample's radius is the distance " +
        "to its k-th nearest other sample)",
    });
    await assert.rejects(
      () => precisionRecall(two, many, { k: 2 }),
      /^Error: real: 2 samples, but k-NN with k = 2/,
    );
    await assert.rejects(
      () => precisionRecall(many, many, { k: 0 }),
      /k: Expected a positive integer, got 0/,
    );
  });
  assert.throws(
    () => checkNeighbourCount(1, 1, "x.npy"),
    /^Error: x\.npy: 1 sample, but k-NN with k = 1 needs more than 1/,
  );
  tf.dispose([many, two]);
});
