/**
 * The colour check of the defect map: how far each pixel is from what its segmentation says it should look
 * like, in two ways (see {@link colorDistance}): from every colour its class can take in the scene data set
 * under the image's own lighting (the palette distance), and from the robust colour of its own region along
 * its row or column (the consistency distance).
 *
 * The allowed colours of a class, for a lighting gain `g`, are the union over its swatches `(a, b)` of
 * `{ g ⊙ s·((1-t)·a + t·b) : t ∈ [0, 1], s ∈ shade range }` (see {@link ./scene_palette.ts}); each such set
 * is a flat trapezoid in RGB space, so the distance to it is exact: a projection onto its plane, or the
 * nearest of its four edges.
 *
 * The gain is estimated per image ({@link estimateGain}): the lighting (brightness, warmth) whose allowed
 * colours best explain a class-stratified sample of the pixels, by a truncated mean of distances (robust to
 * defects), searched coarse to fine over {@link LIGHTING_RANGE} widened by a margin.
 *
 * Near label boundaries (`blend`, default on) a pixel may also take the colours of the neighbouring regions
 * or a blend of its region's colour and a neighbour's: generated images blur edges, and segmenters misplace
 * them by a pixel.
 *
 * @example
 * ```ts
 * import { renderScene, sceneImage } from "./scenes.ts";
 * import { colorDistance } from "./scene_color.ts";
 * const scene = renderScene(5);
 * const { distance, gain } = colorDistance(sceneImage(scene), scene.labels); // distance: 0..~9 on a clean scene
 * ```
 * @module
 */
import { checkRawImage, type RawImage } from "../io/raw_image.ts";
import { labelComponents } from "./components.ts";
import { CLASS_ID, NUM_SCENE_CLASSES } from "./scene_classes.ts";
import { allowedSwatches, CLASS_STYLE, lightGain, LIGHTING_RANGE } from "./scene_palette.ts";

/** A flat trapezoid of allowed colours: span of `A` and `B` with α, β ≥ 0 and α + β in [lo, hi]. */
interface ColorPatch {
  /** Corners lo·A, hi·A, hi·B, lo·B (flattened [4 * 3]). */
  corners: Float64Array;
  ax: number;
  ay: number;
  az: number;
  bx: number;
  by: number;
  bz: number;
  /** Inverse Gram matrix of (A, B), or undefined when A and B are parallel. */
  inv?: [number, number, number, number];
  lo: number;
  hi: number;
}

function makePatch(
  a: readonly number[],
  b: readonly number[],
  gain: readonly number[],
  shade: readonly number[],
) {
  const [lo, hi] = shade;
  const A = [a[0] * gain[0], a[1] * gain[1], a[2] * gain[2]];
  const B = [b[0] * gain[0], b[1] * gain[1], b[2] * gain[2]];
  const corners = Float64Array.from([
    ...A.map((v) => lo * v),
    ...A.map((v) => hi * v),
    ...B.map((v) => hi * v),
    ...B.map((v) => lo * v),
  ]);
  const aa = A[0] * A[0] + A[1] * A[1] + A[2] * A[2];
  const bb = B[0] * B[0] + B[1] * B[1] + B[2] * B[2];
  const ab = A[0] * B[0] + A[1] * B[1] + A[2] * B[2];
  const det = aa * bb - ab * ab;
  const patch: ColorPatch = { corners, ax: A[0], ay: A[1], az: A[2], bx: B[0], by: B[1], bz: B[2], lo, hi };
  if (det > 1e-6 * aa * bb) patch.inv = [bb / det, -ab / det, -ab / det, aa / det];
  return patch;
}

