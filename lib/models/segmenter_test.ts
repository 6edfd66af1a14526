import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import {
  addConfusion,
  confusionMetrics,
  createSegmenter,
  disposeSegmenter,
  evaluateSegmenter,
  forward,
  loadSegmenter,
  saveSegmenter,
  segment,
  segmentationLoss,
  segmenterShapes,
} from "./segmenter.ts";
import { ARCH_KEY, CONFIG_KEY } from "./param_file.ts";

await initBackend({ backend: "cpu" });

const TINY = { channels: 3, classes: 5, widths: [4, 8] };
const tmp = await Deno.makeTempDir({ prefix: "ganatomy_segmenter_" });

Deno.test("segmenterShapes: encoder, decoder with skips, 1x1 head", () => {
  const shapes = segmenterShapes({ channels: 3, classes: 11, widths: [16, 32, 64] });
  assert.deepEqual(shapes["enc0.conv1.weight"], [3, 3, 3, 16]);
  assert.deepEqual(shapes["enc2.down.weight"], [3, 3, 32, 64]);
  assert.deepEqual(shapes["dec1.conv.weight"], [3, 3, 64 + 32, 32]);
  assert.deepEqual(shapes["dec0.conv.weight"], [3, 3, 32 + 16, 16]);
  assert.deepEqual(shapes["head.weight"], [1, 1, 16, 11]);
  assert.equal(shapes["dec2.conv.weight"], undefined);
  assert.throws(() => segmenterShapes({ channels: 3, classes: 2, widths: [] }), /widths must be/);
});

Deno.test("forward and segment: shapes, dtypes, no leaks, clear shape errors", async () => {
  const model = createSegmenter(TINY, { seed: 1 });
  const images = tf.randomUniform([2, 8, 8, 3], -1, 1);
  await assertNoLeak(async () => {
    const logits = forward(model, images);
    assert.deepEqual(logits.shape, [2, 8, 8, 5]);
    const labels = segment(model, images);
    assert.deepEqual(labels.shape, [2, 8, 8]);
    assert.equal(labels.dtype, "int32");
    const expected = tf.argMax(logits, 3);
    assert.deepEqual(await labels.data(), await expected.data());
    tf.dispose([logits, labels, expected]);
  });
  const grey = tf.zeros([1, 8, 8, 1]);
  const odd = tf.zeros([1, 7, 7, 3]);
  assert.throws(() => forward(model, grey), /Expected \[N,H,W,3\], got \[1,8,8,1\]/);
  assert.throws(() => forward(model, odd), /multiples of 2/);
  tf.dispose([images, grey, odd]);
  disposeSegmenter(model);
});

Deno.test("segmentationLoss: log K for uniform logits, lower for the right class", async () => {
  const uniform = tf.zeros([1, 2, 2, 4]);
  const labels = tf.tensor3d([0, 1, 2, 3], [1, 2, 2], "int32");
  await assertNoLeak(async () => {
    const loss = segmentationLoss(uniform, labels);
    assert.ok(Math.abs((await loss.data())[0] - Math.log(4)) < 1e-6);
    loss.dispose();
  });
  const right = tf.tidy(() => tf.mul(tf.oneHot(tf.reshape(labels, [1, 2, 2]), 4), 10));
  const loss = segmentationLoss(right, labels);
  assert.ok((await loss.data())[0] < 1e-3);
  assert.throws(() => segmentationLoss(uniform, tf.zeros([1, 3, 2], "int32")), /Expected logits \[N,H,W,K\]/);
  tf.dispose([uniform, labels, right, loss]);
});

Deno.test("a few Adam steps fit a tiny batch: the label is the sign of the red channel", async () => {
  const model = createSegmenter({ channels: 3, classes: 2, widths: [8, 8] }, { seed: 2 });
  const images = tf.randomUniform([2, 8, 8, 3], -1, 1, "float32", 3);
  const labels = tf.tidy(() => tf.cast(tf.greater(tf.slice(images, [0, 0, 0, 0], [2, 8, 8, 1]), 0), "int32"));
  const labels3 = tf.reshape(labels, [2, 8, 8]);
  const optimizer = tf.train.adam(0.02);
  const losses: number[] = [];
  for (let i = 0; i < 20; i++) {
    const loss = optimizer.minimize(
      () => segmentationLoss(forward(model, images), labels3),
      true,
      Object.values(model.params),
    )!;
    losses.push((await loss.data())[0]);
    loss.dispose();
  }
  assert.ok(losses[19] < 0.1 * losses[0], `loss ${losses[0]} → ${losses[19]}`);
  optimizer.dispose();
  tf.dispose([images, labels, labels3]);
  disposeSegmenter(model);
});

