import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { assertClose, assertNoLeak } from "../tensor/test_util.ts";
import { resizeBilinear } from "../tensor/upsample.ts";
import { camMaskAgreement, camMaskIoU, camMasks, normalizeCams, resizeCams } from "./masks.ts";

await initBackend({ backend: "cpu" });

/** A mask written as a string of 0s and 1s. */
const bits = (s: string) => [...s].map(Number);

Deno.test("normalizeCams: per-image min-max to [0, 1]; a constant map gives zeros", async () => {
  await assertNoLeak(() => {
    const cams = tf.tensor3d([1, 3, 5, 2, /* constant */ 4, 4, 4, 4, /* negative */ -2, -1, 0, 2], [3, 2, 2]);
    const unit = normalizeCams(cams);
    assert.deepEqual(unit.shape, [3, 2, 2]);
    assertClose(unit.dataSync(), [0, 0.5, 1, 0.25, 0, 0, 0, 0, 0, 0.25, 0.5, 1], 1e-7);
    tf.dispose([cams, unit]);
  });
});

Deno.test("resizeCams: bilinear (align_corners=False) of each map, as resizeBilinear on [N, h, w, 1]", async () => {
  await assertNoLeak(() => {
    const cams = tf.tensor3d([0, 1, 2, 3, 4, 5, 6, 7], [2, 2, 2]);
    const up = resizeCams(cams, [3, 5]);
    assert.deepEqual(up.shape, [2, 3, 5]);
    const maps = tf.reshape(cams, [2, 2, 2, 1]);
    const expected = resizeBilinear(maps, [3, 5]);
    assertClose(up.dataSync(), expected.dataSync(), 0);
    const square = resizeCams(cams, 4);
    assert.deepEqual(square.shape, [2, 4, 4]);
    tf.dispose([cams, up, maps, expected, square]);
  });
});

