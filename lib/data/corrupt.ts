/**
 * Synthetic artifacts on rendered scenes, with the exact mask of what changed: the test bench of the
 * defect map ({@link ./defects.ts}).
 *
 * Kinds ({@link CORRUPTION_KINDS}):
 * - `blob`: an ellipse of a wrong colour (far from the colour underneath); labels unchanged;
 * - `misplaced`: an object out of context, drawn with its own class's colours and labels: a door or a
 *   window in the sky, a window on the grass, a cloud or the sun on the ground, a roof on the ground, a
 *   patch of ground in the sky, a tree floating in the sky;
 * - `smear`: a rectangle across a class boundary smeared sideways (an exponential motion blur); labels
 *   unchanged;
 * - `noise`: a rectangle of strong per-channel noise (±60); labels unchanged;
 * - `speckle`: single pixels relabelled to another class and coloured like it.
 *
 * The mask holds the pixels that changed by more than 20 (Euclidean RGB, 0..255 units) or changed label.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../tensor/rng.ts";
 * import { corruptScene } from "./corrupt.ts";
 * import { renderScene } from "./scenes.ts";
 * const bad = corruptScene(renderScene(0), new Rng(9), { kinds: ["misplaced"] });
 * assert.deepEqual(bad.corruptions, [{ kind: "misplaced", detail: "sun on ground", pixels: 24 }]);
 * ```
 * @module
 */
import type { Rng } from "../tensor/rng.ts";
import { CLASS_ID, NUM_SCENE_CLASSES } from "./scene_classes.ts";
import { allowedSwatches, CLASS_STYLE, lightGain, NOISE } from "./scene_palette.ts";
import type { Scene } from "./scenes.ts";

/** The kinds of synthetic artifact. */
export const CORRUPTION_KINDS = ["blob", "misplaced", "smear", "noise", "speckle"] as const;

/** One kind of synthetic artifact (see the module comment). */
export type CorruptionKind = typeof CORRUPTION_KINDS[number];

/** One artifact applied by {@link corruptScene}. */
export interface Corruption {
  kind: CorruptionKind;
  /** What exactly, e.g. "door in sky". */
  detail: string;
  /** Pixels it put into the mask. */
  pixels: number;
}

/** A scene with artifacts: its image and labels are altered copies. */
export interface CorruptedScene extends Scene {
  /** 1 where an artifact changed the pixel (see the module comment), row-major [size * size]. */
  mask: Uint8Array;
  corruptions: Corruption[];
}

/** Options of {@link corruptScene}. */
export interface CorruptOptions {
  /** Kinds to draw from (uniformly); default all of {@link CORRUPTION_KINDS}. */
  kinds?: readonly CorruptionKind[];
  /** Number of artifacts; default 1. */
  count?: number;
}

/** Pixel change (Euclidean RGB) above which a pixel counts as altered. */
const CHANGE = 20;

interface Work {
  size: number;
  image: Uint8Array;
  labels: Uint8Array;
  original: Uint8Array;
  originalLabels: Uint8Array;
  gain: [number, number, number];
  rng: Rng;
  /** Scale of artifact sizes: 1 at 64x64. */
  s: number;
}

function between(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.uniform();
}

/** A colour class `cls` may take in this scene (any of its swatches), with the data set's noise. */
function classColor(w: Work, cls: number): [number, number, number] {
  const swatches = allowedSwatches(cls);
  const { a, b } = swatches[w.rng.int(swatches.length)];
  const t = w.rng.uniform();
  const [lo, hi] = CLASS_STYLE[cls].shade;
  const shade = between(w.rng, lo, hi);
  return [0, 1, 2].map((c) => w.gain[c] * shade * (a[c] + t * (b[c] - a[c]))) as [number, number, number];
}

