import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import {
  type ClassifierConfig,
  classifierLoss,
  classifierShapes,
  createClassifier,
  disposeClassifier,
  featureMap,
  features,
  forward,
  head,
  loadClassifier,
  predict,
  saveClassifier,
} from "./classifier.ts";
import { ARCH_KEY, CONFIG_KEY } from "./param_file.ts";

await initBackend({ backend: "cpu" });

const TINY: ClassifierConfig = {
  resolution: 16,
  channels: 1,
  widths: [4, 8, 8],
  outputs: ["a", "b", "c"],
  kind: "multiclass",
};
const tmp = await Deno.makeTempDir({ prefix: "ganatomy_classifier_" });

Deno.test("classifierShapes: stem, residual blocks with shortcuts where the shape changes, fc", () => {
  const shapes = classifierShapes({ ...TINY, widths: [16, 32, 32], blocksPerStage: 2 });
  assert.deepEqual(shapes["stem.conv.weight"], [3, 3, 1, 16]);
  assert.deepEqual(shapes["stage0.block0.conv1.weight"], [3, 3, 16, 16]);
  assert.equal(shapes["stage0.block0.shortcut.weight"], undefined); // same width and size: identity
  assert.deepEqual(shapes["stage1.block0.shortcut.weight"], [1, 1, 16, 32]);
  assert.deepEqual(shapes["stage2.block0.shortcut.weight"], [1, 1, 32, 32]); // same width, half the size
  assert.equal(shapes["stage2.block1.shortcut.weight"], undefined);
  assert.deepEqual(shapes["stage2.block1.gain"], []);
  assert.deepEqual(shapes["fc.weight"], [32, 3]);
  assert.throws(() => classifierShapes({ ...TINY, resolution: 10 }), /not divisible/);
  assert.throws(() => classifierShapes({ ...TINY, outputs: [] }), /at least one output/);
});

Deno.test("forward = head(featureMap); features = pooled map; shapes, no leaks, shape errors", async () => {
  const model = createClassifier({ ...TINY, stemStride: 2 }, { seed: 1 });
  const images = tf.randomUniform([2, 16, 16, 1], -1, 1, "float32", 1);
  await assertNoLeak(async () => {
    const map = featureMap(model, images);
    assert.deepEqual(map.shape, [2, 2, 2, 8]); // 16 / (2 · 2^2)
    const f = features(model, images);
    assert.deepEqual(f.shape, [2, 8]);
    const logits = forward(model, images);
    assert.deepEqual(logits.shape, [2, 3]);
    const viaHead = head(model, map);
    assert.deepEqual(await viaHead.data(), await logits.data());
    const pooled = tf.mean(map, [1, 2]);
    assert.deepEqual(await pooled.data(), await f.data());
    const classes = predict(model, images);
    assert.deepEqual(classes.shape, [2]);
    tf.dispose([map, f, logits, viaHead, pooled, classes]);
  });
  const rgb = tf.zeros([1, 16, 16, 3]);
  assert.throws(() => forward(model, rgb), /Expected \[N,16,16,1\], got \[1,16,16,3\]/);
  const map = tf.zeros([1, 2, 2, 5]);
  assert.throws(() => head(model, map), /Expected \[N,h,w,8\]/);
  tf.dispose([images, rgb, map]);
  disposeClassifier(model);
});

Deno.test("Grad-CAM works: the gradient of a logit with respect to the last conv map", async () => {
  const model = createClassifier(TINY, { seed: 2 });
  const images = tf.randomUniform([1, 16, 16, 1], -1, 1, "float32", 2);
  await assertNoLeak(async () => {
    const map = featureMap(model, images);
    const grad = tf.grad((m: tf.Tensor) => tf.sum(tf.slice(head(model, m), [0, 1], [1, 1])))(map);
    assert.deepEqual(grad.shape, map.shape);
    // With global average pooling the gradient is fc.weight[:, 1] / (h·w) at every position.
    const diff = tf.tidy(() => {
      const expected = tf.div(tf.slice(model.params["fc.weight"], [0, 1], [8, 1]), 16); // [D, 1]
      const first = tf.reshape(tf.slice(grad, [0, 0, 0, 0], [1, 1, 1, 8]), [8, 1]); // position (0, 0)
      return tf.max(tf.abs(tf.sub(first, expected)));
    });
    assert.ok((await diff.data())[0] < 1e-6);
    tf.dispose([map, grad, diff]);
  });
  tf.dispose(images);
  disposeClassifier(model);
});

