import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { assertClose, assertNoLeak } from "../tensor/test_util.ts";
import { GRAD_CAM_PP_EPS, gradCamPlusPlus, gradCamPlusPlusWeights } from "./grad_cam_pp.ts";
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

/** Grad-CAM++'s weights by loops over flat NHWC arrays `[N, h, w, D]` (float64). */
function referenceWeights(acts: number[], grads: number[], [n, h, w, d]: number[]): number[] {
  const out: number[] = [];
  for (let img = 0; img < n; img++) {
    for (let c = 0; c < d; c++) {
      const at = (p: number) => (img * h * w + p) * d + c;
      let actSum = 0;
      for (let p = 0; p < h * w; p++) actSum += acts[at(p)];
      let weight = 0;
      for (let p = 0; p < h * w; p++) {
        const g = grads[at(p)];
        if (g > 0) weight += g * g * g / (2 * g * g + actSum * g ** 3 + GRAD_CAM_PP_EPS);
      }
      out.push(weight);
    }
  }
  return out;
}

Deno.test("gradCamPlusPlusWeights equals the closed form, per pixel, with 0 for g ≤ 0", async () => {
  const shape = [2, 3, 3, 4];
  const acts = uniformValues(72, 3).map(Math.abs);
  const grads = uniformValues(72, 4);
  grads[5] = 0;
  await assertNoLeak(() => {
    const a = tf.tensor4d(acts, shape as [number, number, number, number]);
    const g = tf.tensor4d(grads, shape as [number, number, number, number]);
    const weights = gradCamPlusPlusWeights(a, g);
    assert.deepEqual(weights.shape, [2, 4]);
    assertClose(weights.dataSync(), referenceWeights(acts, grads, shape), 1e-6, "weights");
    tf.dispose([a, g, weights]);
  });
});

Deno.test("gradCamPlusPlus on a linear head: uniform alpha; no positive gradient gives a zero CAM", async () => {
  // D = 3, K = 3; class 2 has a zero fc column: every weight is 0, the CAM constant, hence all zeros.
  const fc = [[4, -8, 0], [2, 4, 0], [-4, 1, 0]];
  const model = linearModel(fc, [0, 0, 0]);
  const [n, h, w, d] = [2, 4, 4, 3];
  const data = uniformValues(n * h * w * d, 11).map((v) => v + 1); // ≥ 0, like post-ReLU maps
  await assertNoLeak(() => {
    const images = tf.tensor4d(data, [n, h, w, d]);
    const result = gradCamPlusPlus(model, images, { target: [0, 1], raw: true });
    const expected = [0, 1].flatMap((t, img) =>
      fc.map((row, c) => {
        const g = row[t] / (h * w);
        let actSum = 0;
        for (let p = 0; p < h * w; p++) actSum += data[(img * h * w + p) * d + c];
        return g > 0 ? h * w * g ** 3 / (2 * g * g + actSum * g ** 3 + GRAD_CAM_PP_EPS) : 0;
      })
    );
    assertClose(result.weights!.dataSync(), expected, 1e-6, "weights");
    const none = gradCamPlusPlus(model, images, { target: 2 });
    assert.ok(none.cams.dataSync().every((v) => v === 0));
    tf.dispose(images);
    [result, none].forEach(disposeResult);
  });
  model.dispose();
});

for (const split of ["last", "mid"] as const) {
  Deno.test(`gradCamPlusPlus equals PyTorch on the fixture network split at "${split}" (1e-4)`, async () => {
    const model = fixtureModel(fixture, split);
    await assertNoLeak(() => {
      const images = fixtureTensor(fixture, "images") as tf.Tensor4D;
      const result = gradCamPlusPlus(model, images, { target: values(fixture, "targets"), raw: true });
      const err = assertMatchesFixture(result, fixture, `gradcampp_${split}`);
      console.log(`Grad-CAM++ ${split}: max |ours - torch| ${err.toExponential(2)}`);
      tf.dispose(images);
      disposeResult(result);
    });
    model.dispose();
  });
}