function setPixel(w: Work, i: number, rgb: readonly number[], label?: number): void {
  const noise = between(w.rng, -NOISE.luminance, NOISE.luminance);
  for (let c = 0; c < 3; c++) w.image[i * 3 + c] = Math.max(0, Math.min(255, Math.round(rgb[c] + noise)));
  if (label !== undefined) w.labels[i] = label;
}

/** Pixel indices inside an ellipse (pixel centres), clipped to the image. */
function ellipsePixels(size: number, cx: number, cy: number, rx: number, ry: number): number[] {
  const out: number[] = [];
  for (let y = Math.max(0, Math.floor(cy - ry)); y <= Math.min(size - 1, Math.ceil(cy + ry)); y++) {
    for (let x = Math.max(0, Math.floor(cx - rx)); x <= Math.min(size - 1, Math.ceil(cx + rx)); x++) {
      const dx = (x + 0.5 - cx) / rx;
      const dy = (y + 0.5 - cy) / ry;
      if (dx * dx + dy * dy < 1) out.push(y * size + x);
    }
  }
  return out;
}

function rectPixels(size: number, x0: number, y0: number, x1: number, y1: number): number[] {
  const out: number[] = [];
  for (let y = Math.max(0, y0); y < Math.min(size, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(size, x1); x++) out.push(y * size + x);
  }
  return out;
}

/** Pixel indices inside an upward triangle with base [x0, x1] at row `base` and apex `height` above. */
function trianglePixels(size: number, x0: number, x1: number, base: number, height: number): number[] {
  const out: number[] = [];
  for (let y = Math.max(0, Math.floor(base - height)); y < Math.min(size, Math.ceil(base)); y++) {
    const f = (base - (y + 0.5)) / height; // 0 at the base, 1 at the apex
    if (f < 0 || f > 1) continue;
    const half = ((x1 - x0) / 2) * (1 - f);
    const cx = (x0 + x1) / 2;
    for (
      let x = Math.max(0, Math.ceil(cx - half - 0.5));
      x < Math.min(size, Math.ceil(cx + half - 0.5));
      x++
    ) {
      out.push(y * size + x);
    }
  }
  return out;
}

function blob(w: Work): string {
  const cx = between(w.rng, 0, w.size);
  const cy = between(w.rng, 0, w.size);
  const pixels = ellipsePixels(w.size, cx, cy, between(w.rng, 2, 6) * w.s, between(w.rng, 2, 6) * w.s);
  const centre = (Math.min(w.size - 1, Math.floor(cy)) * w.size + Math.min(w.size - 1, Math.floor(cx))) * 3;
  let rgb: number[] = [];
  for (let tries = 0; tries < 50; tries++) {
    rgb = [w.rng.int(256), w.rng.int(256), w.rng.int(256)];
    const d = Math.hypot(
      rgb[0] - w.original[centre],
      rgb[1] - w.original[centre + 1],
      rgb[2] - w.original[centre + 2],
    );
    if (d > 80) break;
  }
  for (const i of pixels) setPixel(w, i, rgb);
  return `rgb(${rgb.join(",")})`;
}

/** The out-of-context objects of `misplaced`: class, where it goes, and its shape at 64x64. */
const MISPLACED = [
  { detail: "door in sky", cls: CLASS_ID.door, region: CLASS_ID.sky, shape: "rect", w: [3, 5], h: [5, 8] },
  {
    detail: "window in sky",
    cls: CLASS_ID.window,
    region: CLASS_ID.sky,
    shape: "rect",
    w: [3, 5],
    h: [3, 5],
  },
  {
    detail: "window on ground",
    cls: CLASS_ID.window,
    region: CLASS_ID.ground,
    shape: "rect",
    w: [3, 5],
    h: [3, 5],
  },
  {
    detail: "cloud on ground",
    cls: CLASS_ID.cloud,
    region: CLASS_ID.ground,
    shape: "ellipse",
    w: [4, 7],
    h: [2, 3.5],
  },
  {
    detail: "sun on ground",
    cls: CLASS_ID.sun,
    region: CLASS_ID.ground,
    shape: "ellipse",
    w: [2.5, 4],
    h: [0, 0],
  },
  {
    detail: "roof on ground",
    cls: CLASS_ID.roof,
    region: CLASS_ID.ground,
    shape: "triangle",
    w: [8, 13],
    h: [4, 6],
  },
  {
    detail: "ground in sky",
    cls: CLASS_ID.ground,
    region: CLASS_ID.sky,
    shape: "ellipse",
    w: [4, 7],
    h: [2, 4],
  },
  { detail: "tree in sky", cls: CLASS_ID.tree, region: CLASS_ID.sky, shape: "ellipse", w: [3, 5], h: [4, 6] },
] as const;

