/**
 * One file format for the project's own networks: their parameters in a safetensors file, with the architecture's
 * name and its config (JSON) in the metadata, so a file says what it holds and rebuilds its model.
 *
 * @example
 * ```ts ignore
 * await saveParamFile("data/models/net.safetensors", "classifier", model.config, model.params, { dtype: "F16" });
 * const { config, tensors } = await readParamFile("data/models/net.safetensors", "classifier");
 * ```
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { HostTensor } from "../io/dtype.ts";
import { readSafetensors, writeSafetensors } from "../io/safetensors.ts";

/** Metadata key naming the architecture (also written by `convertCheckpoint` for generators). */
export const ARCH_KEY = "ganatomy.arch";
/** Metadata key holding the architecture's config as JSON. */
export const CONFIG_KEY = "ganatomy.config";

/** Options of {@link saveParamFile}. */
export interface SaveParamOptions {
  /** Stored dtype of the float parameters; default `"F32"` (`"F16"` halves the file). */
  dtype?: "F32" | "F16";
  /** More metadata (e.g. the model card's name). */
  metadata?: Record<string, string>;
}

/** Save `params` (by name), the architecture name and its config to `path` atomically. */
export async function saveParamFile(
  path: string,
  arch: string,
  config: unknown,
  params: Record<string, tf.Tensor>,
  options: SaveParamOptions = {},
): Promise<void> {
  const tensors: Record<string, HostTensor> = {};
  for (const [name, v] of Object.entries(params)) {
    tensors[name] = { dtype: "F32", shape: v.shape, data: (await v.data()) as Float32Array };
  }
  await writeSafetensors(path, tensors, {
    dtype: options.dtype ?? "F32",
    metadata: { ...options.metadata, [ARCH_KEY]: arch, [CONFIG_KEY]: JSON.stringify(config) },
  });
}

/** Read a file written by {@link saveParamFile} for `arch`; throws naming the file when it holds something else. */
export async function readParamFile<C>(
  path: string,
  arch: string,
): Promise<{ config: C; tensors: Map<string, HostTensor> }> {
  const file = await readSafetensors(path);
  if (file.metadata[ARCH_KEY] !== arch || !file.metadata[CONFIG_KEY]) {
    throw new Error(
      `${path}: not a ${arch} (metadata ${ARCH_KEY} is ${JSON.stringify(file.metadata[ARCH_KEY])})`,
    );
  }
  return { config: JSON.parse(file.metadata[CONFIG_KEY]) as C, tensors: file.tensors };
}
