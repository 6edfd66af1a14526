/**
 * Resizing of NHWC feature maps: bilinear with PyTorch's two conventions, and nearest-neighbour
 * upsampling by an integer factor (progressive GAN's `upscale2d`).
 *
 * {@link resizeBilinear} equals `torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear",
 * align_corners=...)` for upsampling, downsampling and non-integer ratios:
 * - `alignCorners: false` (PyTorch's default): output pixel `i` samples input coordinate
 *   `max(0, (i + 0.5) * in / out - 0.5)`, the half-pixel convention;
 * - `alignCorners: true`: it samples `i * (in - 1) / (out - 1)` (and 0 when `out` is 1), so the corner
 *   pixels of input and output coincide.
 *
 * How it is computed, and why: tfjs's `tf.image.resizeBilinear(x, size, alignCorners, halfPixelCenters)`
 * with `halfPixelCenters = !alignCorners` reproduces PyTorch's forward pass in both conventions on the cpu
 * and wasm backends (max deviation 1e-6 on `tests/fixtures/upsample.json`), so the forward pass uses it.
 * Its gradient kernel, however, ignores `halfPixelCenters` (tfjs 4.22, cpu and wasm), which makes the
 * gradient wrong by O(1) for `alignCorners: false`. The gradient is therefore computed here, exactly, as
 * the transposed separable interpolation: `dx = Aₕᵀ · dy · A_w` with the matrices of
 * {@link interpolationMatrix}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { resizeBilinear, upsampleNearest } from "./upsample.ts";
 * import { initBackend } from "../backend/backend.ts";
 *
 * await initBackend({ backend: "cpu" });
 *
 * const x = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
 * const y = resizeBilinear(x, [3, 3], { alignCorners: true });
 * assert.deepEqual([...y.dataSync()], [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3]); // 3 rows of 3
 * const z = upsampleNearest(x);
 * assert.deepEqual(z.shape, [1, 4, 4, 1]);
 * tf.dispose([x, y, z]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assertImageBatch } from "./shape.ts";

/** Options of {@link resizeBilinear} and {@link interpolationMatrix}. */
export interface BilinearOptions {
  /** PyTorch's `align_corners`; default false (PyTorch's default, the half-pixel convention). */
  alignCorners?: boolean;
}

/**
 * The 1-D linear interpolation matrix `A` `[out, inSize]` of PyTorch's convention: resizing a signal `v`
 * of length `inSize` to `out` samples is `A · v`. Each row has at most two non-zero weights summing to 1.
 *
 * Bilinear resizing is separable: `Y[n, :, :, c] = Aₕ · X[n, :, :, c] · A_wᵀ`.
 *
 * @returns A `Float32Array` of `out * inSize` weights, row-major (row = output index).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interpolationMatrix } from "./upsample.ts";
 * // rows [1, 0], [.75, .25], [.25, .75], [0, 1]
 * assert.deepEqual(interpolationMatrix(2, 4), Float32Array.of(1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1));
 * ```
 */
export function interpolationMatrix(
  inSize: number,
  out: number,
  options: BilinearOptions = {},
): Float32Array {
  checkSize(inSize, "inSize");
  checkSize(out, "out");
  const a = new Float32Array(out * inSize);
  const alignCorners = options.alignCorners ?? false;
  for (let i = 0; i < out; i++) {
    let src: number;
    if (alignCorners) {
      src = out > 1 ? i * (inSize - 1) / (out - 1) : 0;
    } else {
      src = Math.max(0, (i + 0.5) * inSize / out - 0.5);
    }
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const frac = src - i0;
    a[i * inSize + i0] += 1 - frac;
    a[i * inSize + i1] += frac;
  }
  return a;
}

/** float32 as is (a no-op cast would be a tape op without a registered gradient), else a cast copy. */
function toFloat(x: tf.Tensor): tf.Tensor {
  return x.dtype === "float32" ? x : tf.cast(x, "float32");
}

