import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { assertClose, assertNoLeak } from "../tensor/test_util.ts";
import { GRAD_CAM, gradCam, gradCamWeights } from "./grad_cam.ts";
import {
  assertMatchesFixture,
  disposeResult,
  fixtureModel,
  fixtureTensor,
  linearModel,
  loadGradcamFixture,
  uniformValues,
  values,
} from "./test_util.ts";

await initBackend({ backend: "cpu" });
const fixture = await loadGradcamFixture();

// D = 3 channels, K = 2 classes.
const FC = [[1, -2], [0.5, 1], [-1, 0.25]];
const BIAS = [0.1, -0.1];

/** min-max normalisation of one map, 0 when constant. */
function minmax(x: number[]): number[] {
  const lo = Math.min(...x);
  const hi = Math.max(...x);
  return x.map((v) => hi > lo ? (v - lo) / (hi - lo) : 0);
}

Deno.test("gradCam on a linear head: weights are the fc column / (h·w), raw = relu(Σ_d w_d A_d)", async () => {
  const model = linearModel(FC, BIAS);
  const [n, h, w, d] = [2, 4, 5, 3];
  const data = uniformValues(n * h * w * d, 7);
  await assertNoLeak(() => {
    const images = tf.tensor4d(data, [n, h, w, d]);
    const result = gradCam(model, images, { target: [1, 0], raw: true });
    assert.deepEqual(result.targets, [1, 0]);
    const weights = [1, 0].flatMap((t) => FC.map((row) => row[t] / (h * w)));
    assertClose(result.weights!.dataSync(), weights, 1e-7, "weights");
    const raw = Array.from({ length: n * h * w }, (_, p) => {
      const img = Math.floor(p / (h * w));
      const sum = FC.reduce((s, _row, c) => s + weights[img * d + c] * data[p * d + c], 0);
      return Math.max(sum, 0);
    });
    assertClose(result.raw!.dataSync(), raw, 1e-6, "raw");
    const cams = [0, 1].flatMap((img) => minmax(raw.slice(img * h * w, (img + 1) * h * w)));
    assertClose(result.cams.dataSync(), cams, 1e-6, "cams");
    tf.dispose(images);
    disposeResult(result);
  });
  model.dispose();
});

Deno.test("gradCamWeights and GRAD_CAM: the spatial mean of the gradient", async () => {
  await assertNoLeak(() => {
    const grads = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    const weights = gradCamWeights(grads);
    assert.deepEqual(weights.shape, [1, 2]);
    assert.deepEqual([...weights.dataSync()], [4, 5]);
    assert.equal(GRAD_CAM.gradients, true);
    tf.dispose([grads, weights]);
  });
});

for (const split of ["last", "mid"] as const) {
  Deno.test(`gradCam equals PyTorch on the fixture network split at "${split}" (1e-4)`, async () => {
    const model = fixtureModel(fixture, split);
    await assertNoLeak(() => {
      const images = fixtureTensor(fixture, "images") as tf.Tensor4D;
      const result = gradCam(model, images, { target: values(fixture, "targets"), raw: true });
      assertClose(result.logits.dataSync(), values(fixture, "logits"), 1e-4, "logits");
      const err = assertMatchesFixture(result, fixture, `gradcam_${split}`);
      console.log(`Grad-CAM ${split}: max |ours - torch| ${err.toExponential(2)}`);
      tf.dispose(images);
      disposeResult(result);
    });
    model.dispose();
  });
}

Deno.test("gradCam defaults to the predicted class; upsample and relu: false equal PyTorch", async () => {
  const model = fixtureModel(fixture, "last");
  await assertNoLeak(() => {
    const images = fixtureTensor(fixture, "images") as tf.Tensor4D;
    const byDefault = gradCam(model, images);
    assert.deepEqual(byDefault.targets, values(fixture, "predicted"));
    assert.equal(byDefault.raw, undefined);
    assertClose(byDefault.cams.dataSync(), values(fixture, "gradcam_last_default.cam"), 1e-4, "default");
    const targets = values(fixture, "targets");
    const sized = gradCam(model, images, { target: targets, upsample: [10, 14] });
    assert.deepEqual(sized.cams.shape, [4, 10, 14]);
    assertClose(sized.cams.dataSync(), values(fixture, "gradcam_last_size.cam"), 1e-4, "upsample [10, 14]");
    const signed = gradCam(model, images, { target: targets, relu: false, raw: true });
    assertClose(signed.raw!.dataSync(), values(fixture, "gradcam_last_norelu.raw"), 1e-4, "relu: false");
    assert.ok(signed.raw!.dataSync().some((v) => v < 0));
    tf.dispose(images);
    [byDefault, sized, signed].forEach(disposeResult);
  });
  model.dispose();
});