/** Squared distance from a colour to a patch. */
function patchDist2(x: number, y: number, z: number, p: ColorPatch): number {
  if (p.inv) {
    const ra = p.ax * x + p.ay * y + p.az * z;
    const rb = p.bx * x + p.by * y + p.bz * z;
    const alpha = p.inv[0] * ra + p.inv[1] * rb;
    const beta = p.inv[2] * ra + p.inv[3] * rb;
    const sum = alpha + beta;
    if (alpha >= 0 && beta >= 0 && sum >= p.lo && sum <= p.hi) {
      const ex = x - alpha * p.ax - beta * p.bx;
      const ey = y - alpha * p.ay - beta * p.by;
      const ez = z - alpha * p.az - beta * p.bz;
      return ex * ex + ey * ey + ez * ez;
    }
  }
  const c = p.corners;
  return Math.min(
    segmentBetween(x, y, z, c, 0, c, 3),
    segmentBetween(x, y, z, c, 3, c, 6),
    segmentBetween(x, y, z, c, 6, c, 9),
    segmentBetween(x, y, z, c, 9, c, 0),
  );
}

/** Write into `out` the point of segment c[i]→c[j] nearest to (x, y, z); return its squared distance. */
function segmentNearest(
  x: number,
  y: number,
  z: number,
  c: Float64Array,
  i: number,
  j: number,
  out: number[],
) {
  const dx = c[j] - c[i], dy = c[j + 1] - c[i + 1], dz = c[j + 2] - c[i + 2];
  const len2 = dx * dx + dy * dy + dz * dz;
  let t = len2 > 0 ? ((x - c[i]) * dx + (y - c[i + 1]) * dy + (z - c[i + 2]) * dz) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  out[0] = c[i] + t * dx;
  out[1] = c[i + 1] + t * dy;
  out[2] = c[i + 2] + t * dz;
  return (x - out[0]) ** 2 + (y - out[1]) ** 2 + (z - out[2]) ** 2;
}

/** Write into `out` the point of a patch nearest to (x, y, z); return its squared distance. */
function patchNearest(x: number, y: number, z: number, p: ColorPatch, out: number[]): number {
  if (p.inv) {
    const ra = p.ax * x + p.ay * y + p.az * z;
    const rb = p.bx * x + p.by * y + p.bz * z;
    const alpha = p.inv[0] * ra + p.inv[1] * rb;
    const beta = p.inv[2] * ra + p.inv[3] * rb;
    const sum = alpha + beta;
    if (alpha >= 0 && beta >= 0 && sum >= p.lo && sum <= p.hi) {
      out[0] = alpha * p.ax + beta * p.bx;
      out[1] = alpha * p.ay + beta * p.by;
      out[2] = alpha * p.az + beta * p.bz;
      return (x - out[0]) ** 2 + (y - out[1]) ** 2 + (z - out[2]) ** 2;
    }
  }
  let best = Infinity;
  const point = [0, 0, 0];
  for (const [i, j] of [[0, 3], [3, 6], [6, 9], [9, 0]]) {
    const d2 = segmentNearest(x, y, z, p.corners, i, j, point);
    if (d2 < best) {
      best = d2;
      out[0] = point[0];
      out[1] = point[1];
      out[2] = point[2];
    }
  }
  return best;
}

/** Brighter values tried for channels clamped at 255. */
const CLAMP_LIFTS = [8, 16, 28, 44];

/** The allowed-colour patches of every class under one lighting gain. */
export class ClassColors {
  readonly gain: readonly [number, number, number];
  readonly #patches: ColorPatch[][];

