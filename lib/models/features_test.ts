import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { toRgb } from "./features.ts";

await initBackend({ backend: "cpu" });

Deno.test("toRgb: grey is repeated to three channels, RGB is returned as is, others refuse", async () => {
  await assertNoLeak(() => {
    const grey = tf.tensor4d([0.5, -1], [2, 1, 1, 1]);
    const rgb = toRgb(grey);
    assert.deepEqual(rgb.shape, [2, 1, 1, 3]);
    assert.deepEqual([...rgb.dataSync()], [0.5, 0.5, 0.5, -1, -1, -1]);
    assert.equal(toRgb(rgb), rgb, "RGB is the same tensor");
    const two = tf.zeros([1, 1, 1, 2]) as tf.Tensor4D;
    assert.throws(() => toRgb(two), /Expected 1 or 3 channels, got \[1,1,1,2\]/);
    const flat = tf.zeros([1, 1, 1]);
    assert.throws(() => toRgb(flat as unknown as tf.Tensor4D), /images: Expected \[N,H,W,C\]/);
    tf.dispose([grey, rgb, two, flat]);
  });
});
