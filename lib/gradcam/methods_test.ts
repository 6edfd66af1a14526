import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { sceneBatch } from "../data/scenes.ts";
import { disposeClassifier, forward, loadClassifier } from "../models/classifier.ts";
import { assertClose, assertNoLeak } from "../tensor/test_util.ts";
import { classifierCamModel } from "./cam.ts";
import { GRAD_CAM, gradCam } from "./grad_cam.ts";
import { gradCamPlusPlus } from "./grad_cam_pp.ts";
import { cam, CAM_METHOD_NAMES, type CamMethodName } from "./methods.ts";
import { scoreCam } from "./score_cam.ts";
import { disposeResult, fixtureModel, fixtureTensor, loadGradcamFixture, values } from "./test_util.ts";

await initBackend({ backend: "cpu" });
const fixture = await loadGradcamFixture();
const SCENES_NET = new URL("../../data/models/scenes_net.safetensors", import.meta.url).pathname;

Deno.test("cam: each name runs its method; a CamMethod object runs as is; unknown names throw", async () => {
  const model = fixtureModel(fixture, "mid");
  const direct = { gradcam: gradCam, "gradcam++": gradCamPlusPlus, scorecam: scoreCam };
  await assertNoLeak(() => {
    const images = fixtureTensor(fixture, "images") as tf.Tensor4D;
    const target = values(fixture, "targets");
    for (const name of CAM_METHOD_NAMES) {
      const byName = cam(model, images, { method: name, target, batchSize: 7 });
      const expected = direct[name](model, images, { target });
      assertClose(byName.cams.dataSync(), expected.cams.dataSync(), 0, name);
      [byName, expected].forEach(disposeResult);
    }
    const byObject = cam(model, images, { method: GRAD_CAM, target });
    assertClose(byObject.cams.dataSync(), values(fixture, "gradcam_mid.cam"), 1e-4, "GRAD_CAM");
    disposeResult(byObject);
    assert.throws(
      () => cam(model, images, { method: "cam" as CamMethodName }),
      /cam: method must be one of gradcam, gradcam\+\+, scorecam; got "cam"/,
    );
    tf.dispose(images);
  });
  model.dispose();
});

/** Every method's CAMs of two scenes with the shipped scenes classifier on the current backend. */
async function scenesNetCams(): Promise<Record<CamMethodName, Float32Array>> {
  const net = await loadClassifier(SCENES_NET);
  const model = classifierCamModel(net);
  const out = {} as Record<CamMethodName, Float32Array>;
  await assertNoLeak(() => {
    const { images, labels } = sceneBatch([3, 14]);
    const logits = forward(net, images);
    for (const method of CAM_METHOD_NAMES) {
      const result = cam(model, images, { method, raw: true });
      assert.deepEqual(result.cams.shape, [2, 64, 64]);
      assert.deepEqual(result.raw!.shape, [2, 4, 4]);
      assert.deepEqual(result.weights!.shape, [2, 64]);
      assertClose(result.logits.dataSync(), logits.dataSync(), 1e-5, `${method} logits`);
      out[method] = result.cams.dataSync() as Float32Array;
      assert.ok(out[method].every((v) => v >= 0 && v <= 1), `${method}: CAMs in [0, 1]`);
      // Normalised at 4x4 then upsampled: the peaks fall between output pixels, so close to 1 but not at it.
      for (const image of [out[method].subarray(0, 4096), out[method].subarray(4096)]) {
        assert.ok(Math.max(...image) > 0.9, `${method}: each CAM nearly reaches 1`);
      }
      disposeResult(result);
    }
    tf.dispose([images, labels, logits]);
  });
  disposeClassifier(net);
  return out;
}

Deno.test("scenes_net: Grad-CAM, Grad-CAM++ and Score-CAM on the cpu backend, then the same on wasm", async () => {
  const cpu = await scenesNetCams();
  await initBackend({ backend: "wasm" });
  try {
    assert.equal(tf.getBackend(), "wasm");
    const wasm = await scenesNetCams();
    for (const method of CAM_METHOD_NAMES) {
      const err = assertClose(wasm[method], cpu[method], 1e-5, `${method} wasm vs cpu`);
      console.log(`${method}: max |wasm - cpu| ${err.toExponential(2)}`);
    }
  } finally {
    await initBackend({ backend: "cpu" });
  }
});