/** Whether every pixel of `pixels` and their 4-neighbours has label `region` in the original labels. */
function isolatedIn(w: Work, pixels: number[], region: number): boolean {
  const n = w.size;
  return pixels.length > 0 && pixels.every((i) => {
    const x = i % n;
    return [i, x > 0 ? i - 1 : i, x < n - 1 ? i + 1 : i, i >= n ? i - n : i, i < n * (n - 1) ? i + n : i]
      .every((j) => w.originalLabels[j] === region && w.labels[j] === region);
  });
}

function misplaced(w: Work): string {
  const spec = MISPLACED[w.rng.int(MISPLACED.length)];
  for (let tries = 0; tries < 40; tries++) {
    const bw = between(w.rng, spec.w[0], spec.w[1]) * w.s;
    const bh = spec.shape === "ellipse" && spec.h[1] === 0 ? bw : between(w.rng, spec.h[0], spec.h[1]) * w.s;
    const cx = between(w.rng, 0, w.size);
    const cy = between(w.rng, 0, w.size);
    const pixels = spec.shape === "rect"
      ? rectPixels(
        w.size,
        Math.round(cx - bw / 2),
        Math.round(cy - bh / 2),
        Math.round(cx + bw / 2),
        Math.round(cy + bh / 2),
      )
      : spec.shape === "ellipse"
      ? ellipsePixels(w.size, cx, cy, bw, bh)
      : trianglePixels(w.size, cx - bw / 2, cx + bw / 2, cy + bh / 2, bh);
    if (!isolatedIn(w, pixels, spec.region)) continue;
    const rgb = classColor(w, spec.cls);
    for (const i of pixels) setPixel(w, i, rgb, spec.cls);
    return spec.detail;
  }
  return `${blob(w)} (no room for ${spec.detail})`;
}

function smear(w: Work): string {
  const n = w.size;
  // Centre it on a class boundary so the smear carries colour across classes.
  const boundary: number[] = [];
  for (let i = 0; i < n * n - 1; i++) if (i % n < n - 1 && w.labels[i] !== w.labels[i + 1]) boundary.push(i);
  const start = boundary.length ? boundary[w.rng.int(boundary.length)] : w.rng.int(n * n);
  const rw = Math.round(between(w.rng, 8, 14) * w.s);
  const rh = Math.round(between(w.rng, 3, 7) * w.s);
  const x0 = Math.max(0, (start % n) - Math.floor(rw / 2));
  const y0 = Math.max(0, Math.floor(start / n) - Math.floor(rh / 2));
  const rightwards = w.rng.uniform() < 0.5;
  for (let y = y0; y < Math.min(n, y0 + rh); y++) {
    const xs = Array.from({ length: Math.min(n, x0 + rw) - x0 }, (_, k) => x0 + k);
    if (!rightwards) xs.reverse();
    const carried = [...w.image.subarray((y * n + xs[0]) * 3, (y * n + xs[0]) * 3 + 3)];
    for (const x of xs) {
      const o = (y * n + x) * 3;
      for (let c = 0; c < 3; c++) {
        carried[c] = 0.8 * carried[c] + 0.2 * w.image[o + c];
        w.image[o + c] = Math.round(carried[c]);
      }
    }
  }
  return `${rw}x${rh} ${rightwards ? "rightwards" : "leftwards"}`;
}

