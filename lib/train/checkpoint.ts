/**
 * Training checkpoints: parameters, optimiser slots and the loop's own state in one safetensors file, written
 * atomically, so a run stopped at any moment resumes where its last checkpoint left it.
 *
 * Tensors are stored by name (`param/<name>`, `opt/<slot name>`); the loop state (step, metrics so far, anything
 * JSON) goes into the file's metadata under `ganatomy.train`.
 *
 * @example
 * ```ts ignore
 * await saveCheckpoint("run/ckpt.safetensors", { params: { w }, optimizers: { g: adam }, state: { step: 10 } });
 * const state = await loadCheckpoint("run/ckpt.safetensors", { params: { w }, optimizers: { g: adam } });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { HostTensor } from "../io/dtype.ts";
import { readSafetensors, writeSafetensors } from "../io/safetensors.ts";

/** What a checkpoint holds. */
export interface CheckpointParts {
  /** Trainable (or any) variables by name; create them with stable names so optimiser slots find them again. */
  params: Record<string, tf.Variable>;
  /** Optimisers by name; their slot variables are saved and restored. */
  optimizers?: Record<string, tf.Optimizer>;
}

const STATE_KEY = "ganatomy.train";

async function hostOf(t: tf.Tensor): Promise<HostTensor> {
  // Optimiser step counters may be int32; every value here fits float32 exactly up to 2^24 steps.
  return { dtype: "F32", shape: t.shape, data: Float32Array.from(await t.data()) };
}

/** Save `parts` and a JSON `state` to `path` atomically. */
export async function saveCheckpoint(
  path: string,
  parts: CheckpointParts & { state: Record<string, unknown> },
): Promise<void> {
  const tensors: Record<string, HostTensor> = {};
  for (const [name, v] of Object.entries(parts.params)) tensors[`param/${name}`] = await hostOf(v);
  for (const [opt, optimizer] of Object.entries(parts.optimizers ?? {})) {
    // The order matters (optimisers read their iteration count first): keep it in the key.
    for (const [i, { name, tensor }] of (await optimizer.getWeights()).entries()) {
      tensors[`opt/${opt}/${String(i).padStart(5, "0")}/${name}`] = await hostOf(tensor);
      if (!(tensor instanceof tf.Variable)) tensor.dispose(); // the step counter is a fresh scalar
    }
  }
  await writeSafetensors(path, tensors, { metadata: { [STATE_KEY]: JSON.stringify(parts.state) } });
}

/**
 * Restore `parts` from `path` (variables are assigned in place, optimiser slots replaced) and return the saved
 * state. Throws naming the file and the tensor when a parameter is missing or has another shape.
 */
export async function loadCheckpoint<S = Record<string, unknown>>(
  path: string,
  parts: CheckpointParts,
): Promise<S> {
  const file = await readSafetensors(path);
  const tensorOf = (key: string, dtype: tf.DataType = "float32") => {
    const t = file.tensors.get(key)!;
    return tf.tensor(t.data as Float32Array, t.shape, dtype);
  };
  for (const [name, v] of Object.entries(parts.params)) {
    const t = file.tensors.get(`param/${name}`);
    if (!t) throw new Error(`${path}: checkpoint has no parameter "${name}"`);
    if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
      throw new Error(`${path}: parameter "${name}" has shape [${t.shape}], the model expects [${v.shape}]`);
    }
    const value = tensorOf(`param/${name}`);
    v.assign(value);
    value.dispose();
  }
  for (const [opt, optimizer] of Object.entries(parts.optimizers ?? {})) {
    const prefix = `opt/${opt}/`;
    const slots = [...file.tensors.keys()].filter((k) => k.startsWith(prefix)).sort();
    if (slots.length === 0) continue; // e.g. saved before the first step
    // Slot names name the variables they belong to, so parameters need stable names (tf.variable's `name`).
    const fresh = slots.map((k) => ({ name: k.slice(prefix.length + 6), tensor: tensorOf(k) }));
    const old = await optimizer.getWeights(); // setWeights replaces the slot variables without freeing them
    await optimizer.setWeights(fresh);
    tf.dispose([...old, ...fresh].map((w) => w.tensor)); // the new slot variables hold their own references
  }
  const state = file.metadata[STATE_KEY];
  if (state === undefined) throw new Error(`${path}: not a training checkpoint (no ${STATE_KEY} metadata)`);
  return JSON.parse(state) as S;
}
