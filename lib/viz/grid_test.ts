import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import type { RawImage } from "../io/raw_image.ts";
import { GLYPH_HEIGHT, textSize } from "./font.ts";
import { gridLayout, imageGrid } from "./grid.ts";

await initBackend({ backend: "cpu" });

/** Number of dark (ink) pixels in a rectangle of an RGB image on a white background. */
function inkIn(img: RawImage, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) if (img.data[(y * img.width + x) * 3] < 128) n++;
  }
  return n;
}

Deno.test("grid size follows images, scale, padding and labels", () => {
  const before = tf.memory().numTensors;
  const batch = tf.fill([6, 32, 32, 3], 1); // white images
  const plain = imageGrid(batch, { cols: 3, scale: 2, padding: 2 });
  // 2 + 3 * (64 + 2) wide, 2 + 2 * (64 + 2) high.
  assert.deepEqual([plain.width, plain.height, plain.channels], [200, 134, 3]);
  const square = imageGrid(batch); // ceil(sqrt(6)) = 3 columns, 2 rows
  assert.deepEqual([square.width, square.height], [2 + 3 * 34, 2 + 2 * 34]);
  const labelled = imageGrid(batch, {
    rowLabels: ["before", "after"],
    colLabels: ["a", "b", "c"],
    padding: 2,
  });
  const labelWidth = textSize("before").width + 2;
  assert.deepEqual([labelled.width, labelled.height], [
    2 + labelWidth + 3 * 34,
    2 + GLYPH_HEIGHT + 2 + 2 * 34,
  ]);
  batch.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("gridLayout resolves rows and columns and rejects bad counts", () => {
  const size = { height: 8, width: 8 };
  assert.deepEqual([gridLayout(5, size, { cols: 2 }).rows, gridLayout(5, size, { rows: 2 }).cols], [3, 3]);
  assert.equal(gridLayout(4, size, { rowLabels: ["x", "y", "z", "w"] }).cols, 1);
  const layout = gridLayout(5, size, { cols: 2, padding: 1, scale: 2 });
  assert.deepEqual(layout.cells[3], { x: 1 + 17, y: 1 + 17 });
  assert.throws(() => gridLayout(7, size, { rows: 2, cols: 3 }), /2 rows x 3 cols cannot hold 7 images/);
  assert.throws(
    () => gridLayout(2, size, { colLabels: ["a", "b", "c"], cols: 2 }),
    /3 column labels for 2 columns/,
  );
  assert.throws(() => gridLayout(2, size, { scale: 1.5 }), /scale must be a positive integer, got 1.5/);
});

Deno.test("labels and captions put ink where expected and nowhere else", () => {
  const before = tf.memory().numTensors;
  const batch = tf.fill([4, 16, 16, 1], 1); // white grey images, range [-1, 1]
  const opts = {
    cols: 2,
    scale: 2,
    padding: 4,
    rowLabels: ["row0", "row1"],
    colLabels: ["col0", "col1"],
    captions: ["c0", "c1", "c2", "c3"],
  };
  const grid = imageGrid(batch, opts);
  const layout = gridLayout(4, { height: 16, width: 16 }, opts);
  const { cellWidth, cellHeight, colLefts, rowTops } = layout;
  // Top-left corner (above the row labels, left of the column labels) stays blank.
  assert.equal(inkIn(grid, 0, 0, colLefts[0], rowTops[0]), 0);
  // Each row label is inked beside its row, each column label above its column.
  for (const top of rowTops) assert.ok(inkIn(grid, 0, top, colLefts[0], top + cellHeight) > 10);
  for (const left of colLefts) assert.ok(inkIn(grid, left, 0, left + cellWidth, rowTops[0]) > 10);
  // Images stay white; each caption is inked just under its image.
  for (const { x, y } of layout.cells) {
    assert.equal(inkIn(grid, x, y, x + cellWidth, y + cellHeight), 0);
    assert.ok(inkIn(grid, x, y + cellHeight, x + cellWidth, y + cellHeight + GLYPH_HEIGHT + 1) > 5);
  }
  // Right of the last column and below the last caption: blank.
  const right = colLefts[1] + cellWidth;
  assert.equal(inkIn(grid, right, 0, grid.width, grid.height), 0);
  batch.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("images are upscaled by nearest neighbour and placed in row-major order", () => {
  const before = tf.memory().numTensors;
  // Two 1x2 images: [red, green] and [blue, black], in [0, 1].
  const batch = tf.tensor4d([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0], [2, 1, 2, 3]);
  const grid = imageGrid(batch, { range: "0,1", scale: 3, padding: 1, cols: 1, background: [9, 9, 9] });
  const at = (x: number, y: number) =>
    Array.from(grid.data.subarray((y * grid.width + x) * 3, (y * grid.width + x) * 3 + 3));
  assert.deepEqual([grid.width, grid.height], [1 + 6 + 1, 1 + 3 + 1 + 3 + 1]);
  assert.deepEqual(at(0, 0), [9, 9, 9]);
  assert.deepEqual(at(1, 1), [255, 0, 0]);
  assert.deepEqual(at(3, 3), [255, 0, 0]);
  assert.deepEqual(at(4, 1), [0, 255, 0]);
  assert.deepEqual(at(1, 5), [0, 0, 255]);
  assert.deepEqual(at(6, 7), [0, 0, 0]);
  batch.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("imageGrid accepts RawImage lists and checks their sizes", () => {
  const a: RawImage = { data: new Uint8Array(4 * 4 * 3), height: 4, width: 4, channels: 3 };
  const b: RawImage = { data: new Uint8Array(4 * 5 * 3), height: 4, width: 5, channels: 3 };
  assert.equal(imageGrid([a, a, a]).width, 2 + 2 * 6);
  assert.throws(() => imageGrid([a, b]), /image 0 is 4x4, image 1 is 4x5/);
  assert.throws(() => imageGrid([]), /no images/);
  const bad = tf.zeros([4, 4, 3]);
  assert.throws(() => imageGrid(bad), /Expected images \[N,H,W,C\].*got \[4,4,3\]/);
  bad.dispose();
});