function noisePatch(w: Work): string {
  const rw = Math.round(between(w.rng, 5, 12) * w.s);
  const rh = Math.round(between(w.rng, 5, 12) * w.s);
  const x0 = w.rng.int(Math.max(1, w.size - rw));
  const y0 = w.rng.int(Math.max(1, w.size - rh));
  for (const i of rectPixels(w.size, x0, y0, x0 + rw, y0 + rh)) {
    for (let c = 0; c < 3; c++) {
      w.image[i * 3 + c] = Math.max(0, Math.min(255, w.image[i * 3 + c] + w.rng.int(-60, 61)));
    }
  }
  return `${rw}x${rh} at ${x0},${y0}`;
}

function speckle(w: Work): string {
  const count = w.rng.int(6, 15);
  for (let k = 0; k < count; k++) {
    const i = w.rng.int(w.size * w.size);
    const cls = (w.labels[i] + 1 + w.rng.int(NUM_SCENE_CLASSES - 1)) % NUM_SCENE_CLASSES;
    setPixel(w, i, classColor(w, cls), cls);
  }
  return `${count} pixels`;
}

const APPLY: Record<CorruptionKind, (w: Work) => string> = {
  blob,
  misplaced,
  smear,
  noise: noisePatch,
  speckle,
};

/**
 * Add synthetic artifacts to a scene (see the module comment); the scene itself is not changed.
 *
 * @param scene A rendered scene.
 * @param rng The source of randomness (its state advances).
 * @param opts `kinds` (default all), `count` (default 1).
 * @returns A copy of the scene with altered image and labels, the mask of altered pixels and what was done.
 *
 * @example
 * ```ts
 * import { Rng } from "../tensor/rng.ts";
 * import { corruptScene } from "./corrupt.ts";
 * import { renderScene } from "./scenes.ts";
 * const { mask, corruptions } = corruptScene(renderScene(4), new Rng(4), { count: 3 });
 * ```
 */
export function corruptScene(scene: Scene, rng: Rng, opts: CorruptOptions = {}): CorruptedScene {
  const kinds = opts.kinds ?? CORRUPTION_KINDS;
  const count = opts.count ?? 1;
  if (kinds.length === 0) throw new Error("corruptScene: Expected at least one kind, got []");
  const unknown = kinds.find((k) => !CORRUPTION_KINDS.includes(k));
  if (unknown) {
    throw new Error(
      `corruptScene: Unknown kind "${unknown}"; expected one of ${CORRUPTION_KINDS.join(", ")}`,
    );
  }
  if (!Number.isInteger(count) || count < 0) {
    throw new Error(`corruptScene: Expected count ≥ 0, got ${count}`);
  }
  const { lighting } = scene.layout;
  const w: Work = {
    size: scene.size,
    image: scene.image.slice(),
    labels: scene.labels.slice(),
    original: scene.image,
    originalLabels: scene.labels,
    gain: lightGain(lighting.brightness, lighting.warmth),
    rng,
    s: scene.size / 64,
  };
  const mask = new Uint8Array(scene.size * scene.size);
  const corruptions: Corruption[] = [];
  for (let k = 0; k < count; k++) {
    const kind = kinds[rng.int(kinds.length)];
    const before = w.image.slice();
    const beforeLabels = w.labels.slice();
    const detail = APPLY[kind](w);
    let pixels = 0;
    for (let i = 0; i < mask.length; i++) {
      const o = i * 3;
      const change = Math.hypot(
        w.image[o] - before[o],
        w.image[o + 1] - before[o + 1],
        w.image[o + 2] - before[o + 2],
      );
      if (change > CHANGE || w.labels[i] !== beforeLabels[i]) {
        mask[i] = 1;
        pixels++;
      }
    }
    corruptions.push({ kind, detail, pixels });
  }
  return { ...scene, image: w.image, labels: w.labels, mask, corruptions };
}