Deno.test("classifierLoss: log K (multiclass) and log 2 (multilabel) at zero logits", async () => {
  const multi = createClassifier(TINY);
  const attrs = createClassifier({ ...TINY, kind: "multilabel" });
  const zeros = tf.zeros([2, 3]);
  const ids = tf.tensor1d([0, 2], "int32");
  const present = tf.tensor2d([[1, 0, 1], [0, 0, 1]]);
  await assertNoLeak(async () => {
    const a = classifierLoss(multi, zeros, ids);
    const b = classifierLoss(attrs, zeros, present);
    assert.ok(Math.abs((await a.data())[0] - Math.log(3)) < 1e-6);
    assert.ok(Math.abs((await b.data())[0] - Math.log(2)) < 1e-6);
    tf.dispose([a, b]);
  });
  // A confident right answer costs ~nothing, a confident wrong one a lot, without overflow.
  const confident = tf.tensor2d([[80, -80, 80], [-80, -80, 80]]);
  const right = classifierLoss(attrs, confident, present);
  const wrong = classifierLoss(attrs, tf.neg(confident), present);
  assert.ok((await right.data())[0] < 1e-6);
  assert.ok(Math.abs((await wrong.data())[0] - 80) < 1e-3);
  assert.throws(() => classifierLoss(multi, zeros, present), /targets \[N\]/);
  tf.dispose([zeros, ids, present, confident, right, wrong]);
  [multi, attrs].forEach(disposeClassifier);
});

Deno.test("a few Adam steps fit a tiny batch", async () => {
  const model = createClassifier({ ...TINY, resolution: 8, widths: [4, 8] }, { seed: 3 });
  const images = tf.randomUniform([6, 8, 8, 1], -1, 1, "float32", 3);
  const ids = tf.tensor1d([0, 1, 2, 0, 1, 2], "int32");
  const optimizer = tf.train.adam(0.02);
  const losses: number[] = [];
  for (let i = 0; i < 30; i++) {
    const loss = optimizer.minimize(
      () => classifierLoss(model, forward(model, images), ids),
      true,
      Object.values(model.params),
    )!;
    losses.push((await loss.data())[0]);
    loss.dispose();
  }
  assert.ok(losses[29] < 0.2 * losses[0], `loss ${losses[0]} → ${losses[29]}`);
  optimizer.dispose();
  tf.dispose([images, ids]);
  disposeClassifier(model);
});

Deno.test("save/load: config in the metadata, float32 exact, float16 close", async () => {
  const model = createClassifier(TINY, { seed: 4 });
  await saveClassifier(`${tmp}/c32.safetensors`, model);
  await saveClassifier(`${tmp}/c16.safetensors`, model, { dtype: "F16" });
  const file = await readSafetensors(`${tmp}/c16.safetensors`);
  assert.equal(file.metadata[ARCH_KEY], "classifier");
  assert.deepEqual(JSON.parse(file.metadata[CONFIG_KEY]), TINY);
  const a = await loadClassifier(`${tmp}/c32.safetensors`);
  const b = await loadClassifier(`${tmp}/c16.safetensors`);
  const images = tf.randomUniform([2, 16, 16, 1], -1, 1, "float32", 5);
  const [y, ya, yb] = [model, a, b].map((m) => features(m, images));
  assert.deepEqual(await ya.data(), await y.data());
  const diff = tf.max(tf.abs(tf.sub(yb, y)));
  assert.ok((await diff.data())[0] < 1e-2);
  tf.dispose([images, y, ya, yb, diff]);
  [model, a, b].forEach(disposeClassifier);
  await assert.rejects(() => loadClassifier(`${tmp}/nothing.safetensors`));
});