  constructor(gain: readonly [number, number, number]) {
    this.gain = gain;
    this.#patches = Array.from(
      { length: NUM_SCENE_CLASSES },
      (_, cls) => allowedSwatches(cls).map((s) => makePatch(s.a, s.b, gain, CLASS_STYLE[cls].shade)),
    );
  }

  /**
   * The allowed colour of class `cls` nearest to (r, g, b), clamped to 0..255; (r, g, b) itself for a class
   * with no colours.
   */
  nearest(cls: number, r: number, g: number, b: number): [number, number, number] {
    const best: [number, number, number] = [r, g, b];
    let bestD2 = Infinity;
    const point = [0, 0, 0];
    for (const p of this.#patches[cls] ?? []) {
      const d2 = patchNearest(r, g, b, p, point);
      if (d2 < bestD2) {
        bestD2 = d2;
        for (let c = 0; c < 3; c++) best[c] = Math.min(255, Math.max(0, point[c]));
      }
    }
    return best;
  }

  /**
   * Distance (0..255 units, Euclidean RGB) from a colour to the nearest allowed colour of class `cls`
   * (Infinity for a class with no colours, e.g. an id outside the table). Values above 255 in the allowed
   * set are clamped, as the renderer clamps them.
   */
  distance(cls: number, r: number, g: number, b: number): number {
    const patches = this.#patches[cls];
    if (!patches) return Infinity;
    let best = Infinity;
    for (const p of patches) {
      const d2 = patchDist2(r, g, b, p);
      if (d2 < best) best = d2;
    }
    // A channel at 255 may have been clamped from a brighter value: try a few brighter ones.
    if (best > 1 && (r >= 254 || g >= 254 || b >= 254)) {
      for (const lift of CLAMP_LIFTS) {
        const rr = r >= 254 ? r + lift : r, gg = g >= 254 ? g + lift : g, bb = b >= 254 ? b + lift : b;
        for (const p of patches) best = Math.min(best, patchDist2(rr, gg, bb, p));
      }
    }
    return Math.sqrt(best);
  }
}

/** Options of {@link estimateGain}. */
export interface GainOptions {
  /** Pixels sampled per class present; default 24. */
  perClass?: number;
  /** Distances are capped at this value in the fit (robustness to defects); default 24. */
  cap?: number;
}

/** A class-stratified, evenly spaced sample of pixel indices: at most `perClass` per class. */
function stratifiedSample(labels: Uint8Array, perClass: number): number[] {
  const counts = new Int32Array(256);
  for (const l of labels) counts[l]++;
  const seen = new Int32Array(256);
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    const stride = Math.max(1, Math.floor(counts[l] / perClass));
    if (seen[l]++ % stride === 0 && seen[l] <= stride * perClass) out.push(i);
  }
  return out;
}

/**
 * Estimate the lighting gain of an image from its pixels and labels (see the module comment).
 *
 * @returns The gain `lightGain(brightness, warmth)` that explains the image best.
 */
export function estimateGain(
  image: RawImage,
  labels: Uint8Array,
  opts: GainOptions = {},
): [number, number, number] {
  const cap = opts.cap ?? 24;
  const sample = stratifiedSample(labels, opts.perClass ?? 24);
  const data = image.data;
  const cost = (brightness: number, warmth: number) => {
    const colors = new ClassColors(lightGain(brightness, warmth));
    let sum = 0;
    for (const i of sample) {
      sum += Math.min(cap, colors.distance(labels[i], data[i * 3], data[i * 3 + 1], data[i * 3 + 2]));
    }
    return sum;
  };
  // Coarse grid over the data set's lighting range (widened), then two local refinements.
  const [bLo, bHi] = [LIGHTING_RANGE.brightness[0] - 0.06, LIGHTING_RANGE.brightness[1] + 0.06];
  const [wLo, wHi] = [LIGHTING_RANGE.warmth[0] - 0.3, LIGHTING_RANGE.warmth[1] + 0.3];
  let best = { b: 1, w: 0, cost: Infinity };
  let bStep = (bHi - bLo) / 4;
  let wStep = (wHi - wLo) / 5;
  for (let b = bLo; b <= bHi + 1e-9; b += bStep) {
    for (let w = wLo; w <= wHi + 1e-9; w += wStep) {
      const c = cost(b, w);
      if (c < best.cost) best = { b, w, cost: c };
    }
  }
  for (let round = 0; round < 3; round++) {
    bStep /= 2;
    wStep /= 2;
    const centre = best;
    for (const db of [-1, 0, 1]) {
      for (const dw of [-1, 0, 1]) {
        if (db === 0 && dw === 0) continue;
        const c = cost(centre.b + db * bStep, centre.w + dw * wStep);
        if (c < best.cost) best = { b: centre.b + db * bStep, w: centre.w + dw * wStep, cost: c };
      }
    }
  }
  return lightGain(best.b, best.w);
}

/**
 * Classes held to their region's line medians: all but those whose regions are legitimately multicoloured,
 * clouds (overlapping puffs with different shading gradients) and trees (trunks inside crowns, autumn
 * crowns over green ones).
 */