function checkSize(v: number, name: string): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: Expected a positive integer, got ${v}`);
}

/**
 * Bilinear resize of an NHWC batch to `size`, as PyTorch's `interpolate(mode="bilinear")` (see the module
 * doc for the two conventions). Differentiable, with an exact gradient in both conventions.
 *
 * @param x `[N, H, W, C]`, any numeric dtype (computed in float32).
 * @param size `[height, width]` of the output, or one number for a square output.
 * @param options `alignCorners` (default false).
 * @returns `[N, height, width, C]` float32; the caller disposes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { resizeBilinear } from "./upsample.ts";
 * import { initBackend } from "../backend/backend.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const acts = tf.randomUniform([2, 4, 4, 8]);
 * const up = resizeBilinear(acts, 64); // half-pixel convention
 * assert.deepEqual(up.shape, [2, 64, 64, 8]);
 * tf.dispose([acts, up]);
 * ```
 */
export function resizeBilinear(
  x: tf.Tensor,
  size: number | readonly [number, number],
  options: BilinearOptions = {},
): tf.Tensor4D {
  const { n, h, w, c } = assertImageBatch(x, "x");
  const [outH, outW] = typeof size === "number" ? [size, size] : size;
  checkSize(outH, "size[0]");
  checkSize(outW, "size[1]");
  const alignCorners = options.alignCorners ?? false;
  const resize = tf.customGrad((...inputs) => {
    const input = inputs[0] as tf.Tensor4D;
    const value = tf.image.resizeBilinear(input, [outH, outW], alignCorners, !alignCorners);
    const gradFunc = (dy: tf.Tensor4D) => {
      // dx = Aₕᵀ · dy · A_w, one axis at a time as broadcast batched matMuls.
      const aw = tf.tensor2d(interpolationMatrix(w, outW, { alignCorners }), [outW, w]);
      const ah = tf.tensor2d(interpolationMatrix(h, outH, { alignCorners }), [outH, h]);
      const byRow = tf.reshape(dy, [n * outH, outW, c]); // [N*outH, outW, C]
      const alongW = tf.matMul(aw, byRow, true, false); // [N*outH, W, C]
      const byImage = tf.reshape(alongW, [n, outH, w * c]); // [N, outH, W*C]
      const alongH = tf.matMul(ah, byImage, true, false); // [N, H, W*C]
      return tf.reshape(alongH, [n, h, w, c]); // [N, H, W, C]
    };
    return { value, gradFunc };
  });
  return tf.tidy(() => resize(toFloat(x)) as tf.Tensor4D);
}

/** Options of {@link upsampleNearest}. */
export interface NearestOptions {
  /** Integer upsampling factor; default 2. */
  factor?: number;
}

/**
 * Nearest-neighbour upsampling by an integer factor: each pixel becomes a `factor × factor` block
 * (progressive GAN's `upscale2d`; PyTorch's `interpolate(mode="nearest", scale_factor=factor)`).
 * Differentiable: the gradient sums each block.
 *
 * @param x `[N, H, W, C]`, any numeric dtype (computed in float32).
 * @returns `[N, H·factor, W·factor, C]` float32; the caller disposes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { upsampleNearest } from "./upsample.ts";
 * import { initBackend } from "../backend/backend.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
 * const y = upsampleNearest(x);
 * assert.deepEqual([...y.dataSync()], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]); // 2x2 blocks
 * tf.dispose([x, y]);
 * ```
 */
export function upsampleNearest(x: tf.Tensor, options: NearestOptions = {}): tf.Tensor4D {
  const { n, h, w, c } = assertImageBatch(x, "x");
  const f = options.factor ?? 2;
  checkSize(f, "factor");
  const upsample = tf.customGrad((...inputs) => {
    const input = inputs[0] as tf.Tensor4D;
    // With an integer factor and no half-pixel shift, tfjs's nearest kernel picks floor(i / f): exact.
    const value = tf.image.resizeNearestNeighbor(input, [h * f, w * f], false, false);
    const gradFunc = (dy: tf.Tensor4D) => {
      const blocks = tf.reshape(dy, [n, h, f, w, f, c]); // [N, H, f, W, f, C]
      return tf.sum(blocks, [2, 4]); // [N, H, W, C]
    };
    return { value, gradFunc };
  });
  return tf.tidy(() => upsample(toFloat(x)) as tf.Tensor4D);
}
