import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { interpolationMatrix, resizeBilinear, upsampleNearest } from "./upsample.ts";
import { assertClose, assertNoLeak, loadUpsampleFixture } from "./test_util.ts";

await initBackend({ backend: "cpu" });

const TOL = 1e-5;

Deno.test("resizeBilinear matches torch interpolate(mode='bilinear') in both conventions (cpu)", async () => {
  const cases = await loadUpsampleFixture();
  assert.ok(cases.length >= 14);
  let worst = 0;
  await assertNoLeak(() => {
    for (const c of cases) {
      const x = tf.tensor4d(c.input, c.inShape);
      const y = resizeBilinear(x, c.size, { alignCorners: c.alignCorners });
      assert.deepEqual(y.shape, [c.inShape[0], ...c.size, c.inShape[3]]);
      const label = `${c.name} alignCorners=${c.alignCorners}`;
      worst = Math.max(worst, assertClose(y.dataSync(), c.output, TOL, label));
      tf.dispose([x, y]);
    }
  });
  console.log(`max |resizeBilinear - torch| over ${cases.length} cases: ${worst.toExponential(2)}`);
});

Deno.test("resizeBilinear's gradient matches torch autograd in both conventions (cpu)", async () => {
  const cases = (await loadUpsampleFixture()).filter((c) => c.grad);
  assert.ok(cases.length >= 6);
  let worst = 0;
  await assertNoLeak(() => {
    for (const c of cases) {
      const x = tf.tensor4d(c.input, c.inShape);
      const dy = tf.tensor4d(c.weight!, [c.inShape[0], ...c.size, c.inShape[3]]);
      // d/dx sum(resize(x) * dy) = the vector-Jacobian product with dy.
      const dx = tf.grad((t: tf.Tensor) => resizeBilinear(t, c.size, { alignCorners: c.alignCorners }))(
        x,
        dy,
      );
      const label = `grad ${c.name} alignCorners=${c.alignCorners}`;
      worst = Math.max(worst, assertClose(dx.dataSync(), c.grad!, TOL, label));
      tf.dispose([x, dy, dx]);
    }
  });
  console.log(`max |grad - torch grad| over ${cases.length} cases: ${worst.toExponential(2)}`);
});

Deno.test("resizeBilinear by hand: 2x2 → 4x4 half-pixel, 2x2 → 3x3 aligned, 4 → 2 down", async () => {
  await assertNoLeak(() => {
    const x = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
    // Half-pixel: output i samples max(0, (i + 0.5) / 2 - 0.5) = 0, .25, .75, 1 (clamped at the far edge).
    // Row 0 = [0, .25, .75, 1]; row 1 = .75 * row 0 + .25 * [2, 2.25, 2.75, 3].
    const half = resizeBilinear(x, [4, 4]);
    assertClose(half.dataSync(), [
      ...[0, 0.25, 0.75, 1],
      ...[0.5, 0.75, 1.25, 1.5],
      ...[1.5, 1.75, 2.25, 2.5],
      ...[2, 2.25, 2.75, 3],
    ], 1e-7);
    // Aligned corners: output i samples i * (2 - 1) / (3 - 1) = 0, .5, 1.
    const aligned = resizeBilinear(x, 3, { alignCorners: true });
    assertClose(aligned.dataSync(), [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3], 1e-7);
    // Downsampling a row [0, 1, 2, 3] to 2: half-pixel samples 0.5 and 2.5; aligned samples 0 and 3.
    const row = tf.tensor4d([0, 1, 2, 3], [1, 1, 4, 1]);
    const down = resizeBilinear(row, [1, 2]);
    assertClose(down.dataSync(), [0.5, 2.5], 1e-7);
    const downAligned = resizeBilinear(row, [1, 2], { alignCorners: true });
    assertClose(downAligned.dataSync(), [0, 3], 1e-7);
    tf.dispose([x, half, aligned, row, down, downAligned]);
  });
});

