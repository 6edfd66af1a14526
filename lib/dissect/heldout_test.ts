import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { latents } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { columnMean, labelFractions, segmentSeeds } from "./heldout.ts";
import { channelSegmenter, knownGenerator, knownLabel } from "./test_util.ts";

await initBackend({ backend: "cpu" });

/** `relu(z)` of every seed: the (constant) unit values of {@link knownGenerator}'s images. */
function unitValues(seeds: number[]): number[][] {
  const z = latents(seeds, 4);
  const values = Array.from(z.dataSync());
  z.dispose();
  return seeds.map((_, i) => values.slice(i * 4, i * 4 + 4).map((v) => Math.max(0, v)));
}

const SEEDS = [100, 101, 102, 103, 104];

Deno.test("segmentSeeds: the labels of every image, unedited, ablated, or edited in a region", async () => {
  const gen = await createGenerator(knownGenerator(), { engine: "tfjs" });
  const units = unitValues(SEEDS);
  await assertNoLeak(async () => {
    const seg = await segmentSeeds(gen, channelSegmenter, SEEDS, { batch: 2, show: 3, progress: false });
    assert.deepEqual([seg.count, seg.height, seg.width, seg.labels.length], [5, 4, 4, 80]);
    assert.deepEqual(Array.from(seg.labels), units.flatMap((u) => Array(16).fill(knownLabel(u))));
    assert.equal(seg.shown.length, 3);
    assert.deepEqual([seg.shown[0].height, seg.shown[0].width, seg.shown[0].channels], [4, 4, 3]);

    const ablated = await segmentSeeds(gen, channelSegmenter, SEEDS, {
      intervention: { layer: "feat", units: [0], mode: "ablate" },
      progress: false,
    });
    assert.deepEqual(ablated.shown, []);
    assert.deepEqual(
      Array.from(ablated.labels),
      units.flatMap((u) => Array(16).fill(knownLabel([0, u[1], u[2], u[3]]))),
    );

    // Unit 0 forced to 5 in the left half of every image: red there, the unedited label elsewhere.
    const regions = tf.tidy(() =>
      tf.tile(tf.reshape(tf.tensor1d([1, 1, 0, 0]), [1, 1, 4]), [SEEDS.length, 4, 1])
    ) as tf.Tensor3D;
    const edited = await segmentSeeds(gen, channelSegmenter, SEEDS, {
      intervention: { layer: "feat", units: [0], mode: "insert", values: 5 },
      regions,
      batch: 3,
      progress: false,
    });
    regions.dispose();
    units.forEach((u, i) => {
      for (let p = 0; p < 16; p++) assert.equal(edited.labels[i * 16 + p], p % 4 < 2 ? 0 : knownLabel(u));
    });
  });
  await gen.dispose();
});

Deno.test("segmentSeeds: refuses masks, and regions of another count", async () => {
  const gen = await createGenerator(knownGenerator(), { engine: "tfjs" });
  await assertNoLeak(async () => {
    const masks = (images: tf.Tensor4D) => tf.tidy(() => tf.oneHot(channelSegmenter(images), 4));
    await assert.rejects(
      segmentSeeds(gen, masks, SEEDS, { progress: false }),
      /segmenter: Expected int32 labels \[5,H,W\], got int32 \[5,4,4,4\]/,
    );
    const regions = tf.ones([2, 4, 4]) as tf.Tensor3D;
    await assert.rejects(
      segmentSeeds(gen, channelSegmenter, SEEDS, {
        intervention: { layer: "feat", units: [0], mode: "ablate" },
        regions,
        progress: false,
      }),
      /regions: Expected one mask per seed \(\[5,h,w\]\)/,
    );
    regions.dispose();
  });
  await assert.rejects(segmentSeeds(gen, channelSegmenter, []), /at least one seed/);
  await gen.dispose();
});

Deno.test("labelFractions: each concept's share of every image or box; columnMean over kept rows", () => {
  // Two 2x4 images; ids 9 and -1 are no concept.
  const seg = {
    labels: Int32Array.from([0, 0, 1, 1, 0, 2, 9, -1, /* image 1 */ 2, 2, 2, 2, 2, 2, 1, 1]),
    count: 2,
    height: 2,
    width: 4,
  };
  assert.deepEqual(labelFractions(seg, 3), [[3 / 8, 2 / 8, 1 / 8], [0, 2 / 8, 6 / 8]]);
  const boxes = [{ x0: 0, y0: 0, x1: 2, y1: 2 }, { x0: 2, y0: 1, x1: 4, y1: 2 }];
  assert.deepEqual(labelFractions(seg, 3, boxes), [[3 / 4, 0, 1 / 4], [0, 1, 0]]);
  const rows = [[0.5, 0.1], [0.25, 0.2], [1, 0.3]];
  assert.equal(columnMean(rows, 0), 1.75 / 3);
  assert.equal(columnMean(rows, 1, (i) => i !== 1), (0.1 + 0.3) / 2);
  assert.equal(columnMean(rows, 0, () => false), null);
  assert.throws(() => labelFractions(seg, 3, [boxes[0]]), /one box per image \(2\), got 1/);
  assert.throws(
    () => labelFractions(seg, 3, [boxes[0], { x0: 3, y0: 0, x1: 5, y1: 1 }]),
    /is not inside the 2x4 image/,
  );
  assert.throws(() => labelFractions({ ...seg, count: 3 }, 3), /Expected 3·2·4 labels, got 16/);
});
