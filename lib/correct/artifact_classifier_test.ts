import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { Rng } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import {
  ARTIFACT,
  ArtifactClassifier,
  evaluateHead,
  type LabelledFeatures,
  NORMAL,
  pooledFeatures,
  REAL,
  trainHead,
} from "./artifact_classifier.ts";

await initBackend({ backend: "cpu" });

/** Three Gaussian clusters in 4-d with large, shifted feature scales (the head must standardise). */
function clusters(count: number, seed: number): LabelledFeatures {
  const rng = new Rng(seed);
  const centres = [[5, 0, 100, 0], [0, 5, 100, 0], [0, 0, 110, 5]];
  const labels = Int32Array.from({ length: count }, (_, i) => [ARTIFACT, NORMAL, REAL][i % 3]);
  const features = Float32Array.from({ length: count * 4 }, (_, j) => {
    const [i, d] = [Math.floor(j / 4), j % 4];
    return centres[labels[i]][d] + rng.normal();
  });
  return { features, labels, dim: 4 };
}

/** A backbone that returns its input: pooled features are the images' mean over positions. */
const identity = { name: "identity", featureMap: (x: tf.Tensor4D) => tf.clone(x) };

Deno.test("trainHead separates three clusters; evaluateHead counts a confusion matrix", async () => {
  await assertNoLeak(() => {
    const head = trainHead(clusters(300, 1), { steps: 300 });
    assert.ok(head.losses![299] < head.losses![0] / 5, `loss ${head.losses![0]} → ${head.losses![299]}`);
    const m = evaluateHead(head, clusters(150, 2));
    assert.ok(m.accuracy > 0.95, `accuracy ${m.accuracy}`);
    assert.equal(m.confusion.flat().reduce((a, b) => a + b, 0), 150);
    assert.deepEqual(m.confusion.map((row) => row.reduce((a, b) => a + b, 0)), [50, 50, 50]);
    assert.ok(m.perClassAccuracy.real > 0.9);
  });
  assert.throws(
    () => trainHead({ features: new Float32Array(3), labels: Int32Array.from([0, 1]), dim: 2 }),
    /4 feature/,
  );
  assert.throws(
    () => trainHead({ features: new Float32Array(2), labels: Int32Array.from([3]), dim: 2 }),
    /class id 3/,
  );
});

Deno.test("ArtifactClassifier: the folded head gives evaluateHead's logits; save and load", async () => {
  const data = clusters(60, 3);
  const head = trainHead(data, { steps: 100 });
  const model = new ArtifactClassifier(identity, head);
  await assertNoLeak(async () => {
    // One image per row: a 1x1 "map" holding the features.
    const images = tf.tensor4d(data.features, [60, 1, 1, 4]);
    const pooled = await pooledFeatures(identity, images, { batch: 7 });
    assert.deepEqual(Array.from(pooled), Array.from(data.features));
    const predicted = tf.tidy(() => tf.argMax(model.probabilities(images), 1));
    const m = evaluateHead(head, data);
    const right = Array.from(predicted.dataSync()).filter((p, i) => p === data.labels[i]).length;
    assert.equal(right / 60, m.accuracy);
    const pArtifact = await model.artifactProbability(images);
    const probabilities = tf.tidy(() => model.probabilities(images));
    assert.deepEqual(
      Array.from(pArtifact),
      Array.from(probabilities.dataSync()).filter((_, j) => j % 3 === ARTIFACT),
    );
    tf.dispose([images, predicted, probabilities]);
  });
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await model.save(path);
  const loaded = await ArtifactClassifier.load(path, identity);
  assert.deepEqual(Array.from(loaded.weight.dataSync()), Array.from(model.weight.dataSync()));
  await assert.rejects(
    () => ArtifactClassifier.load(path, { ...identity, name: "other" }),
    /backbone "identity"/,
  );
  assert.throws(() => model.head(tf.zeros([1, 2, 2, 3]) as tf.Tensor4D), /Expected \[N,h,w,4\]/);
  loaded.dispose();
  model.dispose();
  await Deno.remove(path);
});