Deno.test("interpolationMatrix: hand values, rows summing to 1, at most two weights per row", () => {
  assertClose(interpolationMatrix(2, 4), [1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1], 0);
  assertClose(interpolationMatrix(2, 3, { alignCorners: true }), [1, 0, 0.5, 0.5, 0, 1], 0);
  assertClose(interpolationMatrix(5, 1, { alignCorners: true }), [1, 0, 0, 0, 0], 0);
  for (const [n, m] of [[4, 64], [7, 16], [16, 5], [1, 3], [3, 1]]) {
    for (const alignCorners of [false, true]) {
      const a = interpolationMatrix(n, m, { alignCorners });
      for (let i = 0; i < m; i++) {
        const row = a.subarray(i * n, (i + 1) * n);
        assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-6);
        assert.ok(row.filter((v) => v !== 0).length <= 2);
      }
    }
  }
  assert.throws(() => interpolationMatrix(0, 4), { message: "inSize: Expected a positive integer, got 0" });
});

Deno.test("resizeBilinear accepts integer maps and checks its arguments", async () => {
  await assertNoLeak(() => {
    const x = tf.tensor4d([0, 2, 4, 6], [1, 2, 2, 1], "int32");
    const y = resizeBilinear(x, [3, 3], { alignCorners: true });
    assert.equal(y.dtype, "float32");
    assertClose(y.dataSync(), [0, 1, 2, 2, 3, 4, 4, 5, 6], 1e-6);
    const flat = tf.zeros([2, 2]);
    assert.throws(() => resizeBilinear(flat, 4), { message: "x: Expected [N,H,W,C], got [2,2]" });
    assert.throws(() => resizeBilinear(x, [0, 3]), {
      message: "size[0]: Expected a positive integer, got 0",
    });
    tf.dispose([x, y, flat]);
  });
});

Deno.test("upsampleNearest repeats each pixel in factor x factor blocks; its gradient sums the blocks", async () => {
  await assertNoLeak(() => {
    const x = tf.tensor4d([1, 10, 2, 20, 3, 30, 4, 40], [1, 2, 2, 2]); // two channels
    const y = upsampleNearest(x);
    assert.deepEqual(y.shape, [1, 4, 4, 2]);
    const c0 = tf.slice(y, [0, 0, 0, 0], [1, 4, 4, 1]);
    assert.deepEqual([...c0.dataSync()], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    const c1 = tf.slice(y, [0, 0, 0, 1], [1, 4, 4, 1]);
    assert.deepEqual([...c1.dataSync()], [10, 10, 20, 20, 10, 10, 20, 20, 30, 30, 40, 40, 30, 30, 40, 40]);

    const y3 = upsampleNearest(x, { factor: 3 });
    assert.deepEqual(y3.shape, [1, 6, 6, 2]);
    assert.equal(y3.dataSync()[(5 * 6 + 2) * 2 + 1], 30); // row 5 → 1, col 2 → 0: pixel (1, 0), channel 1

    const dy = tf.tensor4d(Array.from({ length: 32 }, (_, i) => i), [1, 4, 4, 2]); // dy[y, x, c] = (4y + x) * 2 + c
    const dx = tf.grad((t: tf.Tensor) => upsampleNearest(t))(x, dy);
    // Block (0, 0), channel 0: dy at (0,0), (0,1), (1,0), (1,1) = 0 + 2 + 8 + 10 = 20; each step right adds 16
    // (4 × 4), each step down adds 64 (4 × 16); channel 1 adds 4 × 1.
    assert.deepEqual([...dx.dataSync()], [20, 24, 36, 40, 84, 88, 100, 104]);
    assert.throws(() => upsampleNearest(x, { factor: 1.5 }), {
      message: "factor: Expected a positive integer, got 1.5",
    });
    tf.dispose([x, y, c0, c1, y3, dy, dx]);
  });
});
