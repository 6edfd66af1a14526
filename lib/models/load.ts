/**
 * Load generators from checkpoint files and save them in the project's own format.
 *
 * - `.pth` / `.pt`: a PyTorch state dict (zip or legacy pickle, read without executing code); conv weights are
 *   converted from OIHW to HWIO here, through `lib/io/layout.ts`.
 * - `.safetensors`: the project's own format (HWIO, metadata `ganatomy.layout = "nhwc"`), or a PyTorch-layout
 *   file (no such metadata), converted like a `.pth`.
 *
 * The architecture is inferred from the keys through {@link ARCHITECTURES}, a table so that more architectures
 * can join.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadGenerator } from "./load.ts";
 * const model = await loadGenerator("tests/fixtures/pggan/pggan16_zip.pth");
 * assert.deepEqual([model.arch, model.resolution], ["pggan", 16]);
 * ```
 * @module
 */
import { extname } from "node:path";
import type { HostTensor } from "../io/dtype.ts";
import { convWeightToHWIO } from "../io/layout.ts";
import { readPth } from "../io/pth.ts";
import { readSafetensors, writeSafetensors } from "../io/safetensors.ts";
import { ARCH_KEY } from "./param_file.ts";
import { isPgganKeys, pgganFromWeights, renameOldPgganKeys } from "./pggan.ts";
import type { GeneratorDescription, Weight } from "./stages.ts";

/** Metadata key and value marking a safetensors file whose weights are already NHWC/HWIO. */
export const LAYOUT_KEY = "ganatomy.layout";

/** An architecture the loaders know: how to recognise its keys and build its description. */
export interface Architecture {
  name: string;
  matches(keys: string[]): boolean;
  /** The weights under the architecture's current key names (old checkpoints used others). */
  normalize(weights: Record<string, Weight>): Record<string, Weight>;
  /** Build from weights in HWIO layout, unscaled, as stored. */
  build(weights: Record<string, Weight>): GeneratorDescription;
}

/** Known generator architectures, tried in order. */
export const ARCHITECTURES: Architecture[] = [
  { name: "pggan", matches: isPgganKeys, normalize: renameOldPgganKeys, build: (w) => pgganFromWeights(w) },
];

function asWeight(t: HostTensor, key: string, source: string): Weight {
  if (!(t.data instanceof Float32Array)) {
    throw new Error(
      `${source}: "${key}" has dtype ${t.dtype}; generator weights must be float (F32/F16/BF16)`,
    );
  }
  return { shape: t.shape, data: t.data };
}

/** Read a checkpoint's weights in HWIO layout (unscaled), whatever its format. */
export async function readGeneratorWeights(path: string): Promise<Record<string, Weight>> {
  const ext = extname(path).toLowerCase();
  let tensors: Map<string, HostTensor>;
  let pytorchLayout = true;
  if (ext === ".pth" || ext === ".pt") {
    tensors = await readPth(path);
  } else if (ext === ".safetensors") {
    const file = await readSafetensors(path);
    tensors = file.tensors;
    pytorchLayout = file.metadata[LAYOUT_KEY] !== "nhwc";
  } else {
    throw new Error(`${path}: unknown checkpoint format "${ext}"; expected .pth, .pt or .safetensors`);
  }
  const weights: Record<string, Weight> = {};
  for (const [key, t] of tensors) {
    const hwio = pytorchLayout && t.shape.length === 4 ? convWeightToHWIO(t, { name: `${path}: ${key}` }) : t;
    weights[key] = asWeight(hwio, key, path);
  }
  return weights;
}

function architectureOf(path: string, weights: Record<string, Weight>): Architecture {
  const keys = Object.keys(weights);
  const arch = ARCHITECTURES.find((a) => a.matches(keys));
  if (!arch) {
    throw new Error(
      `${path}: no known generator architecture matches its keys (${keys.slice(0, 6).join(", ")}` +
        `${keys.length > 6 ? ", …" : ""}); known: ${ARCHITECTURES.map((a) => a.name).join(", ")}`,
    );
  }
  return arch;
}

/** Load a generator description from a checkpoint file (see the module documentation). */
export async function loadGenerator(path: string): Promise<GeneratorDescription> {
  const weights = await readGeneratorWeights(path);
  const arch = architectureOf(path, weights);
  try {
    return arch.build(weights);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/**
 * Convert a checkpoint to the project's safetensors format: the same keys, unscaled weights in HWIO layout,
 * metadata naming the layout and architecture. Verifies that the result loads before returning.
 */
export async function convertCheckpoint(input: string, output: string): Promise<GeneratorDescription> {
  const weights = await readGeneratorWeights(input);
  const arch = architectureOf(input, weights);
  arch.build(weights); // fails here, naming the input, if the weights do not fit the architecture
  await writeGeneratorWeights(output, arch.normalize(weights), arch.name);
  return loadGenerator(output);
}

/**
 * Write unscaled HWIO weights (as {@link readGeneratorWeights} returns them) as the project's safetensors
 * checkpoint, which every command's `--checkpoint` reads; atomic.
 */
export async function writeGeneratorWeights(
  path: string,
  weights: Record<string, Weight>,
  arch = "pggan",
): Promise<void> {
  const tensors: Record<string, HostTensor> = {};
  for (const [key, w] of Object.entries(weights)) {
    tensors[key] = { dtype: "F32", shape: w.shape, data: w.data };
  }
  await writeSafetensors(path, tensors, { metadata: { [LAYOUT_KEY]: "nhwc", [ARCH_KEY]: arch } });
}
