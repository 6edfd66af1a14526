/**
 * Overlays of unit activations on images: a colour-mapped heat-map ({@link heatmapOverlay}) or a flat-coloured
 * mask with an outline ({@link maskOverlay}), the two views of a unit in GAN Dissection.
 *
 * Maps may be smaller than the image (a feature map is 8x8 while the image is 64x64); they are upsampled
 * bilinearly with half-pixel centres (like PyTorch's `align_corners=False`). Results are RGB
 * {@link RawImage}s, ready for {@link imageGrid} or {@link savePng}; no tensors are returned.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { heatmapOverlay, maskOverlay } from "./heatmap.ts";
 * const image = tf.zeros([64, 64, 3]); // [H, W, 3] in [-1, 1]
 * const act = tf.randomUniform([8, 8]); // [h, w] in [0, 1]
 * const heat = heatmapOverlay(image, act, { alpha: 0.6, threshold: 0.2 });
 * const mask = maskOverlay(image, tf.tidy(() => tf.cast(tf.greater(act, 0.8), "float32")));
 * tf.dispose([image, act]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { convertChannels, isRawImage, type RawImage, toRawImage, type ValueRange } from "../io/raw_image.ts";
import { colormap, colormapIndex, type ColormapName } from "./colormap.ts";
import type { Color } from "./font.ts";

/** The image as RGB bytes, from a tensor [H,W,C]/[1,H,W,C] in `range` or a record. */
function rgbImage(image: tf.Tensor | RawImage, range: ValueRange | undefined): RawImage {
  if (!isRawImage(image) && (image.shape.at(-1) !== 1 && image.shape.at(-1) !== 3)) {
    throw new Error(`Expected an image [H,W,3] or [H,W,1], got [${image.shape}]`);
  }
  return convertChannels(toRawImage(image, { range }), 3);
}

/**
 * Values of a map [h,w], [h,w,1] or [1,h,w,1] resized bilinearly to `height` x `width`, clamped to [0,1],
 * as [height * width] floats row-major. The caller keeps ownership of `map`.
 */
export function resizeMap(map: tf.Tensor, height: number, width: number): Float32Array {
  const shape = map.shape;
  const ok = shape.length === 2 || (shape.length === 3 && shape[2] === 1) ||
    (shape.length === 4 && shape[0] === 1 && shape[3] === 1);
  if (!ok) throw new Error(`Expected a map [h,w] or [h,w,1], got [${shape}]`);
  const [h, w] = shape.length === 4 ? shape.slice(1, 3) : shape.slice(0, 2);
  return tf.tidy(() => {
    const x = tf.reshape(tf.cast(map, "float32"), [1, h, w, 1]); // [1, h, w, 1]
    const resized = h === height && w === width
      ? x
      : tf.image.resizeBilinear(x as tf.Tensor4D, [height, width], false, true);
    return tf.clipByValue(resized, 0, 1).dataSync() as Float32Array; // [1, H, W, 1]
  });
}

/** Options of {@link heatmapOverlay}. */
export interface HeatmapOptions {
  /** Opacity of the colour map over the image, 0..1; default 0.5. */
  alpha?: number;
  /** Colour map; default `"jet"`. */
  colormap?: ColormapName;
  /** Pixels whose (upsampled) map value is below this keep the plain image; default none (all coloured). */
  threshold?: number;
  /** Value range of a tensor image; default `"-1,1"`. */
  range?: ValueRange;
}

function checkAlpha(alpha: number): number {
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`alpha must be in [0,1], got ${alpha}`);
  return alpha;
}

/**
 * Blend a colour-mapped activation map over an image.
 *
 * `image` is a tensor [H,W,3] or [H,W,1] (or with a leading 1) in `opts.range`, or a {@link RawImage};
 * `map` is a tensor [h,w] or [h,w,1] with values in [0,1] (clamped), upsampled bilinearly to H x W. The caller
 * keeps ownership of both tensors. Returns an RGB {@link RawImage} of size H x W.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { heatmapOverlay } from "./heatmap.ts";
 * const image = tf.zeros([32, 32, 3]);
 * const map = tf.tensor2d([[0, 0.5], [0.5, 1]]); // [2, 2]
 * const overlay = heatmapOverlay(image, map, { colormap: "viridis", alpha: 0.7 });
 * tf.dispose([image, map]);
 * ```
 */
export function heatmapOverlay(
  image: tf.Tensor | RawImage,
  map: tf.Tensor,
  opts: HeatmapOptions = {},
): RawImage {
  const alpha = checkAlpha(opts.alpha ?? 0.5);
  const table = colormap(opts.colormap ?? "jet");
  const threshold = opts.threshold ?? -Infinity;
  const base = rgbImage(image, opts.range);
  const { height, width } = base;
  const values = resizeMap(map, height, width);
  const out = new Uint8Array(base.data);
  for (let p = 0; p < height * width; p++) {
    if (values[p] < threshold) continue;
    const c = colormapIndex(values[p]) * 3;
    for (let k = 0; k < 3; k++) {
      out[p * 3 + k] = Math.round((1 - alpha) * base.data[p * 3 + k] + alpha * table[c + k]);
    }
  }
  return { data: out, height, width, channels: 3 };
}

/** Options of {@link maskOverlay}. */
export interface MaskOverlayOptions {
  /** RGB colour of the mask; default `[255, 64, 0]` (orange-red). */
  color?: Color;
  /** Opacity of the colour inside the mask, 0..1; default 0.4. */
  alpha?: number;
  /** Draw the mask boundary (pixels inside with a 4-neighbour outside) in full colour; default true. */
  outline?: boolean;
  /** Value range of a tensor image; default `"-1,1"`. */
  range?: ValueRange;
}

/**
 * Tint the region of a binary mask on an image, optionally outlining it.
 *
 * `mask` is a tensor [h,w] or [h,w,1] with values in {0,1} (or soft values); it is upsampled bilinearly to the
 * image size and a pixel is inside when the upsampled value is at least 0.5, which gives smooth boundaries
 * for coarse masks. Image and ownership as in {@link heatmapOverlay}. Returns an RGB {@link RawImage}.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { maskOverlay } from "./heatmap.ts";
 * const image = tf.zeros([32, 32, 3]);
 * const mask = tf.tensor2d([[0, 1], [0, 0]]); // top-right quarter
 * const overlay = maskOverlay(image, mask, { color: [0, 255, 0] });
 * tf.dispose([image, mask]);
 * ```
 */
export function maskOverlay(
  image: tf.Tensor | RawImage,
  mask: tf.Tensor,
  opts: MaskOverlayOptions = {},
): RawImage {
  const alpha = checkAlpha(opts.alpha ?? 0.4);
  const color = opts.color ?? [255, 64, 0];
  const outline = opts.outline ?? true;
  const base = rgbImage(image, opts.range);
  const { height, width } = base;
  const values = resizeMap(mask, height, width);
  const inside = (x: number, y: number) => values[y * width + x] >= 0.5;
  const out = new Uint8Array(base.data);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!inside(x, y)) continue;
      const edge = outline && (
        (x > 0 && !inside(x - 1, y)) || (x < width - 1 && !inside(x + 1, y)) ||
        (y > 0 && !inside(x, y - 1)) || (y < height - 1 && !inside(x, y + 1))
      );
      const a = edge ? 1 : alpha;
      const p = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) out[p + k] = Math.round((1 - a) * base.data[p + k] + a * color[k]);
    }
  }
  return { data: out, height, width, channels: 3 };
}
