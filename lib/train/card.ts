/**
 * Model cards: one typed writer for every trainer (`<models>/<name>.json` beside `<name>.safetensors`).
 *
 * A card says what the model is (architecture), what it learnt from (data), how it was trained (command, recipe,
 * steps, wall time, trainer, backend, git revision), the weights' file, dtype and SHA-256 (computed here), and
 * its metrics. `deno task card:gan` later adds an `evaluation`; a card rewritten for the same weights keeps it,
 * one rewritten for new weights drops it (its numbers described the old ones).
 *
 * @example
 * ```ts
 * import { strict as assert } from "node:assert";
 * import { join } from "node:path";
 * import { writeModelCard } from "./card.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(join(dir, "tiny.safetensors"), new Uint8Array([1, 2, 3]));
 * const card = await writeModelCard(dir, {
 *   name: "tiny",
 *   arch: "pggan",
 *   architecture: { sizes: [8, 8] },
 *   data: "none",
 *   training: { command: "deno task train:gan", recipe: {}, steps: 0, seconds: 0, trainer: "ganatomy (tfjs)" },
 *   dtype: "F32",
 * });
 * assert.equal(card.weights.sha256, "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81");
 * ```
 * @module
 */
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.ts";
import { sha256File } from "../io/hash.ts";
import { gitRevision } from "../util/meta.ts";

/** How a model was trained. */
export interface TrainingRecord {
  /** The command that trains (and resumes) it. */
  command: string;
  /** Everything that shapes the model or its data stream. */
  recipe: Record<string, unknown>;
  steps: number;
  /** Wall time of all the training, over resumed runs. */
  seconds: number;
  /** Which trainer: e.g. "ganatomy (tfjs, wasm)" or "experiments/train_gan_torch.py (PyTorch 1.13, CPU)". */
  trainer: string;
  /** Further facts (loss, optimiser, backend, threads, …). */
  [detail: string]: unknown;
}

/** What a trainer tells {@link writeModelCard}. */
export interface ModelCardInput {
  name: string;
  arch: string;
  /** Shape and layout of the network (classifiers and segmenters; generators give `fields` instead). */
  architecture?: Record<string, unknown>;
  /** Further top-level fields, after `arch` (a generator's `sizes`, `resolution`, `channels`, `stages`). */
  fields?: Record<string, unknown>;
  /** What it learnt from. */
  data: unknown;
  training: TrainingRecord;
  /** Dtype of the shipped weights file `<name>.safetensors`. */
  dtype: "F16" | "F32";
  /** Measurements at the end of training. */
  metrics?: Record<string, unknown>;
  /** A sample image of the model (path). */
  samples?: string;
}

/** The card as written. */
export interface ModelCard {
  name: string;
  arch: string;
  architecture?: Record<string, unknown>;
  data: unknown;
  training: TrainingRecord & { wall_seconds: number; git: string };
  [field: string]: unknown;
  weights: { file: string; dtype: string; sha256: string };
  samples?: string;
  metrics?: Record<string, unknown>;
  evaluation?: { weights_sha256?: string; [k: string]: unknown };
}

/** Write `<models>/<name>.json` for the weights `<models>/<name>.safetensors` (see the module documentation). */
export async function writeModelCard(models: string, input: ModelCardInput): Promise<ModelCard> {
  const file = `${input.name}.safetensors`;
  const sha256 = await sha256File(join(models, file));
  const path = join(models, `${input.name}.json`);
  let evaluation: ModelCard["evaluation"];
  try {
    const old = JSON.parse(await Deno.readTextFile(path)) as ModelCard;
    if (old.evaluation?.weights_sha256 === sha256) evaluation = old.evaluation;
  } catch {
    // no card yet
  }
  const { seconds, ...training } = input.training;
  // Wall time is a whole number of seconds on the card, as the trainers always wrote it.
  const card: ModelCard = {
    name: input.name,
    arch: input.arch,
    ...(input.fields ?? {}),
    ...(input.architecture ? { architecture: input.architecture } : {}),
    data: input.data,
    training: { ...training, wall_seconds: Math.round(seconds), git: gitRevision() } as ModelCard["training"],
    weights: { file, dtype: input.dtype, sha256 },
    ...(input.samples ? { samples: input.samples } : {}),
    ...(input.metrics ? { metrics: input.metrics } : {}),
    ...(evaluation ? { evaluation } : {}),
  };
  await writeJsonAtomic(path, card);
  return card;
}
