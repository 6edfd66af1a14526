/**
 * The plain image record used for viewing and saving: interleaved 8-bit pixels, row-major, no tensors.
 *
 * Image tensors in ganatomy are float NHWC in one of three value ranges ({@link ValueRange}); this module
 * converts them to and from {@link RawImage} records.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
import { type FloatRange, toUint8 } from "../tensor/image.ts";
 * import { toRawImage } from "./raw_image.ts";
 * const t = tf.zeros([4, 4, 3]); // generator output in [-1, 1]: all mid-grey
 * const img = toRawImage(t); // { data: Uint8Array(48).fill(128), height: 4, width: 4, channels: 3 }
 * t.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type FloatRange, toUint8 } from "../tensor/image.ts";

/** An 8-bit image: `data[(y * width + x) * channels + c]`, channels 1 (grey), 2 (grey+alpha), 3 or 4 (RGBA). */
export interface RawImage {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

/**
 * How float pixel values map to 0..255: `"-1,1"` (generator output, tanh), `"0,1"`, or `"uint8"` (already
 * 0..255). Values outside the range are clamped.
 */
export type ValueRange = FloatRange | "uint8";

/** Options of the tensor-to-image conversions. */
export interface RangeOptions {
  /** Value range of the tensor; default `"-1,1"`. Ignored for {@link RawImage} inputs. */
  range?: ValueRange;
}

/** Whether `x` is a {@link RawImage} record rather than a tensor. */
export function isRawImage(x: unknown): x is RawImage {
  if (typeof x !== "object" || x === null) return false;
  const r = x as Partial<RawImage>;
  return r.data instanceof Uint8Array && typeof r.height === "number" && typeof r.width === "number" &&
    typeof r.channels === "number";
}

/** Throw a clear error unless `img` is a consistent {@link RawImage}. */
export function checkRawImage(img: RawImage, what = "image"): void {
  const { height, width, channels, data } = img;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new Error(`${what}: expected positive integer height and width, got ${height}x${width}`);
  }
  if (![1, 2, 3, 4].includes(channels)) {
    throw new Error(`${what}: expected 1, 2, 3 or 4 channels, got ${channels}`);
  }
  if (data.length !== height * width * channels) {
    throw new Error(
      `${what}: data has ${data.length} bytes, expected ${height}*${width}*${channels} = ${
        height * width * channels
      }`,
    );
  }
}

function checkRange(range: string): asserts range is ValueRange {
  if (range !== "-1,1" && range !== "0,1" && range !== "uint8") {
    throw new Error(`range must be "-1,1", "0,1" or "uint8", got "${range}"`);
  }
}

/** Map a tensor in `range` to clamped, rounded 0..255 values (int32), as `toUint8` of the tensor library. */
function toByteScale(x: tf.Tensor, range: ValueRange): tf.Tensor {
  return range === "uint8" ? tf.round(tf.clipByValue(x, 0, 255)) : toUint8(x, { range });
}

/**
 * Convert one image to a {@link RawImage}: a tensor [H,W,C] or [1,H,W,C] (C = 1, 3 or 4) in `range`, or a
 * record (returned as is after a check). The caller keeps ownership of the tensor.
 */
export function toRawImage(image: tf.Tensor | RawImage, opts: RangeOptions = {}): RawImage {
  if (isRawImage(image)) {
    checkRawImage(image);
    return image;
  }
  const range = opts.range ?? "-1,1";
  checkRange(range);
  const shape = image.shape;
  const hwc = shape.length === 4 && shape[0] === 1 ? shape.slice(1) : shape;
  if (hwc.length !== 3 || ![1, 3, 4].includes(hwc[2])) {
    throw new Error(`Expected an image [H,W,C] or [1,H,W,C] with C = 1, 3 or 4, got [${shape}]`);
  }
  const [height, width, channels] = hwc;
  const values = tf.tidy(() => toByteScale(tf.reshape(image, hwc), range).dataSync()); // [H, W, C]
  return { data: Uint8Array.from(values), height, width, channels };
}

/**
 * Convert a batch [N,H,W,C] (C = 1, 3 or 4) in `range` to N {@link RawImage}s. The caller keeps ownership
 * of the tensor.
 */
export function toRawImages(batch: tf.Tensor, opts: RangeOptions = {}): RawImage[] {
  const range = opts.range ?? "-1,1";
  checkRange(range);
  if (batch.rank !== 4 || ![1, 3, 4].includes(batch.shape[3] as number)) {
    throw new Error(`Expected images [N,H,W,C] with C = 1, 3 or 4, got [${batch.shape}]`);
  }
  const [n, height, width, channels] = batch.shape;
  const values = tf.tidy(() => toByteScale(batch, range).dataSync()); // [N, H, W, C]
  const size = height * width * channels;
  const out: RawImage[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ data: Uint8Array.from(values.subarray(i * size, (i + 1) * size)), height, width, channels });
  }
  return out;
}

/** A float32 tensor [H,W,C] with values in [0,1] from a {@link RawImage}; the caller disposes it. */
export function rawImageToTensor(img: RawImage): tf.Tensor3D {
  checkRawImage(img);
  return tf.tidy(() => tf.div(tf.tensor3d(img.data, [img.height, img.width, img.channels], "int32"), 255));
}

/**
 * Change the number of channels of a {@link RawImage}: grey is replicated to RGB, RGB becomes grey by
 * Rec. 601 luma, alpha is dropped (or added as opaque). Returns the input itself when nothing changes.
 */
export function convertChannels(img: RawImage, channels: 1 | 3 | 4): RawImage {
  checkRawImage(img);
  if (img.channels === channels) return img;
  const { height, width, data } = img;
  const src = img.channels;
  const srcHasColour = src >= 3;
  const out = new Uint8Array(height * width * channels);
  for (let p = 0; p < height * width; p++) {
    const i = p * src;
    const o = p * channels;
    if (channels === 1) {
      out[o] = srcHasColour
        ? Math.round(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2])
        : data[i];
    } else {
      out[o] = data[i];
      out[o + 1] = srcHasColour ? data[i + 1] : data[i];
      out[o + 2] = srcHasColour ? data[i + 2] : data[i];
      if (channels === 4) out[o + 3] = src === 4 ? data[i + 3] : src === 2 ? data[i + 1] : 255;
    }
  }
  return { data: out, height, width, channels };
}
