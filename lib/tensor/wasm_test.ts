// The backend-sensitive parts of lib/tensor, rerun on the wasm backend: bilinear resizing (forward and
// gradient) against PyTorch, nearest upsampling, quantiles against numpy, mask counts, and latents
// bit-identical to the cpu backend's.
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { channelIoU } from "./mask.ts";
import { quantiles } from "./quantile.ts";
import { latents } from "./rng.ts";
import { resizeBilinear, upsampleNearest } from "./upsample.ts";
import {
  assertClose,
  assertNoLeak,
  loadUpsampleFixture,
  NUMPY_QUANTILES,
  QUANTILE_LEVELS,
  quantileInput,
} from "./test_util.ts";

await initBackend({ backend: "wasm" });

Deno.test("wasm: resizeBilinear and its gradient match torch in both conventions", async () => {
  assert.equal(tf.getBackend(), "wasm");
  const cases = await loadUpsampleFixture();
  let worst = 0;
  let worstGrad = 0;
  await assertNoLeak(() => {
    for (const c of cases) {
      const label = `${c.name} alignCorners=${c.alignCorners}`;
      const x = tf.tensor4d(c.input, c.inShape);
      const y = resizeBilinear(x, c.size, { alignCorners: c.alignCorners });
      worst = Math.max(worst, assertClose(y.dataSync(), c.output, 1e-5, label));
      if (c.grad) {
        const dy = tf.tensor4d(c.weight!, [c.inShape[0], ...c.size, c.inShape[3]]);
        const dx = tf.grad((t: tf.Tensor) => resizeBilinear(t, c.size, { alignCorners: c.alignCorners }))(
          x,
          dy,
        );
        worstGrad = Math.max(worstGrad, assertClose(dx.dataSync(), c.grad, 1e-5, `grad ${label}`));
        tf.dispose([dy, dx]);
      }
      tf.dispose([x, y]);
    }
  });
  console.log(
    `wasm: max |resize - torch| ${worst.toExponential(2)}, max |grad - torch| ${worstGrad.toExponential(2)}`,
  );
});

Deno.test("wasm: upsampleNearest repeats pixels and sums gradient blocks", async () => {
  await assertNoLeak(() => {
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const y = upsampleNearest(x);
    assert.deepEqual([...y.dataSync()], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    const dy = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]);
    const dx = tf.grad((t: tf.Tensor) => upsampleNearest(t))(x, dy);
    assert.deepEqual([...dx.dataSync()], [0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15]);
    tf.dispose([x, y, dy, dx]);
  });
});

Deno.test("wasm: quantiles match numpy and masks count exactly", async () => {
  await assertNoLeak(() => {
    const x = quantileInput();
    const qs = quantiles(x, QUANTILE_LEVELS);
    assertClose(qs.dataSync(), NUMPY_QUANTILES.flat(), 1e-6, "wasm quantiles vs numpy");
    const units = tf.tidy(() => tf.cast(tf.greater(x, 0), "float32")); // [2, 3, 4, 5]
    const iou = channelIoU(units, units);
    const diag = [0, 1, 2, 3, 4].map((i) => iou.dataSync()[i * 5 + i]);
    assert.deepEqual(diag, [1, 1, 1, 1, 1]);
    tf.dispose([x, qs, units, iou]);
  });
});

Deno.test("latents are bit-identical on the cpu and wasm backends", async () => {
  const seeds = [0, 1, 2, 3, 7, 2 ** 40];
  const onWasm = latents(seeds, 512);
  const wasmBits = new Uint32Array((await onWasm.data() as Float32Array).buffer.slice(0));
  onWasm.dispose();
  await initBackend({ backend: "cpu" });
  try {
    const onCpu = latents(seeds, 512);
    const cpuBits = new Uint32Array((await onCpu.data() as Float32Array).buffer.slice(0));
    onCpu.dispose();
    assert.deepEqual(wasmBits, cpuBits);
  } finally {
    await initBackend({ backend: "wasm" });
  }
});
