/**
 * Procedural outdoor scenes with exact segmentations: LSUN church-outdoor in miniature, for training small
 * GANs and segmenters and for checking dissection results against ground truth.
 *
 * A scene is a seeded {@link SceneLayout} (the grammar of {@link ./scene_layout.ts}: sky, sun and clouds,
 * ground, road or water, houses and churches with roofs, doors and windows, trees) drawn with crisp edges
 * on a {@link SceneCanvas} and coloured with the palette, lighting, textures and bounded noise of
 * {@link ./scene_palette.ts}. Class ids are those of {@link ./scene_classes.ts}. The same seed gives the
 * same scene on every machine, and the same layout at every size (noise and rounding differ).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { renderScene, sceneBatch } from "./scenes.ts";
 * await initBackend({ backend: "cpu" });
 * const scene = renderScene(7); // 64x64: { image: RGB bytes, labels: class ids, layout, size, seed }
 * assert.deepEqual(scene.layout.buildings.map((b) => b.kind), ["house", "church"]);
 * const { images, labels } = sceneBatch([0, 1, 2, 3], { size: 32 }); // images in [-1, 1], class ids
 * assert.deepEqual([images.shape, labels.shape], [[4, 32, 32, 3], [4, 32, 32]]);
 * images.dispose();
 * labels.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { RawImage } from "../io/raw_image.ts";
import { Rng } from "../tensor/rng.ts";
import { defaultMinArea } from "./components.ts";
import { SceneCanvas } from "./scene_canvas.ts";
import { CLASS_ID } from "./scene_classes.ts";
import type {
  BuildingSpec,
  ColorRef,
  Rect,
  RoofSpec,
  SceneLayout,
  TreeSpec,
  WindowSpec,
} from "./scene_layout.ts";
import { sampleLayout } from "./scene_layout.ts";
import { allowedSwatches, lightGain, type Rgb } from "./scene_palette.ts";

/** Options of {@link renderScene}, {@link renderLayout} and {@link sceneBatch}. */
export interface SceneOptions {
  /** Side of the square image in pixels (≥ 16); default 64. */
  size?: number;
}

/** One rendered scene. */
export interface Scene {
  /** RGB bytes, row-major [size, size, 3]. */
  image: Uint8Array;
  /** Class ids (see {@link CLASS_ID}), row-major [size, size]. */
  labels: Uint8Array;
  /** What was drawn, size-independent (windows under 2 px are left out when drawing small images). */
  layout: SceneLayout;
  size: number;
}

/** A pixel rectangle [x0, x1) x [y0, y1). */
interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function checkSize(size: number): number {
  if (!Number.isInteger(size) || size < 16) throw new Error(`size: Expected an integer ≥ 16, got ${size}`);
  return size;
}

/** The base colour `ref` of class `cls`. */
function colorOf(cls: number, ref: ColorRef): Rgb {
  const swatch = allowedSwatches(cls).find((s) => s.name === ref.swatch);
  if (!swatch) throw new Error(`No swatch "${ref.swatch}" for class ${cls}`);
  const { a, b } = swatch;
  const t = ref.t;
  return [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), a[2] + t * (b[2] - a[2])];
}

/** A gradient paint over the whole swatch, from row y0 to row y1. */
function gradient(canvas: SceneCanvas, cls: number, swatchName: string, y0: number, y1: number): number {
  const swatch = allowedSwatches(cls).find((s) => s.name === swatchName);
  if (!swatch) throw new Error(`No swatch "${swatchName}" for class ${cls}`);
  return canvas.addPaint({ cls, a: swatch.a, b: swatch.b, y0, y1 });
}

function solid(canvas: SceneCanvas, cls: number, ref: ColorRef): number {
  const c = colorOf(cls, ref);
  return canvas.addPaint({ cls, a: c, b: c, y0: 0, y1: 0 });
}

function pixelRect(r: Rect, size: number): PixelRect {
  const x0 = Math.round(r.x0 * size);
  const y0 = Math.round(r.y0 * size);
  return {
    x0,
    y0,
    x1: Math.max(x0 + 3, Math.round(r.x1 * size)),
    y1: Math.max(y0 + 3, Math.round(r.y1 * size)),
  };
}

