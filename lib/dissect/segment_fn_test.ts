import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { randomPggan } from "../models/pggan.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import {
  conceptFractions,
  conceptIndex,
  generateSegmented,
  relabelledShare,
  sampleSeeds,
  sceneConcepts,
  segmentMasks,
  toConceptMasks,
} from "./segment_fn.ts";
import { channelSegmenter } from "./test_util.ts";

await initBackend({ backend: "cpu" });

Deno.test("toConceptMasks: labels become one-hot masks, unknown ids none; masks become binary", async () => {
  const labels = tf.tensor3d([0, 2, -1, 5], [1, 2, 2], "int32");
  const soft = tf.tensor4d([0, 0.3, 2, 0], [1, 1, 2, 2]);
  await assertNoLeak(() => {
    const a = toConceptMasks(labels, 3);
    assert.deepEqual(a.arraySync(), [[[[1, 0, 0], [0, 0, 1]], [[0, 0, 0], [0, 0, 0]]]]);
    const b = toConceptMasks(soft, 2);
    assert.deepEqual(Array.from(b.dataSync()), [0, 1, 1, 0]);
    tf.dispose([a, b]);
  });
  assert.throws(
    () => toConceptMasks(soft, 3),
    /segmentation: Expected labels \[N,H,W\] or masks \[N,H,W,3\], got \[1,1,2,2\]/,
  );
  const floats = tf.zeros([1, 2, 2]);
  assert.throws(() => toConceptMasks(floats, 3), /Expected int32 labels, got float32/);
  tf.dispose([labels, soft, floats]);
});

Deno.test("segmentMasks disposes the segmenter's output; conceptFractions, with and without a region", async () => {
  const images = tf.tensor4d([1, -1, -1, /* */ -1, 1, -1, /* */ -1, -1, -1, /* */ -1, -1, 1], [1, 2, 2, 3]);
  await assertNoLeak(async () => {
    const masks = await segmentMasks(channelSegmenter, images, 4); // red, green, dark, blue
    const all = conceptFractions(masks);
    assert.deepEqual(Array.from(all.dataSync()), [0.25, 0.25, 0.25, 0.25]);
    const top = tf.tensor2d([1, 1, 0, 0], [2, 2]);
    const inTop = conceptFractions(masks, top);
    assert.deepEqual(Array.from(inTop.dataSync()), [0.5, 0.5, 0, 0]);
    tf.dispose([masks, all, top, inTop]);
  });
  images.dispose();
});

Deno.test("generateSegmented returns images, activations and masks without leaks", async () => {
  const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
  await assertNoLeak(async () => {
    const { images, acts, masks } = await generateSegmented(gen, channelSegmenter, {
      seeds: [1, 2],
      layer: "layer3",
      concepts: 4,
    });
    assert.deepEqual([images.shape, acts.shape, masks.shape], [[2, 8, 8, 3], [2, 8, 8, 8], [2, 8, 8, 4]]);
    const perImage = tf.sum(masks, [1, 2, 3]);
    assert.deepEqual(Array.from(perImage.dataSync()), [64, 64]);
    tf.dispose([images, acts, masks, perImage]);
  });
  await gen.dispose();
});

Deno.test("conceptIndex and sampleSeeds", () => {
  assert.equal(conceptIndex(sceneConcepts(), "door"), 7);
  assert.equal(conceptIndex(["a", "b"], 1), 1);
  assert.throws(() => conceptIndex(["a", "b"], "c"), /concept "c" is not one of a, b/);
  assert.throws(() => conceptIndex(["a", "b"], 2), /concept 2 is not one of/);
  assert.deepEqual(sampleSeeds(3), [0, 1, 2]);
  assert.deepEqual(sampleSeeds([5, 9]), [5, 9]);
  assert.throws(() => sampleSeeds([]), /at least one seed/);
  assert.throws(() => sampleSeeds(0), /positive integer/);
});

Deno.test("relabelledShare: the share of the other pixels whose label changed", () => {
  // Pixels 0 and 1 are the skipped concept 2; of the other four, one changes label.
  assert.equal(relabelledShare([2, 2, 0, 1, 1, 0], [0, 1, 0, 1, 0, 0], 2), 0.25);
  assert.equal(relabelledShare([2, 2], [0, 0], 2), null);
  assert.throws(() => relabelledShare([0], [0, 1], 2), /same length, got 1 and 2/);
});
