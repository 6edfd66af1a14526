/**
 * The raster behind the scene renderer: a square canvas of class labels and paint ids, filled with crisp
 * shapes (a pixel is covered when its centre is inside), then coloured in one pass with the scene's
 * lighting, textures and noise (the colour model of {@link ./scene_palette.ts}).
 *
 * Shapes never blend: the label map is exact, and each pixel's colour comes from the last shape that
 * covered it.
 *
 * @example
 * ```ts
 * import { Rng } from "../tensor/rng.ts";
 * import { SceneCanvas } from "./scene_canvas.ts";
 * import { CLASS_ID } from "./scene_classes.ts";
 * const canvas = new SceneCanvas(16);
 * const sky = canvas.addPaint({ cls: CLASS_ID.sky, a: [60, 120, 200], b: [170, 200, 240], y0: 0, y1: 16 });
 * canvas.fillRect(0, 0, 16, 16, sky);
 * const rgb = canvas.colorize(new Rng(1), [1, 1, 1]); // Uint8Array [16 * 16 * 3]
 * ```
 * @module
 */
import type { Rng } from "../tensor/rng.ts";
import { labelComponents } from "./components.ts";
import { CLASS_STYLE, NOISE, type Rgb } from "./scene_palette.ts";

/**
 * One paint: a class and a base colour running from `a` at pixel row `y0` to `b` at row `y1` (a solid
 * colour when `a` equals `b`).
 */
export interface Paint {
  cls: number;
  a: Rgb;
  b: Rgb;
  y0: number;
  y1: number;
}

const TEXTURE_CODE = { none: 0, grain: 1, brick: 2, tiles: 3, ripple: 4 } as const;

/** A square canvas of labels and paints (see the module comment). */
export class SceneCanvas {
  /** Side of the canvas in pixels. */
  readonly size: number;
  /** Class id per pixel, row-major [size * size]. */
  readonly labels: Uint8Array;
  /** Paint id per pixel, row-major [size * size]. */
  readonly paintIds: Uint8Array;
  readonly #paints: Paint[] = [];