Deno.test("save/load: config in the metadata, float32 exact, float16 close, unique variable names", async () => {
  const model = createSegmenter(TINY, { seed: 3 });
  const path32 = `${tmp}/seg32.safetensors`;
  const path16 = `${tmp}/seg16.safetensors`;
  await saveSegmenter(path32, model);
  await saveSegmenter(path16, model, { dtype: "F16", metadata: { note: "x" } });
  const file = await readSafetensors(path16);
  assert.equal(file.metadata[ARCH_KEY], "segmenter");
  assert.deepEqual(JSON.parse(file.metadata[CONFIG_KEY]), TINY);
  assert.equal(file.metadata.note, "x");
  assert.equal(file.tensors.get("head.weight")!.dtype, "F16");

  const a = await loadSegmenter(path32); // a second and third model in the process: fresh variable names
  const b = await loadSegmenter(path16);
  assert.notEqual(a.params["head.bias"].name, model.params["head.bias"].name);
  const images = tf.randomUniform([1, 8, 8, 3], -1, 1, "float32", 4);
  const [y, ya, yb] = [model, a, b].map((m) => forward(m, images));
  assert.deepEqual(await ya.data(), await y.data());
  const diff = tf.max(tf.abs(tf.sub(yb, y)));
  assert.ok((await diff.data())[0] < 1e-2);
  tf.dispose([images, y, ya, yb, diff]);
  [model, a, b].forEach(disposeSegmenter);

  await Deno.writeFile(`${tmp}/bad.safetensors`, (await Deno.readFile(path32)).slice(0, 7));
  await assert.rejects(() => loadSegmenter(`${tmp}/bad.safetensors`), /bad\.safetensors/);
});

Deno.test("confusionMetrics: pixel accuracy, IoU per class, absent classes are null", async () => {
  const predicted = tf.tensor1d([0, 0, 1, 1, 1, 0], "int32");
  const labels = tf.tensor1d([0, 0, 0, 1, 1, 1], "int32");
  const counts = new Float64Array(9);
  await addConfusion(counts, predicted, labels);
  assert.deepEqual([...counts], [2, 1, 0, 1, 2, 0, 0, 0, 0]);
  const m = confusionMetrics(counts, ["a", "b", "c"]);
  assert.equal(m.pixelAccuracy, 4 / 6);
  assert.equal(m.perClassIoU.a, 2 / 4); // hit 2, labelled 3, predicted 3
  assert.equal(m.perClassIoU.b, 2 / 4);
  assert.equal(m.perClassIoU.c, null);
  assert.equal(m.meanIoU, 0.5);
  assert.equal(m.pixels, 6);
  const bad = tf.tensor1d([5, 0, 0, 0, 0, 0], "int32");
  await assert.rejects(() => addConfusion(counts, bad, labels), /out of 0\.\.2/);
  assert.throws(() => confusionMetrics(counts, ["a", "b"]), /Expected 2x2/);
  tf.dispose([predicted, labels, bad]);
});

Deno.test("evaluateSegmenter scores scenes against their true labels", async () => {
  const model = createSegmenter({ channels: 3, classes: 11, widths: [4] });
  await assertNoLeak(async () => {
    const m = await evaluateSegmenter(model, [7, 8, 9], { batch: 2 });
    assert.equal(m.pixels, 3 * 64 * 64);
    assert.ok(m.pixelAccuracy >= 0 && m.pixelAccuracy <= 1);
    assert.equal(Object.keys(m.perClassIoU).length, 11);
  });
  disposeSegmenter(model);
  const wrong = createSegmenter(TINY);
  await assert.rejects(() => evaluateSegmenter(wrong, [1]), /11 classes, the model 5/);
  disposeSegmenter(wrong);
});
