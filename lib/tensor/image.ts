/**
 * Image value conversions between the three conventions ganatomy meets:
 * - `"-1,1"` floats: what GAN generators output (unclamped: values may overshoot);
 * - `"0,1"` floats: what segmenters and plots take;
 * - uint8 bytes 0..255: what files hold, as `Uint8Array` HWC/NHWC buffers or as int32 tensors.
 *
 * Float → uint8 clamps to the range first, then rounds half up: `byte = floor(unit * 255 + 0.5)`
 * (torchvision's `save_image` convention; -1 → 0, 0 → 128, 1 → 255). uint8 → float is exact division
 * (`byte / 255`, or `byte / 127.5 - 1`), so every byte survives a round trip unchanged.
 *
 * Shapes are free (any rank) for the elementwise conversions; the buffer functions take `[H, W, C]` or
 * `[N, H, W, C]` in row-major (channels-last) order, as image files are decoded. The caller owns every
 * returned tensor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { imageToBytes, toUint8 } from "./image.ts";
 * import { initBackend } from "../backend/backend.ts";
 *
 * await initBackend({ backend: "cpu" });
 *
 * const out = tf.tensor4d([-1.2, 0, 0.5, 1], [1, 2, 2, 1]); // a generator's (unclamped) output
 * const bytes = await imageToBytes(out);
 * assert.deepEqual(bytes, Uint8Array.of(0, 128, 191, 255)); // clamped to [-1, 1], then to 0..255
 * const t = toUint8(out); // int32 tensor with the same values
 * assert.deepEqual([t.dtype, [...t.dataSync()]], ["int32", [0, 128, 191, 255]]);
 * t.dispose();
 * out.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assertDtype, assertRank, formatShape } from "./shape.ts";

/** The value range of float images: `"-1,1"` (generator output) or `"0,1"`. */
export type FloatRange = "-1,1" | "0,1";

/** Options naming the value range of float images. */
export interface FloatRangeOptions {
  /** Range of the float values; default `"-1,1"` ([-1, 1], a generator's output). */
  range?: FloatRange;
}

/** Options of the float range conversions. */
export interface ConvertOptions {
  /** Clamp the result to its range; default false (values outside the source range map linearly). */
  clamp?: boolean;
}

/**
 * Clamp an unclamped generator output to its value range (default [-1, 1]).
 *
 * @returns A new float32 tensor of the same shape; the caller disposes it.
 */
export function clampImage(x: tf.Tensor, options: FloatRangeOptions = {}): tf.Tensor {
  const lo = (options.range ?? "-1,1") === "-1,1" ? -1 : 0;
  return tf.tidy(() => tf.clipByValue(tf.cast(x, "float32"), lo, 1));
}

/**
 * Map [-1, 1] to [0, 1]: `(x + 1) / 2`.
 *
 * @returns A new float32 tensor of the same shape; the caller disposes it.
 */
export function signedToUnit(x: tf.Tensor, options: ConvertOptions = {}): tf.Tensor {
  return tf.tidy(() => {
    const y = tf.mul(tf.add(tf.cast(x, "float32"), 1), 0.5);
    return options.clamp ? tf.clipByValue(y, 0, 1) : y;
  });
}

/**
 * Map [0, 1] to [-1, 1]: `2x - 1`.
 *
 * @returns A new float32 tensor of the same shape; the caller disposes it.
 */
export function unitToSigned(x: tf.Tensor, options: ConvertOptions = {}): tf.Tensor {
  return tf.tidy(() => {
    const y = tf.sub(tf.mul(tf.cast(x, "float32"), 2), 1);
    return options.clamp ? tf.clipByValue(y, -1, 1) : y;
  });
}

/**
 * Float image → uint8 values as an int32 tensor: clamp to the range, then `floor(unit * 255 + 0.5)`.
 *
 * @returns A new int32 tensor of the same shape with values in 0..255; the caller disposes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { toUint8 } from "./image.ts";
 * import { initBackend } from "../backend/backend.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const x = tf.tensor1d([-1, -0.5, 0, 1, 3]);
 * const b = toUint8(x);
 * assert.deepEqual(b.arraySync(), [0, 64, 128, 255, 255]);
 * tf.dispose([x, b]);
 * ```
 */