  /** @param size Side in pixels (≥ 8). */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 8) throw new Error(`SceneCanvas: Expected a size ≥ 8, got ${size}`);
    this.size = size;
    this.labels = new Uint8Array(size * size);
    this.paintIds = new Uint8Array(size * size);
  }

  /** Register a paint and return its id (at most 256 paints per canvas). */
  addPaint(paint: Paint): number {
    if (this.#paints.length === 256) throw new Error("SceneCanvas: more than 256 paints");
    this.#paints.push(paint);
    return this.#paints.length - 1;
  }

  /** The paint with this id. */
  paint(id: number): Paint {
    return this.#paints[id];
  }

  #set(x: number, y: number, paintId: number): void {
    const i = y * this.size + x;
    this.paintIds[i] = paintId;
    this.labels[i] = this.#paints[paintId].cls;
  }

  /** Fill the pixels x in [x0, x1), y in [y0, y1) (integers; clipped to the canvas). */
  fillRect(x0: number, y0: number, x1: number, y1: number, paintId: number): void {
    const xa = Math.max(0, x0);
    const xb = Math.min(this.size, x1);
    const ya = Math.max(0, y0);
    const yb = Math.min(this.size, y1);
    for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) this.#set(x, y, paintId);
  }

  /** Fill the pixels of row `y` whose centres lie in [xa, xb) (pixel units). */
  #span(y: number, xa: number, xb: number, paintId: number): void {
    if (y < 0 || y >= this.size) return;
    const from = Math.max(0, Math.ceil(xa - 0.5));
    const to = Math.min(this.size, Math.ceil(xb - 0.5));
    for (let x = from; x < to; x++) this.#set(x, y, paintId);
  }

  /** Fill a polygon given as [x, y] vertices in pixel units (even-odd rule, pixel centres). */
  fillPolygon(points: readonly (readonly [number, number])[], paintId: number): void {
    const ys = points.map((p) => p[1]);
    const top = Math.max(0, Math.ceil(Math.min(...ys) - 0.5));
    const bottom = Math.min(this.size - 1, Math.ceil(Math.max(...ys) - 0.5) - 1);
    const crossings: number[] = [];
    for (let y = top; y <= bottom; y++) {
      const yc = y + 0.5;
      crossings.length = 0;
      for (let i = 0; i < points.length; i++) {
        const [xa, ya] = points[i];
        const [xb, yb] = points[(i + 1) % points.length];
        if ((ya <= yc && yb > yc) || (yb <= yc && ya > yc)) {
          crossings.push(xa + ((yc - ya) / (yb - ya)) * (xb - xa));
        }
      }
      crossings.sort((p, q) => p - q);
      for (let k = 0; k + 1 < crossings.length; k += 2) {
        this.#span(y, crossings[k], crossings[k + 1], paintId);
      }
    }
  }

  /**
   * Fill an axis-aligned ellipse (centre, radii in pixel units), only the rows whose centres are above
   * `clipBelow` (default: no clipping).
   */
  fillEllipse(cx: number, cy: number, rx: number, ry: number, paintId: number, clipBelow = Infinity): void {
    const top = Math.max(0, Math.ceil(cy - ry - 0.5));
    const bottom = Math.min(this.size - 1, Math.ceil(Math.min(cy + ry, clipBelow) - 0.5) - 1);
    for (let y = top; y <= bottom; y++) {
      const dy = (y + 0.5 - cy) / ry;
      if (dy * dy >= 1) continue;
      const half = rx * Math.sqrt(1 - dy * dy);
      this.#span(y, cx - half, cx + half, paintId);
    }
  }

  /**
   * Repaint every region (4-connected, one class) smaller than `minArea` pixels with the paint most common
   * along its border: occlusion slivers (a pixel of sky between a tree and a wall, the tip of a cloud behind
   * a tower) become part of their surroundings, so the labels hold no speckle.
   *
   * @returns Whether anything was repainted.
   */
  despeckle(minArea: number): boolean {
    const n = this.size;
    const { ids, areas } = labelComponents(this.labels, { height: n, width: n });
    // Small component → paint id → border count; a neighbour in a large region counts 1000 times as much
    // as one in another small region (two slivers side by side must not just swap paints).
    const votes = new Map<number, Map<number, number>>();
    for (let i = 0; i < n * n; i++) {
      const id = ids[i];
      if (areas[id] >= minArea) continue;
      const x = i % n;
      const tally = votes.get(id) ?? new Map<number, number>();
      votes.set(id, tally);
      for (const j of [x > 0 ? i - 1 : -1, x < n - 1 ? i + 1 : -1, i - n, i + n]) {
        if (j < 0 || j >= n * n || ids[j] === id) continue;
        const weight = areas[ids[j]] >= minArea ? 1000 : 1;
        tally.set(this.paintIds[j], (tally.get(this.paintIds[j]) ?? 0) + weight);
      }
    }
    const replacement = new Map<number, number>();
    for (const [id, tally] of votes) {
      let best = -1;
      let bestCount = 0;
      for (const [paint, count] of tally) if (count > bestCount) [best, bestCount] = [paint, count];
      if (best >= 0) replacement.set(id, best);
    }
    if (replacement.size === 0) return false;
    for (let i = 0; i < n * n; i++) {
      const paint = replacement.get(ids[i]);
      if (paint !== undefined) this.#set(i % n, Math.floor(i / n), paint);
    }
    return true;
  }

  /**
   * Colour every pixel: `clamp(gain ⊙ (shade · base) + noise)`, with base from the pixel's paint at its
   * row, shade from its class's texture and noise bounded by {@link NOISE} (one `rng` draw per pixel, two
   * for textured classes).
   *
   * @returns RGB bytes, row-major [size * size * 3].
   */
  colorize(rng: Rng, gain: readonly [number, number, number]): Uint8Array {
    const n = this.size;
    const out = new Uint8ClampedArray(n * n * 3); // rounds and clamps on store
    const paints = this.#paints;
    const texture = Uint8Array.from(paints, (p) => TEXTURE_CODE[CLASS_STYLE[p.cls].texture]);
    const lo = Float64Array.from(paints, (p) => CLASS_STYLE[p.cls].shade[0]);
    const hi = Float64Array.from(paints, (p) => CLASS_STYLE[p.cls].shade[1]);
    const course = Math.max(2, Math.round(n / 21)); // brick and tile rows, in pixels
    const [gr, gg, gb] = gain;
    const chroma = NOISE.chroma / 127.5;
    for (let y = 0; y < n; y++) {
      const yc = y + 0.5;
      for (let x = 0; x < n; x++) {
        const i = y * n + x;
        const id = this.paintIds[i];
        const p = paints[id];
        const t = p.y1 > p.y0 ? Math.min(1, Math.max(0, (yc - p.y0) / (p.y1 - p.y0))) : 0;
        let shade = 1;
        const kind = texture[id];
        if (kind !== 0) {
          const r = rng.nextUint32();
          const grain = ((r & 255) + ((r >>> 8) & 255)) / 510; // triangular in [0, 1], peak at 0.5
          const l = lo[id];
          const h = hi[id];
          if (kind === 1) {
            shade = l + (h - l) * grain;
          } else if (kind === 2) {
            // Brick courses with staggered joints.
            const row = Math.floor(y / course);
            const joint = (x + (row % 2) * course) % (2 * course) === 0;
            shade = y % course === 0 || joint ? l : h - 0.05 + 0.05 * grain;
          } else if (kind === 3) {
            shade = y % course === 0 ? l : h - 0.08 + 0.08 * grain;
          } else {
            // Ripples: short bright streaks along a few rows.
            const streak = ((Math.imul((x >> 2) + 31 * y, 0x9e3779b1) >>> 27) & 7) === 0;
            shade = streak ? h : 0.97 + 0.03 * grain;
          }
        }
        const noise = rng.nextUint32();
        const dl = (((noise & 255) + ((noise >>> 8) & 255)) / 255 - 1) * NOISE.luminance;
        const dr = (((noise >>> 16) & 255) - 127.5) * chroma;
        const db = ((noise >>> 24) - 127.5) * chroma;
        const o = i * 3;
        out[o] = gr * shade * (p.a[0] + t * (p.b[0] - p.a[0])) + dl + dr;
        out[o + 1] = gg * shade * (p.a[1] + t * (p.b[1] - p.a[1])) + dl;
        out[o + 2] = gb * shade * (p.a[2] + t * (p.b[2] - p.a[2])) + dl + db;
      }
    }
    return new Uint8Array(out.buffer);
  }
}
