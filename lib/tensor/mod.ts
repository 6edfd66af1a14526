/**
 * Typed tensor helpers on tfjs-core, NHWC throughout: shape assertions, image value conversions,
 * PyTorch-exact bilinear resizing, exact per-channel quantiles, batched mask IoU and backend-independent
 * seeded latents; and dense float64 linear algebra on plain arrays (`linalg.ts`, under the moments and
 * the FID).
 *
 * Every function returning tensors computes in `tf.tidy` (or releases its intermediates) and hands the
 * returned tensors to the caller, who disposes them.
 *
 * @example
 * ```ts
 * import { channelIoU, latents, quantiles, resizeBilinear, thresholdByChannel } from "./mod.ts";
 * ```
 * @module
 */
export * from "./shape.ts";
export * from "./image.ts";
export * from "./upsample.ts";
export * from "./quantile.ts";
export * from "./mask.ts";
export * from "./rng.ts";
export * from "./variable.ts";
export * from "./linalg.ts";
export * from "./host.ts";