Deno.test("camMasks: threshold (default 0.5) on the normalised CAM, after an optional resize", async () => {
  await assertNoLeak(() => {
    const cams = tf.tensor3d([0, 10, 20, 30, 40, /* constant */ 7, 7, 7, 7, 7], [2, 1, 5]);
    const half = camMasks(cams); // normalised 0, .25, .5, .75, 1: strictly above .5
    assert.deepEqual([...half.dataSync()], [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    const low = camMasks(cams, { threshold: 0.2 });
    assert.deepEqual([...low.dataSync()], [0, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    const sized = camMasks(cams, { size: [2, 10] });
    assert.deepEqual(sized.shape, [2, 2, 10]);
    // Columns sample 0, .0625, .1875, …, .9375, 1 of the normalised row; both rows alike.
    assert.deepEqual([...sized.dataSync()].slice(0, 20), bits("0000011111" + "0000011111"));
    tf.dispose([cams, half, low, sized]);
  });
});

Deno.test("camMasks: topFraction keeps the highest pixels of each image (ties too); none of a constant map", async () => {
  await assertNoLeak(() => {
    const values = [
      3,
      1,
      4,
      1,
      5,
      9,
      2,
      6,
      /* ties */ 1,
      2,
      2,
      2,
      0,
      0,
      0,
      0,
      /* constant */ 3,
      3,
      3,
      3,
      3,
      3,
      3,
      3,
    ];
    const cams = tf.tensor3d(values, [3, 2, 4]);
    const quarter = camMasks(cams, { topFraction: 0.25 }); // 2 of 8 pixels; the 2nd highest of image 1 is a tie
    assert.deepEqual([...quarter.dataSync()], bits("00000101" + "01110000" + "00000000"));
    const all = camMasks(cams, { topFraction: 1 });
    assert.deepEqual([...all.dataSync()], bits("11111111" + "11111111" + "00000000"));
    const tiny = camMasks(cams, { topFraction: 0.01 }); // at least one pixel
    assert.deepEqual([...tiny.dataSync()], bits("00000100" + "01110000" + "00000000"));
    tf.dispose([cams, quarter, all, tiny]);
  });
});

Deno.test("camMasks and camMaskIoU: clear errors", async () => {
  await assertNoLeak(() => {
    const cams = tf.zeros([2, 4, 4]);
    const flat = tf.zeros([2, 16]);
    assert.throws(() => camMasks(flat), /cams: Expected \[N,H,W\], got \[2,16\]/);
    assert.throws(() => normalizeCams(flat), /cams: Expected \[N,H,W\], got \[2,16\]/);
    assert.throws(() => camMasks(cams, { threshold: 0.5, topFraction: 0.1 }), /not both/);
    assert.throws(() => camMasks(cams, { topFraction: 0 }), /topFraction must be in \(0, 1\], got 0/);
    assert.throws(() => camMasks(cams, { threshold: NaN }), /threshold must be a finite number/);
    const other = tf.zeros([2, 8, 8]);
    assert.throws(
      () => camMaskIoU(cams, other),
      /Expected masks and truth to have the same shape, got \[2,4,4\] and \[2,8,8\]/,
    );
    assert.throws(() => camMaskIoU(flat, flat), /masks: Expected \[N,H,W\], got \[2,16\]/);
    tf.dispose([cams, flat, other]);
  });
});

Deno.test("camMaskIoU: per-image IoU, 0 when both masks are empty", async () => {
  await assertNoLeak(() => {
    const masks = tf.tensor3d([1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0], [3, 2, 2]);
    const truth = tf.tensor3d([1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0], [3, 2, 2]);
    const iou = camMaskIoU(masks, truth);
    assert.deepEqual(iou.shape, [3]);
    assertClose(iou.dataSync(), [0.5, 1, 0], 1e-7);
    tf.dispose([masks, truth, iou]);
  });
});

Deno.test("camMaskAgreement: mean IoU and areas of each mask function, batch by batch, nothing left behind", async () => {
  // Item i is a 4x4 image; its truth is the first r = i % 4 + 1 rows.
  const items = [0, 1, 2, 3, 4];
  const rows = (i: number) => (i % 4) + 1;
  const batches: number[][] = [];
  const images = (batch: number[]) => {
    batches.push(batch);
    return tf.zeros([batch.length, 4, 4, 1]) as tf.Tensor4D;
  };
  // Masks of each image from its item (the images themselves are plain).
  const fromItems =
    (inside: (i: number, y: number, x: number) => boolean) => (x: tf.Tensor4D, ids: number[]) => {
      assert.equal(x.shape[0], ids.length);
      const data = Float32Array.from({ length: ids.length * 16 }, (_, p) => {
        const i = ids[Math.floor(p / 16)], y = Math.floor((p % 16) / 4), xx = p % 4;
        return inside(i, y, xx) ? 1 : 0;
      });
      return tf.tensor3d(data, [ids.length, 4, 4]);
    };
  await assertNoLeak(async () => {
    const result = await camMaskAgreement(items, images, {
      masks: { left: fromItems((_, __, x) => x < 2), top: fromItems((_, y) => y < 2) },
      truth: fromItems((i, y) => y < rows(i)),
      batch: 2,
    });
    assert.deepEqual(batches, [[0, 1], [2, 3], [4]]);
    assert.deepEqual(Object.keys(result), ["left", "top"]);
    const mean = (f: (i: number) => number) => items.reduce((s, i) => s + f(i), 0) / items.length;
    // left: 8 pixels, 2r of them in the truth (4r pixels); top: 8 pixels, 4·min(r, 2) in it.
    assertClose([result.left.iou], [mean((i) => (2 * rows(i)) / (8 + 2 * rows(i)))], 1e-6);
    const top = (r: number) => (4 * Math.min(r, 2)) / (8 + 4 * r - 4 * Math.min(r, 2));
    assertClose([result.top.iou], [mean((i) => top(rows(i)))], 1e-6);
    assertClose([result.left.maskArea, result.top.maskArea], [0.5, 0.5], 1e-7);
    assertClose([result.left.truthArea], [mean((i) => rows(i) / 4)], 1e-7);
    assert.equal(result.top.truthArea, result.left.truthArea);
  });
});

Deno.test("camMaskAgreement: a failing mask function frees the batch; no images is an error", async () => {
  await assertNoLeak(async () => {
    const images = (batch: number[]) => tf.zeros([batch.length, 4, 4, 3]) as tf.Tensor4D;
    const truth = (x: tf.Tensor4D) => tf.zeros([x.shape[0], 4, 4]) as tf.Tensor3D;
    await assert.rejects(
      camMaskAgreement([0, 1], images, {
        masks: {
          bad: () => {
            throw new Error("no CAM");
          },
        },
        truth,
      }),
      /no CAM/,
    );
    await assert.rejects(camMaskAgreement([], images, { masks: {}, truth }), /no images/);
  });
});
