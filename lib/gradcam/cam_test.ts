import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { createClassifier, disposeClassifier, featureMap, forward, head } from "../models/classifier.ts";
import { assertClose, assertNoLeak } from "../tensor/test_util.ts";
import { type CamContext, type CamMethod, type CamModel, classifierCamModel, computeCam } from "./cam.ts";
import { disposeResult, linearModel, uniformValues } from "./test_util.ts";

await initBackend({ backend: "cpu" });

// D = 3 channels, K = 2 classes.
const FC = [[1, -2], [0.5, 1], [-1, 0.25]];
const BIAS = [0.1, -0.1];
const SHAPE: [number, number, number, number] = [2, 4, 4, 3];
const DATA = uniformValues(96, 1);

/** A method with fixed weights that records what the template gave it. */
function recordingMethod(gradients: boolean, weights: number[]) {
  const seen: { grads?: number[] | null; targets?: readonly number[]; onehot?: number[] } = {};
  const method: CamMethod = {
    name: "recording",
    gradients,
    weights: (acts, grads, context: CamContext) => {
      seen.grads = grads && Array.from(grads.dataSync());
      seen.targets = context.targets;
      seen.onehot = Array.from(context.onehot.dataSync());
      return tf.tensor2d(weights, [acts.shape[0], acts.shape[3]]);
    },
  };
  return { method, seen };
}

Deno.test("classifierCamModel: featureMap then head is the classifier's forward pass", async () => {
  const net = createClassifier({
    resolution: 8,
    channels: 3,
    widths: [4, 6],
    outputs: ["a", "b", "c"],
    kind: "multiclass",
  }, { seed: 2 });
  const model = classifierCamModel(net);
  await assertNoLeak(() => {
    const images = tf.tensor4d(uniformValues(2 * 8 * 8 * 3, 9), [2, 8, 8, 3]);
    const map = model.featureMap(images);
    const expectedMap = featureMap(net, images);
    assert.deepEqual(map.shape, [2, 4, 4, 6]);
    assertClose(map.dataSync(), expectedMap.dataSync(), 0, "map");
    const logits = model.head(map);
    const expected = forward(net, images);
    const direct = head(net, map);
    assertClose(logits.dataSync(), expected.dataSync(), 1e-6, "logits");
    assertClose(logits.dataSync(), direct.dataSync(), 0, "head");
    tf.dispose([images, map, expectedMap, logits, expected, direct]);
  });
  disposeClassifier(net);
});

Deno.test("computeCam: the gradient at the map, targets and one-hot reach the method; raw = relu(Σ w·A)", async () => {
  const model = linearModel(FC, BIAS);
  const weights = [1, -1, 0.5, -2, 0, 1];
  const { method, seen } = recordingMethod(true, weights);
  await assertNoLeak(() => {
    const images = tf.tensor4d(DATA, SHAPE);
    const result = computeCam(model, images, { method, target: [1, 0], raw: true });
    // ∂ logit_t / ∂A[n, i, j, d] = fc[d][t] / (h·w) at every pixel.
    const grads = [1, 0].flatMap((t) =>
      Array.from({ length: 16 }, () => FC.map((row) => row[t] / 16)).flat()
    );
    assertClose(seen.grads!, grads, 1e-7, "grads");
    assert.deepEqual(seen.targets, [1, 0]);
    assert.deepEqual(seen.onehot, [0, 1, 1, 0]);
    assert.deepEqual(result.targets, [1, 0]);
    const raw = Array.from({ length: 32 }, (_, p) => {
      const img = Math.floor(p / 16);
      return Math.max(0, [0, 1, 2].reduce((s, c) => s + weights[img * 3 + c] * DATA[p * 3 + c], 0));
    });
    assertClose(result.raw!.dataSync(), raw, 1e-6, "raw");
    assertClose(result.weights!.dataSync(), weights, 0, "weights");
    const cams = result.cams.dataSync();
    assert.deepEqual(result.cams.shape, [2, 4, 4]);
    assert.ok(cams.every((v) => v >= 0 && v <= 1));
    assert.equal(Math.max(...cams.slice(0, 16)), 1);
    assert.equal(Math.min(...cams.slice(0, 16)), 0);
    tf.dispose(images);
    disposeResult(result);
  });
  model.dispose();
});

