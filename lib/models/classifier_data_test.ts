import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { fashionMnist, optionalTest } from "../../tests/optional.ts";
import { labelledData, presenceTargets } from "./classifier_data.ts";

await initBackend({ backend: "cpu" });

Deno.test("presenceTargets: 1 where a class has at least one pixel", async () => {
  const labels = tf.tensor3d([0, 0, 2, 0, 1, 1, 1, 1], [2, 2, 2], "int32");
  await assertNoLeak(async () => {
    const t = presenceTargets(labels, 4);
    assert.deepEqual([...await t.data()], [1, 0, 1, 0, 0, 1, 0, 0]);
    t.dispose();
  });
  assert.throws(() => presenceTargets(tf.zeros([2, 4]), 4), /Expected \[N,H,W\]/);
  labels.dispose();
});

Deno.test("labelledData: scenes attributes and fashion classes", async () => {
  const scenes = await labelledData("scenes", { split: "test" });
  assert.equal(scenes.kind, "multilabel");
  assert.equal(scenes.outputs[7], "door");
  const { images, targets } = scenes.batch([0, 1]);
  assert.deepEqual(images.shape, [2, 64, 64, 3]);
  assert.deepEqual(targets.shape, [2, 11]);
  const t = await targets.data();
  assert.equal(t[0], 1); // every scene has sky…
  assert.equal(t[3], 1); // …and ground
  tf.dispose([images, targets]);
  await assert.rejects(() => labelledData("mnist"), /unknown data set "mnist"/);
});

optionalTest("labelledData: fashion", fashionMnist(), async () => {
  const fashion = await labelledData("fashion", { split: "test" });
  assert.equal(fashion.size, 10_000);
  const { images, targets } = fashion.batch([0, 1]);
  assert.deepEqual(images.shape, [2, 32, 32, 1]);
  assert.deepEqual([...await targets.data()], [9, 2]); // "Ankle boot", "Pullover"
  tf.dispose([images, targets]);
});
