import { strict as assert } from "node:assert";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { listPngs, savePng } from "../io/png.ts";
import { type FeatureExtractor, toRgb } from "../models/features.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import {
  extractFeatures,
  frechetMetricName,
  frechetValueKey,
  pngBatches,
  readFeatures,
  UNNAMED_FEATURES,
  writeFeatures,
} from "./features.ts";

await initBackend({ backend: "cpu" });

/** Mean of each channel, and the image's first pixel value, so rows can be told apart. */
const toy: FeatureExtractor = {
  name: "toy",
  dim: 4,
  extract: (images) =>
    tf.tidy(() => {
      const rgb = toRgb(images);
      const first = tf.reshape(tf.slice(rgb, [0, 0, 0, 0], [-1, 1, 1, 1]), [-1, 1]);
      return tf.concat([tf.mean(rgb, [1, 2]), first], 1) as tf.Tensor2D;
    }),
  dispose() {},
};

Deno.test("extractFeatures: batches of any size give the rows in order; keep and onFeatures", async () => {
  const chunks = [0, 1].map((c) =>
    tf.tidy(() =>
      tf.tile(tf.reshape(tf.div(tf.range(c * 5, c * 5 + 5), 10), [5, 1, 1, 1]), [1, 2, 2, 3]) as tf.Tensor4D
    )
  );
  await assertNoLeak(async () => {
    const seen: number[] = [];
    const r = await extractFeatures(toy, chunks, { batch: 2, onFeatures: (_rows, n) => seen.push(n) });
    assert.equal(r.count, 10);
    assert.deepEqual(seen, [2, 2, 1, 2, 2, 1]);
    assert.deepEqual([...r.data.filter((_, i) => i % 4 === 3)].map((v) => Math.round(v * 10)), [
      0,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
    ]);
    const dropped = await extractFeatures(toy, chunks, { keep: false });
    assert.equal(dropped.data.length, 0);
    assert.equal(dropped.count, 10);
  });
  tf.dispose(chunks);
});

Deno.test("pngBatches: a folder of PNGs in [-1, 1], sorted; sizes must agree", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, value] of [["b.png", 255], ["a.png", 0], ["c.png", 51]] as const) {
      const data = new Uint8Array(4 * 4 * 3).fill(value);
      await savePng(join(dir, name), { data, height: 4, width: 4, channels: 3 });
    }
    const files = await listPngs(dir);
    const batches: number[][] = [];
    await assertNoLeak(async () => {
      for await (const b of pngBatches(files, { batch: 2 })) {
        batches.push([...b.shape, (await b.data())[0]]);
        b.dispose();
      }
    });
    assert.deepEqual(batches, [[2, 4, 4, 3, -1], [1, 4, 4, 3, -0.6000000238418579]]);
    await savePng(join(dir, "d.png"), { data: new Uint8Array(5 * 4 * 3), height: 5, width: 4, channels: 3 });
    await assert.rejects(async () => {
      for await (const b of pngBatches(await listPngs(dir), { batch: 8 })) b.dispose();
    }, /d.png: image is \[5,4,3\], the folder's first image is \[4,4,3\]/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFeatures / readFeatures round trip; metric names", async () => {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    const rows = Float32Array.from({ length: 12 }, (_, i) => i / 3);
    await writeFeatures(path, rows, { dim: 4, name: "toy" });
    const back = await readFeatures(path);
    assert.deepEqual([back.count, back.dim, back.name], [3, 4, "toy"]);
    assert.deepEqual(back.data, rows);
    await assert.rejects(() => writeFeatures(path, rows, { dim: 5, name: "toy" }), /not rows of 5/);
  } finally {
    await Deno.remove(path);
  }
  assert.equal(frechetMetricName("inception-v3-fid"), "FID");
  assert.equal(frechetMetricName("vgg16-fc2"), "FD (vgg16-fc2)");
  assert.equal(frechetValueKey("inception-v3-fid"), "fid");
  assert.equal(frechetValueKey("scenes-net"), "fd");
  assert.equal(frechetMetricName(UNNAMED_FEATURES), "FD (unnamed features)");
});

Deno.test("writeFeatures without a name writes an unnamed feature file", async () => {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    await writeFeatures(path, new Float32Array([1, 2, 3, 4]), { dim: 2 });
    const back = await readFeatures(path);
    assert.deepEqual([back.count, back.name, back.named], [2, UNNAMED_FEATURES, false]);
    await writeFeatures(path, new Float32Array([1, 2]), { dim: 2, name: "toy" });
    assert.equal((await readFeatures(path)).named, true);
  } finally {
    await Deno.remove(path);
  }
});
