/**
 * The one place where PyTorch's tensor layouts become ganatomy's (TensorFlow.js) layouts. Checkpoint
 * readers return tensors as PyTorch stores them; the model loaders convert them here, on host memory,
 * before building tfjs tensors.
 *
 * | PyTorch                                    | ganatomy / tfjs                         | function                      |
 * | ------------------------------------------ | --------------------------------------- | ----------------------------- |
 * | activations `[N, C, H, W]`                 | `[N, H, W, C]`                          | {@link toNHWC}                |
 * | `Conv2d.weight` `[O, I, kH, kW]`           | `conv2d` filter `[kH, kW, I, O]`        | {@link convWeightToHWIO}      |
 * | `ConvTranspose2d.weight` `[I, O, kH, kW]`  | `conv2dTranspose` filter `[kH, kW, O, I]` | {@link convTransposeWeightToHWOI} |
 * | `Linear.weight` `[O, I]`                   | `matMul(x, w)` weight `[I, O]`          | {@link linearWeightToIO}      |
 *
 * All functions return a new contiguous tensor and leave their input unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convWeightToHWIO } from "./layout.ts";
 * // Conv2d(in=1, out=2, kernel 1×1) weight: [O, I, kH, kW] = [2, 1, 1, 1]
 * const w = { dtype: "F32" as const, shape: [2, 1, 1, 1], data: new Float32Array([5, 7]) };
 * const hwio = convWeightToHWIO(w);
 * assert.deepEqual([hwio.shape, hwio.data], [[1, 1, 1, 2], Float32Array.of(5, 7)]);
 * ```
 * @module
 */
import { checkHostTensor, gatherStrided, HostTensor } from "./dtype.ts";

/** Options of the layout conversions. */
export interface LayoutOptions {
  /** Name of the tensor (e.g. its state-dict key) for error messages; default `"tensor"`. */
  name?: string;
}

/**
 * Reorders the axes of `t`: output axis `i` is input axis `perm[i]` (like `torch.permute` / `tf.transpose`).
 * Throws unless `perm` is a permutation of the axes of `t`.
 */
export function permute(t: HostTensor, perm: readonly number[], options: LayoutOptions = {}): HostTensor {
  const name = options.name ?? "tensor";
  checkHostTensor(t, name);
  const rank = t.shape.length;
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`${name}: [${perm}] is not a permutation of the ${rank} axes of shape [${t.shape}]`);
  }
  const shape = perm.map((p) => t.shape[p]);
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= t.shape[i];
  }
  const stride = perm.map((p) => inStrides[p]);
  return { dtype: t.dtype, shape, data: gatherStrided(t.data, { offset: 0, shape, stride }) };
}

function expectRank(t: HostTensor, rank: number, axes: string, options: LayoutOptions): void {
  if (t.shape.length !== rank) {
    throw new Error(`${options.name ?? "tensor"}: Expected [${axes}], got [${t.shape}]`);
  }
}

/** PyTorch activations `[N, C, H, W]` → `[N, H, W, C]`. */
export function toNHWC(t: HostTensor, options: LayoutOptions = {}): HostTensor {
  expectRank(t, 4, "N,C,H,W", options);
  return permute(t, [0, 2, 3, 1], options);
}

/** `Conv2d.weight` `[O, I, kH, kW]` → the `tf.conv2d` filter `[kH, kW, I, O]`. */
export function convWeightToHWIO(t: HostTensor, options: LayoutOptions = {}): HostTensor {
  expectRank(t, 4, "O,I,kH,kW", options);
  return permute(t, [2, 3, 1, 0], options);
}

/**
 * `ConvTranspose2d.weight` `[I, O, kH, kW]` (PyTorch puts input channels first here) → the
 * `tf.conv2dTranspose` filter `[kH, kW, O, I]`.
 */
export function convTransposeWeightToHWOI(t: HostTensor, options: LayoutOptions = {}): HostTensor {
  expectRank(t, 4, "I,O,kH,kW", options);
  return permute(t, [2, 3, 1, 0], options);
}

/** `Linear.weight` `[O, I]` → `[I, O]`, so that `y = matMul(x, w)` for `x` of shape `[N, I]`. */
export function linearWeightToIO(t: HostTensor, options: LayoutOptions = {}): HostTensor {
  expectRank(t, 2, "O,I", options);
  return permute(t, [1, 0], options);
}