Deno.test("computeCam: targets default to the argmax; one index for all; no gradient when not asked", async () => {
  const model = linearModel(FC, BIAS);
  const { method, seen } = recordingMethod(false, [1, 1, 1, 1, 1, 1]);
  await assertNoLeak(() => {
    const images = tf.tensor4d(DATA, SHAPE);
    const result = computeCam(model, images, { method });
    const logits = result.logits.arraySync();
    assert.deepEqual(result.targets, logits.map((row) => row.indexOf(Math.max(...row))));
    assert.equal(seen.grads, null);
    assert.equal(result.raw, undefined);
    assert.equal(result.weights, undefined);
    const one = computeCam(model, images, { method, target: 1 });
    assert.deepEqual(one.targets, [1, 1]);
    tf.dispose(images);
    [result, one].forEach(disposeResult);
  });
  model.dispose();
});

Deno.test("computeCam: relu: false keeps the negative evidence; upsample sets the size", async () => {
  const model = linearModel(FC, BIAS);
  const { method } = recordingMethod(true, [1, -1, 0.5, -2, 0, 1]);
  await assertNoLeak(() => {
    const images = tf.tensor4d(DATA, SHAPE);
    const signed = computeCam(model, images, { method, relu: false, raw: true, upsample: [7, 9] });
    assert.ok(signed.raw!.dataSync().some((v) => v < 0));
    assert.deepEqual(signed.raw!.shape, [2, 4, 4]);
    assert.deepEqual(signed.cams.shape, [2, 7, 9]);
    assert.ok(signed.cams.dataSync().every((v) => v >= 0 && v <= 1));
    tf.dispose(images);
    disposeResult(signed);
  });
  model.dispose();
});

Deno.test("computeCam: the gradient is taken at the map, so a frozen (detached) feature extractor works", async () => {
  const model = linearModel(FC, BIAS);
  // The map leaves the tape: no gradient could reach the images or any weight before it.
  const frozen: CamModel = { ...model, featureMap: (x) => tf.tensor4d(x.dataSync(), x.shape) };
  const { method, seen } = recordingMethod(true, [1, 1, 1, 1, 1, 1]);
  await assertNoLeak(() => {
    const images = tf.tensor4d(DATA, SHAPE);
    disposeResult(computeCam(model, images, { method, target: 0 }));
    const attached = seen.grads!;
    disposeResult(computeCam(frozen, images, { method, target: 0 }));
    assertClose(seen.grads!, attached, 0, "grads");
    tf.dispose(images);
  });
  model.dispose();
});

Deno.test("computeCam: a featureMap returning its input does not free the caller's images", () => {
  const identity: CamModel = {
    featureMap: (images) => images,
    head: (map) => tf.tidy(() => tf.mean(map, [1, 2])) as tf.Tensor2D,
  };
  const { method } = recordingMethod(true, [1, 1, 1, 1, 1, 1]);
  const images = tf.tensor4d(DATA, SHAPE);
  const result = computeCam(identity, images, { method });
  assert.equal(images.isDisposed, false);
  tf.dispose(images);
  disposeResult(result);
});

Deno.test("computeCam: clear errors for bad shapes and options, and no leak when it throws", async () => {
  const model = linearModel(FC, BIAS);
  const { method } = recordingMethod(true, [1, 1, 1, 1, 1, 1]);
  await assertNoLeak(() => {
    const images = tf.tensor4d(DATA, SHAPE);
    const flat = tf.tensor3d(DATA.slice(0, 48), [3, 4, 4]);
    const cases: [() => unknown, RegExp][] = [
      [
        () => computeCam(model, flat as unknown as tf.Tensor4D, { method }),
        /images: Expected \[N,H,W,C\], got \[3,4,4\]/,
      ],
      [
        () => computeCam(model, images, { method, target: 2 }),
        /target: Expected class indices in \[0, 2\), got 2/,
      ],
      [() => computeCam(model, images, { method, target: 0.5 }), /got 0.5/],
      [
        () => computeCam(model, images, { method, target: [0] }),
        /target: Expected one class per image \(2\), got 1/,
      ],
      [
        () => computeCam(model, images, { method, upsample: [0, 4] }),
        /upsample: Expected \[H, W\] of positive integers/,
      ],
      [
        () => computeCam({ ...model, featureMap: (x) => tf.slice(x, 0, 1) }, images, { method }),
        /recording: featureMap output: Expected \[2,H,W,C\], got \[1,4,4,3\]/,
      ],
      [
        () => computeCam({ ...model, head: (m) => tf.mean(m, [1, 2, 3]) as tf.Tensor2D }, images, { method }),
        /recording: head output: Expected \[2,K\], got \[2\]/,
      ],
      [
        () =>
          computeCam(model, images, {
            method: { ...method, weights: () => tf.zeros([2, 2]) as tf.Tensor2D },
          }),
        /recording weights: Expected \[2,3\], got \[2,2\]/,
      ],
    ];
    for (const [fn, message] of cases) assert.throws(fn, message);
    tf.dispose([images, flat]);
  });
  model.dispose();
});
