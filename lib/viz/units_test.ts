import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { unitGrid } from "./units.ts";

await initBackend({ backend: "cpu" });

Deno.test("unitGrid: one cell per image and unit, coloured where the unit is active", () => {
  const before = tf.memory().numTensors;
  const images = tf.fill([2, 8, 8, 3], -1); // black
  // unit 1 is active only in the top-left quarter of image 0
  const acts = tf.tidy(() => {
    const a = tf.buffer([2, 2, 2, 3]);
    a.set(5, 0, 0, 0, 1);
    return a.toTensor();
  });
  const grid = unitGrid(images, acts, [1, 2], { scale: 1, threshold: 0.5 });
  assert.equal(tf.memory().numTensors, before + 2);
  tf.dispose([images, acts]);
  assert.ok(grid.width > 2 * 8 && grid.height > 2 * 8);
  // The grid has colour (from unit 1 on image 0) and plain black cells.
  let coloured = 0;
  for (let p = 0; p < grid.width * grid.height; p++) {
    const [r, g, b] = grid.data.subarray(p * 3, p * 3 + 3);
    if (r !== g || g !== b) coloured++;
  }
  assert.ok(coloured > 0 && coloured <= 8 * 8, `${coloured} coloured pixels`);
});

Deno.test("unitGrid: clear errors for bad units and mismatched batches", () => {
  const images = tf.zeros([2, 8, 8, 3]);
  const acts = tf.zeros([3, 2, 2, 4]);
  assert.throws(() => unitGrid(images, acts, [0]), /Expected 2 images' activations, got 3/);
  const acts2 = tf.zeros([2, 2, 2, 4]);
  assert.throws(() => unitGrid(images, acts2, [4]), /unit 4 is out of range for 4 units/);
  tf.dispose([images, acts, acts2]);
});
