import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { randomPggan } from "../models/pggan.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { ARTIFACT, NORMAL, REAL } from "./artifact_classifier.ts";
import {
  artifactSplits,
  heldoutSplit,
  labelledFeatures,
  recordClassifier,
  trainArtifactClassifier,
  trainArtifactRecord,
} from "./artifact_data.ts";
import type { LabelSet } from "./labels.ts";

await initBackend({ backend: "cpu" });

const labels: LabelSet = new Map(
  Array.from(
    { length: 40 },
    (
      _,
      seed,
    ) => [seed, { label: seed % 3 === 0 ? "skip" : seed % 2 ? "artifact" : "normal", source: "test" }],
  ),
);

Deno.test("heldoutSplit and artifactSplits: seeded, disjoint, per class", () => {
  const a = heldoutSplit([1, 2, 3, 4, 5, 6, 7, 8], 0.25, 3);
  assert.equal(a.heldout.length, 2);
  assert.deepEqual([...a.train, ...a.heldout].sort(), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(heldoutSplit([1, 2, 3, 4, 5, 6, 7, 8], 0.25, 3), a);
  assert.throws(() => heldoutSplit([1], 1, 0), /held-out share/);
  const s = artifactSplits(labels, { realImages: 12, heldoutShare: 0.5 });
  assert.equal(s.artifact.train.length + s.artifact.heldout.length, 13);
  assert.ok(s.artifact.train.every((seed) => labels.get(seed)!.label === "artifact"));
  assert.ok(s.normal.heldout.every((seed) => labels.get(seed)!.label === "normal"));
  assert.deepEqual(
    [...s.real.train, ...s.real.heldout].sort((x, y) => x - y),
    Array.from({ length: 12 }, (_, i) => i),
  );
});

Deno.test("labelledFeatures and trainArtifactClassifier on a toy generator and backbone", async () => {
  const gen = await createGenerator(randomPggan([16, 16, 8], { seed: 1 }), { engine: "tfjs" });
  // Real images are bright; the backbone's map is the image itself, so the pooled features are mean colours.
  const real = { sample: (ix: readonly number[]) => tf.fill([ix.length, 8, 8, 3], 0.9) as tf.Tensor4D };
  const parts = {
    gen,
    real: real as never,
    backbone: { name: "pixels", featureMap: (x: tf.Tensor4D) => tf.clone(x) },
  };
  await assertNoLeak(async () => {
    const f = await labelledFeatures(parts, { artifact: [1, 3], normal: [2], real: [0, 1] }, { batch: 1 });
    assert.equal(f.dim, 3);
    assert.deepEqual(Array.from(f.labels), [ARTIFACT, ARTIFACT, NORMAL, REAL, REAL]);
    assert.ok(Math.abs(f.features[3 * 3] - 0.9) < 1e-6);
    const { classifier, report, splits } = await trainArtifactClassifier(parts, labels, {
      realImages: 10,
      steps: 100,
    });
    assert.equal(report.backbone, "pixels");
    assert.equal(report.heldout.count, splits.artifact.heldout.length + splits.normal.heldout.length + 3);
    assert.equal(report.losses.length, 100);
    assert.equal(report.train.perClassAccuracy.real, 1);
    classifier.dispose();
  });
  await gen.dispose();
});

Deno.test("trainArtifactRecord: the trained classifier as JSON; recordClassifier rebuilds it exactly", async () => {
  const gen = await createGenerator(randomPggan([16, 16, 8], { seed: 1 }), { engine: "tfjs" });
  const real = { sample: (ix: readonly number[]) => tf.fill([ix.length, 8, 8, 3], 0.9) as tf.Tensor4D };
  const backbone = { name: "pixels", featureMap: (x: tf.Tensor4D) => tf.clone(x) };
  const parts = { gen, real: real as never, backbone };
  await assertNoLeak(async () => {
    const options = { realImages: 10, steps: 50 };
    const record = JSON.parse(JSON.stringify(await trainArtifactRecord(parts, labels, options)));
    const { classifier, report } = await trainArtifactClassifier(parts, labels, options);
    const { losses, ...rest } = report;
    assert.deepEqual(record.report, { ...rest, finalLoss: losses.at(-1) });
    assert.deepEqual(Object.keys(record.report), ["backbone", "train", "heldout", "finalLoss"]);
    const rebuilt = recordClassifier(backbone, record);
    assert.deepEqual(rebuilt.weight.dataSync(), classifier.weight.dataSync());
    assert.deepEqual(rebuilt.bias.dataSync(), classifier.bias.dataSync());
    rebuilt.dispose();
    classifier.dispose();
  });
  await gen.dispose();
});
