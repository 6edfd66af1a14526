import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import {
  channelIntersectionUnion,
  channelIoU,
  imageIntersectionUnion,
  imageIoU,
  iouFromCounts,
} from "./mask.ts";
import { Rng } from "./rng.ts";
import { assertClose, assertNoLeak } from "./test_util.ts";

await initBackend({ backend: "cpu" });

function randomMask(rng: Rng, shape: number[], p: number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => (rng.uniform() < p ? 1 : 0)), shape);
}

Deno.test("imageIoU by hand, with the empty-union convention (IoU 0)", async () => {
  await assertNoLeak(() => {
    // Image 0: a = {0, 1}, b = {0, 2} → I = 1, U = 3. Image 1: both empty → I = U = 0, IoU 0.
    // Image 2: equal → IoU 1.
    const a = tf.tensor3d([1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1], [3, 2, 2]);
    const b = tf.tensor3d([1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 1], [3, 2, 2]);
    const { intersection, union } = imageIntersectionUnion(a, b);
    assert.deepEqual([...intersection.dataSync()], [1, 0, 3]);
    assert.deepEqual([...union.dataSync()], [3, 0, 3]);
    const iou = imageIoU(a, b);
    assertClose(iou.dataSync(), [1 / 3, 0, 1], 1e-7);
    tf.dispose([a, b, intersection, union, iou]);
  });
});

Deno.test("masks are binary: non-zero counts as 1, for bool, int32 and float inputs", async () => {
  await assertNoLeak(() => {
    const a = tf.tensor4d([0.3, 0, -2, 5], [1, 2, 2, 1]); // → 1, 0, 1, 1
    const b = tf.tensor4d([1, 1, 0, 0], [1, 2, 2, 1], "bool");
    const c = tf.tensor4d([7, 0, 0, 0], [1, 2, 2, 1], "int32");
    const ab = imageIoU(a, b); // I = 1, U = 4
    const ac = imageIoU(a, c); // I = 1, U = 3
    assertClose([...ab.dataSync(), ...ac.dataSync()], [0.25, 1 / 3], 1e-7);
    tf.dispose([a, b, c, ab, ac]);
  });
});

Deno.test("channelIntersectionUnion sums unit × concept counts over the batch, by hand", async () => {
  await assertNoLeak(() => {
    // N = 2 images of 1 × 2 pixels; U = 2 units, K = 1 concept. Pixels in order (n, x):
    // unit 0 = [1, 0, 1, 1], unit 1 = [0, 0, 0, 0], concept = [1, 1, 0, 1].
    const units = tf.tensor4d([1, 0, 0, 0, 1, 0, 1, 0], [2, 1, 2, 2]);
    const concepts = tf.tensor4d([1, 1, 0, 1], [2, 1, 2, 1]);
    const { intersection, union } = channelIntersectionUnion(units, concepts);
    assert.deepEqual(intersection.shape, [2, 1]);
    assert.deepEqual([...intersection.dataSync()], [2, 0]);
    assert.deepEqual([...union.dataSync()], [4, 3]);
    const iou = channelIoU(units, concepts);
    assertClose(iou.dataSync(), [0.5, 0], 1e-7);
    tf.dispose([units, concepts, intersection, union, iou]);
  });
});

Deno.test("channelIoU equals a brute-force count on random masks, and 0 for empty unions", async () => {
  await assertNoLeak(() => {
    const rng = new Rng(3);
    const [n, h, w, u, k] = [3, 5, 4, 6, 4];
    const units = randomMask(rng, [n, h, w, u], 0.3);
    const concepts = randomMask(rng, [n, h, w, k], 0.5);
    // Unit 5 never fires and concept 3 is empty: their pair has an empty union.
    const um = tf.tidy(() => tf.mul(units, tf.tensor1d([1, 1, 1, 1, 1, 0])));
    const cm = tf.tidy(() => tf.mul(concepts, tf.tensor1d([1, 1, 1, 0])));
    const uv = um.dataSync();
    const cv = cm.dataSync();
    const expected: number[] = [];
    for (let i = 0; i < u; i++) {
      for (let j = 0; j < k; j++) {
        let inter = 0;
        let uni = 0;
        for (let p = 0; p < n * h * w; p++) {
          const a = uv[p * u + i] !== 0;
          const b = cv[p * k + j] !== 0;
          inter += a && b ? 1 : 0;
          uni += a || b ? 1 : 0;
        }
        expected.push(uni === 0 ? 0 : inter / uni);
      }
    }
    const iou = channelIoU(um, cm);
    assert.deepEqual(iou.shape, [u, k]);
    assertClose(iou.dataSync(), expected, 1e-6);
    assert.equal(iou.dataSync()[5 * k + 3], 0);
    tf.dispose([units, concepts, um, cm, iou]);
  });
});

Deno.test("mask functions check shapes, and iouFromCounts divides safely", async () => {
  await assertNoLeak(() => {
    const units = tf.zeros([2, 4, 4, 3]);
    const concepts = tf.zeros([2, 8, 8, 5]);
    assert.throws(() => channelIoU(units, concepts), {
      message: "concepts: Expected [2,4,4,C], got [2,8,8,5]",
    });
    assert.throws(() => imageIoU(units, concepts), {
      message: "Expected a and b to have the same shape, got [2,4,4,3] and [2,8,8,5]",
    });
    const flat = tf.zeros([4]);
    assert.throws(() => imageIoU(flat, flat), { message: "a: Expected rank 3 or 4, got [4]" });
    const inter = tf.tensor1d([0, 2, 3]);
    const uni = tf.tensor1d([0, 4, 3]);
    const iou = iouFromCounts(inter, uni);
    assert.deepEqual([...iou.dataSync()], [0, 0.5, 1]);
    // 4097 · 4096 pixels > 2^24: float32 counts would no longer be exact.
    const huge = tf.zeros([1, 4097, 4096, 1]);
    assert.throws(
      () => channelIoU(huge, huge),
      /the batch sums 16781312 pixels, more than float32 counts exactly/,
    );
    tf.dispose([units, concepts, flat, inter, uni, iou, huge]);
  });
});
