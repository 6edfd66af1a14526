/**
 * Identification methods behind one interface: each ranks the units of one layer by how much they cause
 * artifacts, from what a user has (the generator, labelled seeds, artifact masks, an artifact classifier). They
 * differ only in how they score a unit, as pytorch-grad-cam's CAM methods differ only in their weights:
 *
 * | name          | file                 | needs                 | score of unit u                                        |
 * |---------------|----------------------|-----------------------|--------------------------------------------------------|
 * | `ds1`, `ds2`  | `rank_ds.ts`         | masks                 | defective score, formula (1) / (2) (Tousi et al.)      |
 * | `rarity`      | `rank_rarity.ts`     | normal (≥ 2 seeds)    | firing rate on artifact seeds over that on normal ones |
 * | `ablation`    | `rank_ablation.ts`   | classifier            | drop of p(artifact) when u alone is ablated            |
 * | `random`      | `rank_random.ts`     | —                     | uniform, seeded                                        |
 *
 * The defective scores with the truth masks of a planted fault (`lib/planted/`) are `ds1`/`ds2` given those masks.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { GeneratorRunner } from "../engine/select.ts";
import type { ArtifactMaskFn } from "./defective_score.ts";

/** An artifact classifier as the rankers use it: the artifact probability of each image. */
export interface ArtifactProbability {
  artifactProbability(images: tf.Tensor4D): Promise<Float32Array>;
}

/** What a ranker may use; each reads only what its `needs` names, besides the generator and the seeds. */
export interface RankInputs {
  gen: GeneratorRunner;
  layer: string;
  /** Seeds labelled artifact (the fit set). */
  artifact: readonly number[];
  /** Seeds labelled normal. */
  normal: readonly number[];
  /** Artifact masks of generated images (CAM masks, or a planting's truth masks). */
  masks?: ArtifactMaskFn;
  /** The artifact classifier. */
  classifier?: ArtifactProbability;
  /** Unit thresholds: `P(a_u > T_u) = tau`; default 0.005. */
  tau?: number;
  /** Seeds whose activations set the thresholds of the defective scores; default artifact and normal seeds. */
  thresholdSeeds?: readonly number[];
  /** Images per generator run; default 32. */
  batch?: number;
  /** Seed of random choices; default 0. */
  seed?: number;
  /** Rankers that run once per unit (ablation) average over at most this many artifact seeds; default 64. */
  perUnitSeeds?: number;
}

/** An input a ranker may need. */
export type Need = "masks" | "classifier" | "normal";

/** The needs of `ranker` that `inputs` do not meet. */
export function unmetNeeds(ranker: Ranker, inputs: RankInputs): Need[] {
  return ranker.needs.filter((need) => need === "normal" ? inputs.normal.length < 2 : !inputs[need]);
}

/** An identification method. */
export interface Ranker {
  name: string;
  /** The row label in tables. */
  label: string;
  /** What it reads besides the generator and the artifact seeds; `normal`: at least two normal seeds. */
  needs: readonly Need[];
  /** One score per unit of `inputs.layer`; higher = more likely a cause. */
  scores(inputs: RankInputs): Promise<Float64Array>;
}

/** Throws naming the ranker and what it lacks. */
export function checkInputs(ranker: Ranker, inputs: RankInputs): void {
  for (const need of unmetNeeds(ranker, inputs)) {
    const what = need === "normal"
      ? `no normal seeds (needs at least 2, got ${inputs.normal.length})`
      : `needs ${need}`;
    throw new Error(`ranker ${ranker.name}: ${what}`);
  }
  if (inputs.artifact.length === 0) throw new Error(`ranker ${ranker.name}: no artifact seeds`);
}
