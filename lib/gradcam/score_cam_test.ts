import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { assertClose, assertNoLeak } from "../tensor/test_util.ts";
import { scoreCam, scoreCamMethod } from "./score_cam.ts";
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

// D = C = 3 channels, K = 2 classes.
const FC = [[1, -2], [0.5, 1], [-1, 0.25]];
const BIAS = [0.1, -0.1];

Deno.test("scoreCam on an identity map and a linear head: softmax of the masked images' logits", async () => {
  const model = linearModel(FC, BIAS);
  const [n, h, w, d] = [2, 5, 4, 3];
  const pixels = h * w;
  const data = uniformValues(n * pixels * d, 5);
  // The map is the image at full size, so each mask is a channel min-max normalised, without resizing.
  const expected: number[] = [];
  const targets = [0, 1];
  targets.forEach((t, img) => {
    const at = (p: number, c: number) => data[(img * pixels + p) * d + c];
    const scores = FC.map((_, m) => {
      const channel = Array.from({ length: pixels }, (_, p) => at(p, m));
      const lo = Math.min(...channel);
      const hi = Math.max(...channel);
      const mask = channel.map((v) => (v - lo) / (hi - lo));
      let logit = BIAS[t];
      for (let c = 0; c < d; c++) {
        let mean = 0;
        for (let p = 0; p < pixels; p++) mean += at(p, c) * mask[p] / pixels;
        logit += FC[c][t] * mean;
      }
      return logit;
    });
    const z = scores.reduce((s, v) => s + Math.exp(v), 0);
    expected.push(...scores.map((v) => Math.exp(v) / z));
  });
  await assertNoLeak(() => {
    const images = tf.tensor4d(data, [n, h, w, d]);
    const result = scoreCam(model, images, { target: targets, raw: true, batchSize: 4 });
    assertClose(result.weights!.dataSync(), expected, 1e-6, "weights");
    tf.dispose(images);
    disposeResult(result);
  });
  model.dispose();
});

for (const split of ["last", "mid"] as const) {
  Deno.test(`scoreCam equals PyTorch on the fixture network split at "${split}" (1e-4)`, async () => {
    const model = fixtureModel(fixture, split);
    await assertNoLeak(() => {
      const images = fixtureTensor(fixture, "images") as tf.Tensor4D;
      const result = scoreCam(model, images, { target: values(fixture, "targets"), raw: true });
      const err = assertMatchesFixture(result, fixture, `scorecam_${split}`);
      console.log(`Score-CAM ${split}: max |ours - torch| ${err.toExponential(2)}`);
      tf.dispose(images);
      disposeResult(result);
    });
    model.dispose();
  });
}

Deno.test("scoreCam: the batch size changes nothing; it must be a positive integer", async () => {
  const model = fixtureModel(fixture, "mid");
  await assertNoLeak(() => {
    const images = fixtureTensor(fixture, "images") as tf.Tensor4D;
    const reference = values(fixture, "scorecam_mid.weights");
    const targets = values(fixture, "targets");
    for (const batchSize of [1, 5, 24, 1000]) {
      const result = scoreCam(model, images, { target: targets, raw: true, batchSize });
      assertClose(result.weights!.dataSync(), reference, 1e-5, `batchSize ${batchSize}`);
      disposeResult(result);
    }
    assert.throws(
      () => scoreCam(model, images, { batchSize: 0 }),
      /Score-CAM: batchSize must be a positive integer, got 0/,
    );
    assert.throws(() => scoreCamMethod({ batchSize: 2.5 }), /got 2.5/);
    tf.dispose(images);
  });
  assert.equal(scoreCamMethod().gradients, false);
  model.dispose();
});