const CONSISTENT: readonly boolean[] = Array.from(
  { length: NUM_SCENE_CLASSES },
  (_, c) => c !== CLASS_ID.cloud && c !== CLASS_ID.tree,
);

/** Largest palette distance of a line median that serves as a blend endpoint as it is. */
const REFERENCE_FIT = 12;

/** Options of {@link colorDistance}. */
export interface ColorDistanceOptions extends GainOptions {
  /** Allow neighbouring regions' colours and blends at label boundaries; default true. */
  blend?: boolean;
  /** Use this gain instead of estimating it. */
  gain?: readonly [number, number, number];
}

/** What {@link colorDistance} returns (arrays row-major). */
export interface ColorCheck {
  /** Per-pixel colour distance, 0..255 units [H*W]. */
  distance: Float32Array;
  /** The lighting gain the palette was judged under. */
  gain: readonly [number, number, number];
  /** Each pixel's row reference: the median colour of its region's pixels in its row [H*W*3]. */
  rows: Float32Array;
  /** Each pixel's column reference: the median colour of its region's pixels in its column [H*W*3]. */
  columns: Float32Array;
}

/** Squared distance from (x, y, z) to the segment from p to q (both RGB, offsets i and j). */
function segmentBetween(
  x: number,
  y: number,
  z: number,
  p: ArrayLike<number>,
  i: number,
  q: ArrayLike<number>,
  j: number,
) {
  const px = p[i], py = p[i + 1], pz = p[i + 2];
  const dx = q[j] - px, dy = q[j + 1] - py, dz = q[j + 2] - pz;
  const len2 = dx * dx + dy * dy + dz * dz;
  let t = len2 > 0 ? ((x - px) * dx + (y - py) * dy + (z - pz) * dz) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const ex = x - px - t * dx, ey = y - py - t * dy, ez = z - pz - t * dz;
  return ex * ex + ey * ey + ez * ez;
}

/**
 * Per-channel medians of each region (4-connected, one class) along lines: every pixel gets the median of
 * its region's pixels in its row (`byRow`) or in its column. A median ignores a defect that covers under
 * half of a region's line.
 */
function lineMedians(data: Uint8Array, ids: Int32Array, h: number, w: number, byRow: boolean): Float32Array {
  const reference = new Float32Array(h * w * 3);
  const lines = byRow ? h : w;
  const length = byRow ? w : h;
  const order = new Int32Array(length);
  const values = new Float64Array(length);
  for (let line = 0; line < lines; line++) {
    for (let k = 0; k < length; k++) order[k] = byRow ? line * w + k : k * w + line;
    order.sort((a, b) => ids[a] - ids[b] || a - b);
    for (let start = 0; start < length;) {
      let end = start + 1;
      while (end < length && ids[order[end]] === ids[order[start]]) end++;
      const count = end - start;
      for (let c = 0; c < 3; c++) {
        for (let k = 0; k < count; k++) values[k] = data[order[start + k] * 3 + c];
        const run = values.subarray(0, count).sort();
        const median = count % 2 ? run[count >> 1] : (run[count / 2 - 1] + run[count / 2]) / 2;
        for (let k = 0; k < count; k++) reference[order[start + k] * 3 + c] = median;
      }
      start = end;
    }
  }
  return reference;
}

/**
 * Per-pixel colour distance (0..255 units) of an image from what its segmentation says it should look like:
 * the larger of
 * - the palette distance: to the nearest allowed colour of the pixel's class under the estimated lighting;
 * - the consistency distance: to the pixel's reference colour (the median of its region's row, see
 *   {@link ColorCheck.reference}), scaled by any shade ratio the class's texture allows.
 *
 * With `blend`, a pixel at a label boundary (one of its 8 neighbours has another class) takes the best of
 * its own explanation, that of each neighbouring region, and a blend of its region's reference colour with
 * a neighbouring region's (the row or column medians of both, each moved to its class's nearest palette
 * colour when it is more than 12 away from the palette).
 *
 * @param image An RGB {@link RawImage}.
 * @param labels Class ids, `height * width` of them.
 * @param opts `blend` (default true), `gain` (default: {@link estimateGain}), sampling options.
 */
