import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { colorAt, colormap, plotlyColorscale } from "./colormap.ts";
import { heatmapOverlay, maskOverlay, resizeMap } from "./heatmap.ts";

await initBackend({ backend: "cpu" });

function pixel(img: { data: Uint8Array; width: number }, x: number, y: number): number[] {
  const p = (y * img.width + x) * 3;
  return Array.from(img.data.subarray(p, p + 3));
}

Deno.test("colour maps have 256 RGB entries running between their end colours", () => {
  for (const name of ["viridis", "jet", "gray"] as const) {
    assert.equal(colormap(name).length, 256 * 3);
  }
  assert.deepEqual(colorAt("viridis", 0), [68, 1, 84]);
  assert.deepEqual(colorAt("viridis", 1), [253, 231, 37]);
  const [r, g, b] = colorAt("jet", 0.5);
  assert.ok(g === 255 && Math.abs(r - 128) <= 2 && Math.abs(b - 128) <= 2, `jet(0.5) = ${[r, g, b]}`);
  assert.deepEqual(colorAt("gray", 2), [255, 255, 255], "clamped above");
  assert.deepEqual(colorAt("gray", Number.NaN), [0, 0, 0]);
  // viridis brightens monotonically (green channel).
  const v = colormap("viridis");
  for (let i = 1; i < 256; i++) assert.ok(v[i * 3 + 1] >= v[(i - 1) * 3 + 1]);
  assert.deepEqual(plotlyColorscale("gray"), [[0, "rgb(0,0,0)"], [1, "rgb(255,255,255)"]]);
  assert.throws(() => colormap("rainbow" as "jet"), /Unknown colour map "rainbow"/);
});

Deno.test("resizeMap upsamples bilinearly with half-pixel centres and clamps", () => {
  const before = tf.memory().numTensors;
  const map = tf.tensor2d([[0, 1]]); // [1, 2]
  const row = Array.from(resizeMap(map, 1, 4));
  assert.deepEqual(row, [0, 0.25, 0.75, 1]);
  const loud = tf.tensor3d([[[-1], [3]]]); // [1, 2, 1]
  assert.deepEqual(Array.from(resizeMap(loud, 1, 2)), [0, 1]);
  const rgb = tf.zeros([2, 2, 3]);
  assert.throws(() => resizeMap(rgb, 4, 4), /Expected a map \[h,w\] or \[h,w,1\], got \[2,2,3\]/);
  tf.dispose([map, loud, rgb]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("heatmapOverlay output is bytes in range, alpha and threshold behave", () => {
  const before = tf.memory().numTensors;
  const image = tf.fill([8, 8, 3], -1); // black in [-1, 1]
  const map = tf.tensor2d([[0, 2], [-1, 0.5]]); // out-of-range values are clamped
  const full = heatmapOverlay(image, map, { alpha: 1, colormap: "gray" });
  assert.deepEqual([full.height, full.width, full.channels], [8, 8, 3]);
  assert.ok(full.data.every((v) => v >= 0 && v <= 255));
  assert.deepEqual(pixel(full, 7, 0), [255, 255, 255], "value 2 clamps to the top colour");
  assert.deepEqual(pixel(full, 0, 7), [0, 0, 0], "value -1 clamps to the bottom colour");
  const half = heatmapOverlay(image, map, { alpha: 0.5, colormap: "gray" });
  assert.deepEqual(pixel(half, 7, 0), [128, 128, 128]);
  const thresholded = heatmapOverlay(image, map, { alpha: 1, colormap: "jet", threshold: 0.6 });
  assert.deepEqual(pixel(thresholded, 0, 7), [0, 0, 0], "below threshold keeps the image");
  assert.deepEqual(pixel(thresholded, 7, 0), [128, 0, 0], "above threshold is coloured");
  const blank = { data: new Uint8Array(12), height: 2, width: 2, channels: 3 };
  assert.throws(() => heatmapOverlay(blank, map, { alpha: 2 }), /alpha must be in \[0,1\], got 2/);
  tf.dispose([image, map]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("maskOverlay tints inside the mask and outlines its boundary", () => {
  const before = tf.memory().numTensors;
  const image = { data: new Uint8Array(8 * 8 * 3).fill(100), height: 8, width: 8, channels: 3 };
  const mask = tf.tensor2d([[0, 0], [0, 1]]); // bottom-right quarter, upsampled to 8x8
  const out = maskOverlay(image, mask, { color: [0, 200, 0], alpha: 0.5 });
  assert.deepEqual(pixel(out, 0, 0), [100, 100, 100], "outside untouched");
  assert.deepEqual(pixel(out, 6, 6), [50, 150, 50], "inside tinted");
  assert.deepEqual(pixel(out, 4, 6), [0, 200, 0], "left boundary outlined");
  const flat = maskOverlay(image, mask, { color: [0, 200, 0], alpha: 0.5, outline: false });
  assert.deepEqual(pixel(flat, 4, 6), [50, 150, 50]);
  mask.dispose();
  assert.equal(tf.memory().numTensors, before);
});
