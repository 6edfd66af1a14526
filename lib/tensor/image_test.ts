import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import {
  bytesToImage,
  clampImage,
  fromBytes,
  fromUint8,
  imageToBytes,
  signedToUnit,
  toBytes,
  toUint8,
  unitToSigned,
} from "./image.ts";
import { assertClose, assertNoLeak } from "./test_util.ts";

await initBackend({ backend: "cpu" });

Deno.test("signedToUnit and unitToSigned are inverse affine maps; clamp is optional", async () => {
  await assertNoLeak(() => {
    const x = tf.tensor1d([-1.5, -1, 0, 0.5, 1, 2]);
    const u = signedToUnit(x);
    assertClose(u.dataSync(), [-0.25, 0, 0.5, 0.75, 1, 1.5], 0);
    const uc = signedToUnit(x, { clamp: true });
    assertClose(uc.dataSync(), [0, 0, 0.5, 0.75, 1, 1], 0);
    const back = unitToSigned(u);
    assertClose(back.dataSync(), x.dataSync(), 0);
    const sc = unitToSigned(u, { clamp: true });
    assertClose(sc.dataSync(), [-1, -1, 0, 0.5, 1, 1], 0);
    tf.dispose([x, u, uc, back, sc]);
  });
});

Deno.test("clampImage clamps generator outputs to [-1, 1] or [0, 1]", async () => {
  await assertNoLeak(() => {
    const x = tf.tensor1d([-3, -0.5, 0.25, 4]);
    const s = clampImage(x);
    const u = clampImage(x, { range: "0,1" });
    assertClose(s.dataSync(), [-1, -0.5, 0.25, 1], 0);
    assertClose(u.dataSync(), [0, 0, 0.25, 1], 0);
    tf.dispose([x, s, u]);
  });
});

Deno.test("toUint8 clamps, then rounds half up (floor(v * 255 + 0.5))", async () => {
  await assertNoLeak(() => {
    // signed: (x + 1) * 127.5 → -1: 0, -0.5: 63.75 → 64, 0: 127.5 → 128, 0.5: 191.25 → 191, ±overshoot clamped.
    const s = tf.tensor1d([-2, -1, -0.5, 0, 0.5, 1, 1.01]);
    const sb = toUint8(s);
    assert.equal(sb.dtype, "int32");
    assert.deepEqual([...sb.dataSync()], [0, 0, 64, 128, 191, 255, 255]);
    // unit: 0.5 * 255 = 127.5 → 128 (half up, not half to even); 1/510 = 0.5/255 → 1.
    const u = tf.tensor1d([-0.1, 0, 1 / 510, 0.5, 0.998, 1, 7]);
    const ub = toUint8(u, { range: "0,1" });
    assert.deepEqual([...ub.dataSync()], [0, 0, 1, 128, 254, 255, 255]);
    tf.dispose([s, sb, u, ub]);
  });
});

Deno.test("every byte survives byte → float → byte in both ranges", async () => {
  await assertNoLeak(() => {
    const all = tf.range(0, 256, 1, "int32");
    for (const range of ["-1,1", "0,1"] as const) {
      const f = fromUint8(all, { range });
      const back = toUint8(f, { range });
      assert.deepEqual([...back.dataSync()], [...all.dataSync()], range);
      tf.dispose([f, back]);
    }
    const some = tf.tensor1d([0, 255, 51], "int32");
    const s = fromUint8(some);
    assertClose(s.dataSync(), [-1, 1, 51 / 127.5 - 1], 1e-7);
    const u = fromUint8(some, { range: "0,1" });
    assertClose(u.dataSync(), [0, 1, 0.2], 1e-7);
    tf.dispose([all, some, s, u]);
  });
});

Deno.test("Uint8Array buffers keep HWC/NHWC order both ways", async () => {
  await assertNoLeak(async () => {
    const bytes = Uint8Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => (i * 7) % 256);
    const t = fromBytes(bytes, [2, 2, 3, 3]); // [N, H, W, C]
    assert.equal(t.dtype, "int32");
    assert.deepEqual(await toBytes(t), bytes);
    const img = bytesToImage(bytes, [2, 2, 3, 3], { range: "0,1" });
    assert.deepEqual(await imageToBytes(img, { range: "0,1" }), bytes);
    const hwc = tf.tensor3d([-1, 0, 1, 1, 0, -1], [1, 2, 3]); // [H, W, C]
    assert.deepEqual(await imageToBytes(hwc), Uint8Array.from([0, 128, 255, 255, 128, 0]));
    tf.dispose([t, img, hwc]);
  });
});

Deno.test("buffer functions reject wrong sizes, ranks, dtypes and values", async () => {
  await assertNoLeak(async () => {
    assert.throws(() => fromBytes(new Uint8Array(5), [1, 2, 3]), {
      message: "bytes: Expected 6 values for shape [1,2,3], got 5",
    });
    assert.throws(() => fromBytes(new Uint8Array(6), [6]), {
      message: "shape: Expected rank 3 or 4, got [6]",
    });
    const f = tf.zeros([1, 1, 1]);
    await assert.rejects(() => toBytes(f), { message: "x: Expected dtype int32, got float32" });
    const big = tf.tensor3d([0, 256], [1, 2, 1], "int32");
    await assert.rejects(() => toBytes(big), {
      message: "x: Expected uint8 values 0..255, got 256 at flat index 1",
    });
    tf.dispose([f, big]);
  });
});