export function colorDistance(
  image: RawImage,
  labels: Uint8Array,
  opts: ColorDistanceOptions = {},
): ColorCheck {
  checkRawImage(image, "colorDistance image");
  if (image.channels !== 3) {
    throw new Error(`colorDistance: Expected an RGB image, got ${image.channels} channels`);
  }
  const { height: h, width: w, data } = image;
  if (labels.length !== h * w) {
    throw new Error(`colorDistance: Expected ${h}*${w} labels, got ${labels.length}`);
  }
  const gain = opts.gain ?? estimateGain(image, labels, opts);
  const palette = new ClassColors(gain);
  const ids = labelComponents(labels, { height: h, width: w }).ids;
  const rows = lineMedians(data, ids, h, w, true);
  const columns = lineMedians(data, ids, h, w, false);
  const ratios = CLASS_STYLE.map(({ shade: [lo, hi] }) => [lo / hi, hi / lo]);
  const shadeRange = new Float64Array(6);
  /** Distance from (r, g, b) to `reference[j]` scaled by the shade ratios of class `cls`. */
  const consistency = (reference: Float32Array, j: number, cls: number, r: number, g: number, b: number) => {
    const [lo, hi] = ratios[cls] ?? [1, 1];
    for (let c = 0; c < 3; c++) {
      shadeRange[c] = lo * reference[j * 3 + c];
      shadeRange[3 + c] = hi * reference[j * 3 + c];
    }
    return segmentBetween(r, g, b, shadeRange, 0, shadeRange, 3);
  };
  /** How badly the look of region pixel `j` (its class and line medians) explains the colour (r, g, b). */
  const explain = (j: number, r: number, g: number, b: number) => {
    const cls = labels[j];
    const fit = palette.distance(cls, r, g, b);
    if (!CONSISTENT[cls]) return fit;
    const line = Math.min(consistency(rows, j, cls, r, g, b), consistency(columns, j, cls, r, g, b));
    return Math.max(fit, Math.sqrt(line));
  };
  const n = h * w;
  const own = new Float32Array(n);
  for (let i = 0; i < n; i++) own[i] = explain(i, data[i * 3], data[i * 3 + 1], data[i * 3 + 2]);
  const distance = Float32Array.from(own);
  if (opts.blend ?? true) {
    // Blend endpoints: line medians, each replaced by its nearest palette colour when it does not fit its
    // class's palette within REFERENCE_FIT (a defect can fill a whole line of a small region).
    const references = [rows, columns].map((medians) => {
      const colors = Float32Array.from(medians);
      for (let i = 0; i < n; i++) {
        const [r, g, b] = [medians[i * 3], medians[i * 3 + 1], medians[i * 3 + 2]];
        if (palette.distance(labels[i], r, g, b) > REFERENCE_FIT) {
          colors.set(palette.nearest(labels[i], r, g, b), i * 3);
        }
      }
      return colors;
    });
    const neighbours: number[] = [];
    for (let i = 0; i < n; i++) {
      if (own[i] === 0) continue;
      const x = i % w;
      const y = (i - x) / w;
      neighbours.length = 0;
      for (let yy = Math.max(0, y - 1); yy <= Math.min(h - 1, y + 1); yy++) {
        for (let xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) {
          if (labels[yy * w + xx] !== labels[i]) neighbours.push(yy * w + xx);
        }
      }
      if (neighbours.length === 0) continue;
      const r = data[i * 3], g = data[i * 3 + 1], b = data[i * 3 + 2];
      let d = own[i];
      for (const j of neighbours) d = Math.min(d, explain(j, r, g, b));
      // Blends of its region's look with a neighbouring region's.
      let best = d * d;
      for (const j of neighbours) {
        for (const mine of references) {
          for (const theirs of references) {
            best = Math.min(best, segmentBetween(r, g, b, mine, i * 3, theirs, j * 3));
          }
        }
      }
      distance[i] = Math.sqrt(best);
    }
  }
  return { distance, gain, rows, columns };
}