function overlaps(a: PixelRect, b: PixelRect, gap: number): boolean {
  return a.x0 < b.x1 + gap && b.x0 < a.x1 + gap && a.y0 < b.y1 + gap && b.y0 < a.y1 + gap;
}

function drawRoof(canvas: SceneCanvas, wall: PixelRect, roof: RoofSpec): void {
  const size = canvas.size;
  const paint = solid(canvas, CLASS_ID.roof, roof.color);
  const overhang = Math.round(roof.overhang * size);
  if (roof.shape === "flat") {
    const h = Math.max(1, Math.round(roof.height * size));
    canvas.fillRect(wall.x0 - overhang, wall.y0 - h, wall.x1 + overhang, wall.y0, paint);
    return;
  }
  const h = Math.max(2, roof.height * size);
  canvas.fillPolygon([
    [wall.x0 - overhang, wall.y0],
    [wall.x1 + overhang, wall.y0],
    [(wall.x0 + wall.x1) / 2, wall.y0 - h],
  ], paint);
}

/**
 * Draw doors (bottom-aligned, ≥ 2x3 px) or windows (≥ 2x2 px, round ones ≥ 3x3) given in wall fractions,
 * kept 1 px inside the wall and 1 px apart from `taken` and from each other; openings that do not fit are
 * left out.
 */