export function toUint8(x: tf.Tensor, options: FloatRangeOptions = {}): tf.Tensor {
  return tf.tidy(() => {
    const xf = tf.cast(x, "float32");
    // [-1, 1] → [0, 255] as (x + 1) * 127.5 directly, one rounding fewer than going through [0, 1].
    const scaled = (options.range ?? "-1,1") === "-1,1" ? tf.mul(tf.add(xf, 1), 127.5) : tf.mul(xf, 255);
    return tf.cast(tf.floor(tf.add(tf.clipByValue(scaled, 0, 255), 0.5)), "int32");
  });
}

/**
 * uint8 values (a tensor of any numeric dtype, values 0..255) → float image in the range:
 * `byte / 255` for `"0,1"`, `byte / 127.5 - 1` for `"-1,1"`.
 *
 * @returns A new float32 tensor of the same shape; the caller disposes it.
 */
export function fromUint8(x: tf.Tensor, options: FloatRangeOptions = {}): tf.Tensor {
  return tf.tidy(() => {
    const xf = tf.cast(x, "float32");
    return (options.range ?? "-1,1") === "-1,1" ? tf.sub(tf.div(xf, 127.5), 1) : tf.div(xf, 255);
  });
}

/**
 * Read an int32 tensor of uint8 values (`[H, W, C]` or `[N, H, W, C]`) into a `Uint8Array` in the same
 * row-major order.
 *
 * @throws Error if the tensor is not int32 or holds a value outside 0..255 (use {@link imageToBytes} for floats).
 */
export async function toBytes(x: tf.Tensor): Promise<Uint8Array> {
  assertRank(x, [3, 4], { name: "x" });
  assertDtype(x, "int32", { name: "x" });
  const values = await x.data();
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < 0 || v > 255) throw new Error(`x: Expected uint8 values 0..255, got ${v} at flat index ${i}`);
    bytes[i] = v;
  }
  return bytes;
}

/**
 * Wrap a row-major `Uint8Array` as an int32 tensor of the given shape (`[H, W, C]` or `[N, H, W, C]`).
 *
 * @returns A new int32 tensor; the caller disposes it.
 * @throws Error if the buffer's length does not match the shape.
 */
export function fromBytes(bytes: Uint8Array, shape: readonly number[]): tf.Tensor {
  assertRank(shape, [3, 4], { name: "shape" });
  const size = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== size) {
    throw new Error(`bytes: Expected ${size} values for shape ${formatShape(shape)}, got ${bytes.length}`);
  }
  return tf.tensor(Int32Array.from(bytes), [...shape], "int32");
}

/**
 * Float image (`[H, W, C]` or `[N, H, W, C]`) → `Uint8Array`, clamped and rounded as {@link toUint8}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { imageToBytes } from "./image.ts";
 * import { initBackend } from "../backend/backend.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const x = tf.zeros([2, 2, 3]);
 * const bytes = await imageToBytes(x, { range: "0,1" });
 * assert.deepEqual(bytes, new Uint8Array(12)); // 12 zeros
 * x.dispose();
 * ```
 */
export async function imageToBytes(x: tf.Tensor, options: FloatRangeOptions = {}): Promise<Uint8Array> {
  assertRank(x, [3, 4], { name: "x" });
  const u = toUint8(x, options);
  try {
    return await toBytes(u);
  } finally {
    u.dispose();
  }
}

/**
 * `Uint8Array` (`[H, W, C]` or `[N, H, W, C]`, row-major) → float32 image in the range, as {@link fromUint8}.
 *
 * @returns A new float32 tensor; the caller disposes it.
 */
export function bytesToImage(
  bytes: Uint8Array,
  shape: readonly number[],
  options: FloatRangeOptions = {},
): tf.Tensor {
  return tf.tidy(() => fromUint8(fromBytes(bytes, shape), options));
}
