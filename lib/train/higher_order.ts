/**
 * Second-order gradients (R1, gradient penalties) need the gradient of a gradient. tfjs's gradients of
 * LeakyRelu, Relu, Maximum, … use comparison kernels (`Greater`, `GreaterEqual`, …) that have no gradient of their
 * own, so differentiating through them fails. Comparisons are piecewise constant: their gradient is zero almost
 * everywhere, which is what this registers.
 *
 * @example
 * ```ts
 * import { registerComparisonGradients } from "./higher_order.ts";
 * registerComparisonGradients(); // idempotent; call before taking gradients of gradients
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

const COMPARISONS = ["Greater", "GreaterEqual", "Less", "LessEqual", "Equal", "NotEqual"];

/** Register zero gradients for the comparison kernels (once; later calls do nothing). */
export function registerComparisonGradients(): void {
  for (const kernelName of COMPARISONS) {
    if (tf.getGradient(kernelName) !== undefined) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: ["a", "b"],
      gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => ({
        a: () => tf.zerosLike(saved[0]),
        b: () => tf.zerosLike(saved[1]),
      }),
    });
  }
}
