import { strict as assert } from "node:assert";
import { ClassColors, colorDistance, estimateGain } from "./scene_color.ts";
import { CLASS_ID } from "./scene_classes.ts";
import { lightGain, ROOF_SWATCHES, SKY_SWATCHES } from "./scene_palette.ts";
import { renderScene, sceneImage } from "./scenes.ts";

Deno.test("ClassColors: zero on a swatch, exact off it", () => {
  const colors = new ClassColors([1, 1, 1]);
  const { a, b } = SKY_SWATCHES.day[0];
  const mid = [0, 1, 2].map((c) => (a[c] + b[c]) / 2);
  assert.ok(colors.distance(CLASS_ID.sky, mid[0], mid[1], mid[2]) < 1e-9);
  // Sky has no texture, so the allowed set near `a` is a single segment: 10 units off it perpendicular.
  const dir = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
  const perp = [dir[1], -dir[0], 0];
  const len = Math.hypot(...perp);
  const off = a.map((v, c) => v + (10 * perp[c]) / len);
  assert.ok(Math.abs(colors.distance(CLASS_ID.sky, off[0], off[1], off[2]) - 10) < 1e-6);
  // Roof tiles allow shades 0.86..1.04 of a swatch colour.
  const tile = ROOF_SWATCHES[0].a.map((v) => 0.9 * v);
  assert.ok(colors.distance(CLASS_ID.roof, tile[0], tile[1], tile[2]) < 1e-9);
  assert.ok(colors.distance(CLASS_ID.roof, 0, 255, 0) > 100, "pure green is no roof");
  assert.equal(colors.distance(200, 0, 0, 0), Infinity);
  // The nearest allowed colour of a pure green "roof" is a roof colour at that very distance.
  const near = colors.nearest(CLASS_ID.roof, 0, 255, 0);
  assert.ok(colors.distance(CLASS_ID.roof, ...near) < 1e-6);
  assert.ok(
    Math.abs(Math.hypot(near[0], near[1] - 255, near[2]) - colors.distance(CLASS_ID.roof, 0, 255, 0)) < 1e-6,
  );
});

Deno.test("estimateGain recovers the scene lighting", () => {
  for (let seed = 0; seed < 20; seed++) {
    const scene = renderScene(seed);
    const truth = lightGain(scene.layout.lighting.brightness, scene.layout.lighting.warmth);
    const gain = estimateGain(sceneImage(scene), scene.labels);
    gain.forEach((g, c) =>
      assert.ok(Math.abs(g - truth[c]) < 0.04, `seed ${seed}: gain ${gain} vs ${truth}`)
    );
  }
});

Deno.test("clean scenes stay within the noise; wrong colours do not", () => {
  let max = 0;
  for (let seed = 0; seed < 30; seed++) {
    const scene = renderScene(seed);
    const { distance } = colorDistance(sceneImage(scene), scene.labels);
    const sorted = Float32Array.from(distance).sort();
    max = Math.max(max, sorted[Math.floor(0.999 * (sorted.length - 1))]);
  }
  assert.ok(max < 12, `99.9th percentile of clean distances ${max}`);
  // Paint a green square into the sky of a scene: its colour no longer fits its label.
  const scene = renderScene(1);
  const image = scene.image.slice();
  for (let y = 2; y < 6; y++) for (let x = 2; x < 6; x++) image.set([40, 200, 40], (y * 64 + x) * 3);
  const { distance } = colorDistance({ ...sceneImage(scene), data: image }, scene.labels);
  assert.equal(scene.labels[3 * 64 + 3], CLASS_ID.sky);
  assert.ok(distance[3 * 64 + 3] > 60);
});

Deno.test("colorDistance checks its inputs", () => {
  const scene = renderScene(0, { size: 16 });
  assert.throws(() => colorDistance(sceneImage(scene), new Uint8Array(3)), /Expected 16\*16 labels, got 3/);
  const grey = { data: new Uint8Array(256), height: 16, width: 16, channels: 1 };
  assert.throws(() => colorDistance(grey, scene.labels), /Expected an RGB image, got 1 channels/);
});
