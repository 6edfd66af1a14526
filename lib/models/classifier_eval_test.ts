import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { type ClassifierConfig, createClassifier, disposeClassifier } from "./classifier.ts";
import type { LabelledData } from "./classifier_data.ts";
import { evaluateClassifier } from "./classifier_eval.ts";

await initBackend({ backend: "cpu" });

const TINY: ClassifierConfig = {
  resolution: 16,
  channels: 1,
  widths: [4, 8, 8],
  outputs: ["a", "b", "c"],
  kind: "multiclass",
};

/** Labelled data with fixed targets, for checking the metrics by hand. */
function fakeData(kind: ClassifierConfig["kind"], targets: number[][]): LabelledData {
  return {
    name: "fake",
    description: "fake",
    size: targets.length,
    outputs: TINY.outputs,
    kind,
    resolution: 16,
    channels: 1,
    batch: (indices) => ({
      images: tf.zeros([indices.length, 16, 16, 1]),
      targets: kind === "multiclass"
        ? tf.tensor1d(indices.map((i) => targets[i][0]), "int32")
        : tf.tensor2d(indices.map((i) => targets[i])),
    }),
  };
}

/** A classifier that always outputs `bias` (fc weights zero). */
function constantModel(kind: ClassifierConfig["kind"], bias: number[]) {
  const model = createClassifier({ ...TINY, kind });
  model.params["fc.weight"].assign(tf.zerosLike(model.params["fc.weight"]));
  model.params["fc.bias"].assign(tf.tensor1d(bias));
  return model;
}

Deno.test("evaluateClassifier: accuracy, per-output accuracy and F1 against hand counts", async () => {
  const always0 = constantModel("multiclass", [5, 0, 0]);
  const data = fakeData("multiclass", [[0], [0], [1], [2]]);
  await assertNoLeak(async () => {
    const m = await evaluateClassifier(always0, { data, indices: [0, 1, 2, 3] }, { batch: 3 });
    assert.equal(m.accuracy, 0.5);
    assert.deepEqual(m.perOutputAccuracy, { a: 1, b: 0, c: 0 });
    assert.equal(m.meanF1, undefined);
  });
  // Multilabel: always predicts "a" and "c", never "b".
  const ac = constantModel("multilabel", [5, -5, 5]);
  const attrs = fakeData("multilabel", [[1, 0, 0], [1, 1, 0], [0, 0, 0], [1, 0, 1]]);
  const m = await evaluateClassifier(ac, { data: attrs, indices: [0, 1, 2, 3] });
  assert.deepEqual(m.perOutputAccuracy, { a: 0.75, b: 0.75, c: 0.25 });
  assert.equal(m.accuracy, (0.75 + 0.75 + 0.25) / 3);
  // a: tp 3, fp 1 → 6/7; b: tp 0, fn 1 → 0; c: tp 1, fp 3 → 2/5.
  assert.deepEqual(m.perOutputF1, { a: 6 / 7, b: 0, c: 2 / 5 });
  assert.ok(Math.abs(m.meanF1! - (6 / 7 + 2 / 5) / 3) < 1e-12);
  assert.deepEqual(m.prevalence, { a: 0.75, b: 0.25, c: 0.25 });
  await assert.rejects(() => evaluateClassifier(always0, { data: attrs, indices: [0] }), /not those of fake/);
  [always0, ac].forEach(disposeClassifier);
});