function drawOpenings(
  canvas: SceneCanvas,
  wall: PixelRect,
  openings: readonly (Rect | WindowSpec)[],
  paint: number,
  taken: PixelRect[],
  isDoor: boolean,
): void {
  const w = wall.x1 - wall.x0;
  const h = wall.y1 - wall.y0;
  const inner = { x0: wall.x0 + 1, x1: wall.x1 - 1, y0: wall.y0 + 1, y1: isDoor ? wall.y1 : wall.y1 - 1 };
  for (const o of openings) {
    const round = "shape" in o && o.shape === "round";
    const minW = round ? 3 : 2;
    const minH = round ? 3 : isDoor ? 3 : 2;
    let x0 = Math.max(inner.x0, Math.round(wall.x0 + o.x0 * w));
    let x1 = Math.min(inner.x1, Math.round(wall.x0 + o.x1 * w));
    let y0 = Math.max(inner.y0, Math.round(wall.y0 + o.y0 * h));
    let y1 = isDoor ? wall.y1 : Math.min(inner.y1, Math.round(wall.y0 + o.y1 * h));
    if (x1 - x0 < minW) {
      [x0, x1] = [Math.round((x0 + x1 - minW) / 2), Math.round((x0 + x1 - minW) / 2) + minW];
    }
    if (y1 - y0 < minH) {
      if (isDoor) y0 = y1 - minH;
      else [y0, y1] = [Math.round((y0 + y1 - minH) / 2), Math.round((y0 + y1 - minH) / 2) + minH];
    }
    const rect = { x0, y0, x1, y1 };
    if (x0 < inner.x0 || x1 > inner.x1 || y0 < inner.y0 || y1 > inner.y1) continue;
    if (taken.some((t) => overlaps(rect, t, 1))) continue;
    taken.push(rect);
    if (round) canvas.fillEllipse((x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2, paint);
    else canvas.fillRect(x0, y0, x1, y1, paint);
  }
}

function drawBuilding(canvas: SceneCanvas, b: BuildingSpec): void {
  const size = canvas.size;
  const wall = pixelRect(b.wall, size);
  canvas.fillRect(wall.x0, wall.y0, wall.x1, wall.y1, solid(canvas, CLASS_ID.wall, b.wallColor));
  drawRoof(canvas, wall, b.roof);
  const doorPaint = solid(canvas, CLASS_ID.door, b.doorColor);
  const windowPaint = solid(canvas, CLASS_ID.window, b.windowColor);
  // Openings the tower would cut into slivers are left out: the tower covers that part of the nave.
  const towerRect = b.tower ? pixelRect(b.tower.wall, size) : null;
  const taken: PixelRect[] = towerRect ? [{ ...towerRect, y0: 0 }] : [];
  drawOpenings(canvas, wall, b.doors, doorPaint, taken, true);
  drawOpenings(canvas, wall, b.windows, windowPaint, taken, false);
  if (b.tower && towerRect) {
    canvas.fillRect(
      towerRect.x0,
      towerRect.y0,
      towerRect.x1,
      towerRect.y1,
      solid(canvas, CLASS_ID.wall, b.wallColor),
    );
    drawRoof(canvas, towerRect, b.tower.roof);
    const towerTaken: PixelRect[] = [];
    if (b.tower.door) drawOpenings(canvas, towerRect, [b.tower.door], doorPaint, towerTaken, true);
    drawOpenings(canvas, towerRect, b.tower.windows, windowPaint, towerTaken, false);
  }
}

function drawTree(canvas: SceneCanvas, tree: TreeSpec): void {
  const s = canvas.size;
  const crown = solid(canvas, CLASS_ID.tree, tree.crownColor);
  const trunk = solid(canvas, CLASS_ID.tree, tree.trunkColor);
  const base = tree.base * s;
  const trunkTop = (tree.base - tree.trunkHeight) * s;
  const crownHeight = (tree.height - tree.trunkHeight) * s;
  const tw = Math.max(1, Math.round(tree.trunkWidth * s));
  const tx = Math.round(tree.x * s - tw / 2);
  // The trunk reaches a little into the crown so the two always touch.
  canvas.fillRect(tx, Math.round(trunkTop - 0.3 * crownHeight), tx + tw, Math.round(base), trunk);
  const cx = tree.x * s;
  const half = (tree.width * s) / 2;
  if (tree.kind === "round") {
    canvas.fillEllipse(cx, trunkTop - crownHeight / 2, half, crownHeight / 2, crown);
    return;
  }
  // A conifer: two stacked triangles.
  const top = trunkTop - crownHeight;
  canvas.fillPolygon([[cx - half, trunkTop], [cx + half, trunkTop], [cx, top + 0.35 * crownHeight]], crown);
  canvas.fillPolygon([
    [cx - 0.75 * half, trunkTop - 0.4 * crownHeight],
    [cx + 0.75 * half, trunkTop - 0.4 * crownHeight],
    [cx, top],
  ], crown);
}

/**
 * Draw `layout` at `opts.size` (default 64) with pixel noise from `rng`: the image and its labels.
 * {@link renderScene} is `renderLayout(sampleLayout(rng), rng)` with `rng = new Rng(seed)`.
 */
export function renderLayout(layout: SceneLayout, rng: Rng, opts: SceneOptions = {}): Scene {
  const size = checkSize(opts.size ?? 64);
  const canvas = new SceneCanvas(size);
  const horizon = Math.min(size - 2, Math.max(2, Math.round(layout.horizon * size)));

  canvas.fillRect(0, 0, size, horizon, gradient(canvas, CLASS_ID.sky, layout.skySwatch, 0, horizon));
  if (layout.sun) {
    const { x, y, r } = layout.sun;
    const paint = solid(canvas, CLASS_ID.sun, layout.sun.color);
    canvas.fillEllipse(x * size, y * size, r * size, r * size, paint, horizon);
  }
  for (const cloud of layout.clouds) {
    const paint = gradient(canvas, CLASS_ID.cloud, cloud.swatch, cloud.top * size, cloud.base * size);
    const clip = Math.min(cloud.base * size, horizon);
    for (const puff of cloud.puffs) {
      canvas.fillEllipse(puff.x * size, puff.y * size, puff.r * size, puff.r * size, paint, clip);
    }
  }
  canvas.fillRect(
    0,
    horizon,
    size,
    size,
    gradient(canvas, CLASS_ID.ground, layout.groundSwatch, horizon, size),
  );
  const fg = layout.foreground;
  if (fg.kind === "water") {
    const top = Math.max(horizon + 1, Math.round(fg.top * size));
    canvas.fillRect(0, top, size, size, gradient(canvas, CLASS_ID.water, fg.swatch, top, size));
  } else if (fg.kind === "road") {
    const topY = fg.topY * size;
    const paint = gradient(canvas, CLASS_ID.road, fg.swatch, topY, size);
    canvas.fillPolygon([
      [fg.bottom[0] * size, size],
      [fg.bottom[1] * size, size],
      [fg.top[1] * size, topY],
      [fg.top[0] * size, topY],
    ], paint);
  }
  // Far to near: what stands lower in the image is in front.
  const objects = [
    ...layout.buildings.map((b) => ({ base: b.wall.y1, draw: () => drawBuilding(canvas, b) })),
    ...layout.trees.map((t) => ({ base: t.base, draw: () => drawTree(canvas, t) })),
  ].sort((p, q) => p.base - q.base);
  for (const o of objects) o.draw();
  // Again when something changed: a sliver next to another sliver may still be small after one pass.
  const minArea = defaultMinArea({ height: size, width: size });
  if (canvas.despeckle(minArea)) canvas.despeckle(minArea);

  const image = canvas.colorize(rng, lightGain(layout.lighting.brightness, layout.lighting.warmth));
  return { image, labels: canvas.labels, layout, size };
}

/**
 * Render the scene of `seed`: its layout (drawn first from `new Rng(seed)`) drawn at `opts.size` pixels.
 *
 * @param seed A non-negative safe integer.
 * @param opts `size` (default 64).
 * @returns RGB bytes, class ids and the layout; no tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderScene } from "./scenes.ts";
 * import { CLASS_ID } from "./scene_classes.ts";
 * const { image, labels, layout } = renderScene(42, { size: 32 });
 * // the top-left corner is sky (or a cloud)
 * assert.ok(labels[0] === CLASS_ID.sky || labels[0] === CLASS_ID.cloud);
 * assert.deepEqual([image.length, layout.sky], [32 * 32 * 3, "overcast"]);
 * ```
 */
export function renderScene(seed: number, opts: SceneOptions = {}): Scene {
  const rng = new Rng(seed);
  return renderLayout(sampleLayout(rng), rng, opts);
}

/** A scene's image as a {@link RawImage} (no copy), for {@link imageGrid} and {@link savePng}. */
export function sceneImage(scene: Scene): RawImage {
  return { data: scene.image, height: scene.size, width: scene.size, channels: 3 };
}

/**
 * Render the scenes of `seeds` as a training batch.
 *
 * @param seeds One seed per image (row `i` is `renderScene(seeds[i])`).
 * @param opts `size` (default 64).
 * @returns `images` float32 [N, size, size, 3] in [-1, 1] and `labels` int32 [N, size, size]; the caller
 *   disposes both.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { sceneBatch } from "./scenes.ts";
 * await initBackend({ backend: "cpu" });
 * const { images, labels } = sceneBatch([10, 11]);
 * assert.deepEqual([images.shape, labels.shape], [[2, 64, 64, 3], [2, 64, 64]]);
 * images.dispose();
 * labels.dispose();
 * ```
 */
export function sceneBatch(
  seeds: readonly number[],
  opts: SceneOptions = {},
): { images: tf.Tensor4D; labels: tf.Tensor3D } {
  const size = checkSize(opts.size ?? 64);
  if (seeds.length === 0) throw new Error("sceneBatch: Expected at least one seed, got []");
  const pixels = size * size;
  const images = new Float32Array(seeds.length * pixels * 3); // [N, H, W, 3]
  const labels = new Int32Array(seeds.length * pixels); // [N, H, W]
  seeds.forEach((seed, i) => {
    const scene = renderScene(seed, { size });
    const offset = i * pixels * 3;
    for (let k = 0; k < pixels * 3; k++) images[offset + k] = scene.image[k] / 127.5 - 1;
    labels.set(scene.labels, i * pixels);
  });
  return {
    images: tf.tensor4d(images, [seeds.length, size, size, 3]),
    labels: tf.tensor3d(labels, [seeds.length, size, size], "int32"),
  };
}
