/**
 * The parameters of the project's own networks (the segmenter, the classifier) from named weights: every
 * parameter a network's config asks for must be there with its exact shape, and becomes a tfjs variable named
 * under a scope unique in the process. One loop serves every network, so their checks and messages agree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { variablesFromWeights } from "./weights.ts";
 * await initBackend({ backend: "cpu" });
 * const shapes = { "fc.weight": [2, 3], "fc.bias": [3] };
 * const weights = {
 *   "fc.weight": { dtype: "F32" as const, shape: [2, 3], data: new Float32Array(6) },
 *   "fc.bias": { dtype: "F32" as const, shape: [3], data: new Float32Array(3) },
 * };
 * const params = variablesFromWeights("toy", shapes, weights);
 * assert.deepEqual([params["fc.weight"].name, params["fc.bias"].name], ["toy/fc.weight", "toy/fc.bias"]);
 * tf.dispose(Object.values(params));
 * assert.throws(() => variablesFromWeights("toy", shapes, {}), /^Error: toy: missing parameter "fc.weight"/);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { HostTensor } from "../io/dtype.ts";
import { variableFrom } from "../tensor/variable.ts";

/** Networks made so far in this process, by kind (for default variable scopes). */
const made = new Map<string, number>();

/**
 * Variables for every parameter of `shapes` (by name, in its order), from `weights`; each is named
 * `<scope>/<name>`. The default scope is `kind` for the first network of that kind in the process, then
 * `kind#1`, `kind#2`, … (variable names must be unique while they live).
 *
 * @param kind The network's name in errors and default scopes, e.g. `"classifier"`.
 * @throws Error `<kind>: missing parameter "<name>"` or `<kind>: parameter "<name>" has shape […], expected
 *   […]`; the variables made before it are freed.
 */
export function variablesFromWeights(
  kind: string,
  shapes: Readonly<Record<string, readonly number[]>>,
  weights: Readonly<Record<string, HostTensor>> | ReadonlyMap<string, HostTensor>,
  scope?: string,
): Record<string, tf.Variable> {
  const count = made.get(kind) ?? 0;
  made.set(kind, count + 1);
  const prefix = scope ?? (count === 0 ? kind : `${kind}#${count}`);
  const get = (name: string): HostTensor | undefined =>
    weights instanceof Map ? weights.get(name) : (weights as Readonly<Record<string, HostTensor>>)[name];
  const params: Record<string, tf.Variable> = {};
  try {
    for (const [name, shape] of Object.entries(shapes)) {
      const w = get(name);
      if (!w) throw new Error(`${kind}: missing parameter "${name}"`);
      if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`${kind}: parameter "${name}" has shape [${w.shape}], expected [${shape}]`);
      }
      params[name] = variableFrom(Float32Array.from(w.data as Float32Array), [...shape], `${prefix}/${name}`);
    }
  } catch (e) {
    tf.dispose(Object.values(params));
    throw e;
  }
  return params;
}
