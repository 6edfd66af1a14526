import { strict as assert } from "node:assert";
import { Rng } from "../tensor/rng.ts";
import { SceneCanvas } from "./scene_canvas.ts";
import { CLASS_ID } from "./scene_classes.ts";
import { NOISE } from "./scene_palette.ts";

function count(canvas: SceneCanvas, cls: number): number {
  return canvas.labels.filter((l) => l === cls).length;
}

Deno.test("shapes cover the pixels whose centres are inside", () => {
  const canvas = new SceneCanvas(16);
  const sky = canvas.addPaint({ cls: CLASS_ID.sky, a: [100, 150, 200], b: [100, 150, 200], y0: 0, y1: 0 });
  const wall = canvas.addPaint({ cls: CLASS_ID.wall, a: [200, 190, 160], b: [200, 190, 160], y0: 0, y1: 0 });
  const roof = canvas.addPaint({ cls: CLASS_ID.roof, a: [150, 50, 40], b: [150, 50, 40], y0: 0, y1: 0 });
  const sun = canvas.addPaint({ cls: CLASS_ID.sun, a: [255, 250, 220], b: [255, 250, 220], y0: 0, y1: 0 });
  canvas.fillRect(0, 0, 16, 16, sky);
  canvas.fillRect(2, 10, 6, 14, wall); // 4x4
  assert.equal(count(canvas, CLASS_ID.wall), 16);
  canvas.fillRect(-5, -5, 1, 1, wall); // clipped to one pixel
  assert.equal(count(canvas, CLASS_ID.wall), 17);
  // A triangle with base [2, 6] at y = 10 and apex (4, 8): at row 9 (centre 9.5) it spans [2.5, 5.5).
  canvas.fillPolygon([[2, 10], [6, 10], [4, 8]], roof);
  const row9 = [...canvas.labels.subarray(9 * 16 + 2, 9 * 16 + 6)];
  assert.deepEqual(row9, [CLASS_ID.roof, CLASS_ID.roof, CLASS_ID.roof, CLASS_ID.sky]);
  assert.equal(canvas.labels[8 * 16 + 2], CLASS_ID.sky);
  // A disc of radius 2 centred on a pixel corner covers 12 pixel centres.
  canvas.fillEllipse(12, 4, 2, 2, sun);
  assert.equal(count(canvas, CLASS_ID.sun), 12);
  // Clipped below y = 4: only the upper half.
  const clipped = new SceneCanvas(16);
  clipped.addPaint({ cls: CLASS_ID.sky, a: [0, 0, 0], b: [0, 0, 0], y0: 0, y1: 0 });
  const disc = clipped.addPaint({ cls: CLASS_ID.sun, a: [0, 0, 0], b: [0, 0, 0], y0: 0, y1: 0 });
  clipped.fillEllipse(12, 4, 2, 2, disc, 4);
  assert.equal(count(clipped, CLASS_ID.sun), 6);
});

Deno.test("colorize follows gradient, gain and bounded noise", () => {
  const canvas = new SceneCanvas(16);
  const sky = canvas.addPaint({ cls: CLASS_ID.sky, a: [0, 100, 200], b: [160, 180, 240], y0: 0, y1: 16 });
  canvas.fillRect(0, 0, 16, 16, sky);
  const gain: [number, number, number] = [1.1, 1, 0.9];
  const rgb = canvas.colorize(new Rng(3), gain);
  const bound = NOISE.luminance + NOISE.chroma + 0.5;
  for (let y = 0; y < 16; y++) {
    const t = (y + 0.5) / 16;
    for (let x = 0; x < 16; x++) {
      const o = (y * 16 + x) * 3;
      const expected = [0, 1, 2].map((c) =>
        gain[c] * ([0, 100, 200][c] + t * ([160, 180, 240][c] - [0, 100, 200][c]))
      );
      expected.forEach((e, c) => assert.ok(Math.abs(rgb[o + c] - Math.min(255, Math.max(0, e))) <= bound));
    }
  }
  assert.deepEqual(canvas.colorize(new Rng(3), gain), rgb, "same rng seed, same pixels");
});

Deno.test("despeckle repaints regions under minArea with their surroundings", () => {
  const canvas = new SceneCanvas(8);
  const grass = canvas.addPaint({ cls: CLASS_ID.ground, a: [90, 140, 60], b: [90, 140, 60], y0: 0, y1: 0 });
  const wall = canvas.addPaint({ cls: CLASS_ID.wall, a: [200, 190, 160], b: [200, 190, 160], y0: 0, y1: 0 });
  canvas.fillRect(0, 0, 8, 8, grass);
  canvas.fillRect(1, 1, 2, 2, wall); // one pixel
  canvas.fillRect(4, 4, 6, 6, wall); // four pixels
  assert.equal(canvas.despeckle(4), true);
  assert.equal(canvas.labels[1 * 8 + 1], CLASS_ID.ground);
  assert.equal(canvas.paintIds[1 * 8 + 1], grass);
  assert.equal(count(canvas, CLASS_ID.wall), 4);
  assert.equal(canvas.despeckle(4), false);
});

Deno.test("SceneCanvas checks its size", () => {
  assert.throws(() => new SceneCanvas(4), /Expected a size ≥ 8, got 4/);
});
