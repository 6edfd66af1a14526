import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { sceneBatch } from "../data/scenes.ts";
import { createGenerator } from "../engine/select.ts";
import { loadClassifier } from "../models/classifier.ts";
import { randomPggan } from "../models/pggan.ts";
import { disposeSegmenter, loadSegmenter } from "../models/segmenter.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { autoLabel, confidenceCriterion, type LabelCriterion, sceneDefectCriterion } from "./auto_label.ts";

await initBackend({ backend: "cpu" });

/** A criterion that scores an image by its mean value mapped to [0, 1]. */
const brightness: LabelCriterion = {
  name: "brightness",
  description: "mean value",
  score: (images) => dataOf(tf.tidy(() => tf.div(tf.add(tf.mean(images, [1, 2, 3]), 1), 2))),
};

/** The values of a tensor, which is then disposed. */
async function dataOf(t: tf.Tensor): Promise<Float32Array> {
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

Deno.test("autoLabel: fixed cut-offs and the rank rule", async () => {
  const gen = await createGenerator(randomPggan([16, 16, 8], { seed: 1, biasStd: 0.5 }), { engine: "tfjs" });
  const seeds = Array.from({ length: 30 }, (_, i) => i);
  await assertNoLeak(async () => {
    const byCut = await autoLabel(gen, brightness, {
      seeds,
      artifactAbove: 0.5,
      normalBelow: 0.45,
      batch: 7,
      progress: false,
    });
    assert.equal(byCut.length, 30);
    for (const l of byCut) {
      assert.equal(l.label, l.score >= 0.5 ? "artifact" : l.score <= 0.45 ? "normal" : "skip");
      assert.equal(l.source, `auto:brightness=${l.score.toFixed(4)}`);
    }
    const byRank = await autoLabel(gen, brightness, { seeds, rule: "rank", fraction: 0.2, progress: false });
    const count = (label: string) => byRank.filter((l) => l.label === label).length;
    assert.deepEqual([count("artifact"), count("normal"), count("skip")], [6, 6, 18]);
    const worst = Math.min(...byRank.filter((l) => l.label === "artifact").map((l) => l.score));
    assert.ok(byRank.filter((l) => l.label !== "artifact").every((l) => l.score <= worst));
  });
  await assert.rejects(
    () => autoLabel(gen, brightness, { seeds, artifactAbove: 0.1, normalBelow: 0.2 }),
    /normalBelow/,
  );
  await gen.dispose();
});

Deno.test("sceneDefectCriterion: real scenes score near 0, a scrambled scene high", async () => {
  const segmenter = await loadSegmenter("data/models/scenes_segmenter.safetensors");
  const criterion = sceneDefectCriterion(segmenter);
  const { images, labels } = sceneBatch([1_000_000_001, 1_000_000_002, 1_000_000_003]);
  await assertNoLeak(async () => {
    const clean = await criterion.score(images);
    assert.ok(Math.max(...clean) < 0.02, `clean scenes: ${clean}`);
    const scrambled = tf.tidy(() => tf.reverse(tf.transpose(images, [0, 2, 1, 3]), 2) as tf.Tensor4D);
    const bad = await criterion.score(scrambled);
    scrambled.dispose();
    assert.ok(Math.min(...bad) > 0.05, `rotated scenes: ${bad}`);
  });
  tf.dispose([images, labels]);
  disposeSegmenter(segmenter);
});

Deno.test("confidenceCriterion: 1 − max probability, multiclass only", async () => {
  const net = await loadClassifier("data/models/fashion_net.safetensors");
  const images = tf.fill([2, 32, 32, 1], -1) as tf.Tensor4D;
  const s = await confidenceCriterion(net).score(images);
  assert.ok(s.every((v) => v >= 0 && v < 0.9));
  const scenes = await loadClassifier("data/models/scenes_net.safetensors");
  assert.throws(() => confidenceCriterion(scenes), /multiclass/);
  images.dispose();
});
