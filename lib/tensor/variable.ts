/**
 * Variables from host data without leaking the initial tensor (`tf.variable(tf.tensor(…))` keeps both alive).
 *
 * @example
 * ```ts
 * import { initBackend } from "../backend/backend.ts";
 * import { variableFrom } from "./variable.ts";
 * await initBackend({ backend: "cpu" });
 * const w = variableFrom(new Float32Array([1, 2, 3, 4]), [2, 2], "example/w");
 * w.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** A float32 variable holding `data` with `shape`, named `name` (names must be unique while it lives). */
export function variableFrom(
  data: Float32Array,
  shape: number[],
  name: string,
  trainable = true,
): tf.Variable {
  const initial = tf.tensor(data, shape, "float32");
  try {
    return tf.variable(initial, trainable, name);
  } finally {
    initial.dispose();
  }
}
