/**
 * Baseline unit rankings the defective scores are compared with.
 *
 * - **Random units** ({@link randomScores}): a seeded random order; what any ranking must beat.
 * - **FID-based units** ({@link fidBasedScores}), GAN Dissection's way of finding artifact units (Bau et al. 2019,
 *   section 4.3): for every unit, the generations on which it fires most strongly (its top `topK` images by
 *   maximum activation) are compared with real images by the Fréchet distance of their features; the units whose
 *   top images are least realistic (highest FD) rank first.
 *
 * The per-unit FD is computed on `topK` images only, so with a feature dimension close to `topK` its covariance
 * is nearly singular and the value biased upwards; every unit has the same bias, so the ranking is what counts.
 * Keep `topK` above the feature dimension (the domain networks have 64 features).
 *
 * @example
 * ```ts
 * import { randomScores } from "./baselines.ts";
 * import { rankUnits } from "./defective_score.ts";
 * rankUnits(randomScores(8, { seed: 1 })).slice(0, 2); // two random units of an 8-unit layer, by seed
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Edits } from "../engine/edits.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import type { FeatureExtractor } from "../models/features.ts";
import { frechetDistance, type GaussianStats } from "../metrics/fid.ts";
import { stageIndex } from "../models/stages.ts";
import { RunningMoments } from "../stats/moments.ts";
import { RunningTopK } from "../stats/topk.ts";
import { latents, Rng } from "../tensor/rng.ts";
import { progress } from "../util/progress.ts";

/** Random scores in [0, 1) for `units` units, by seed: ranking them gives a random order. */
export function randomScores(units: number, options: { seed?: number } = {}): Float64Array {
  const rng = new Rng(options.seed ?? 0);
  return Float64Array.from({ length: units }, () => rng.uniform());
}

/** Options of {@link fidBasedScores}. */
export interface FidBasedOptions {
  /** Latent seeds of the generations the top images are drawn from. */
  seeds: readonly number[];
  /** Features the FD is measured in (a domain network, or Inception). */
  extractor: FeatureExtractor;
  /** The real images' Gaussian in those features. */
  real: GaussianStats;
  /** Top images per unit; default 100. */
  topK?: number;
  /** Edits applied while generating; default none. */
  edits?: Edits;
  /** Images per generator run; default 32. */
  batch?: number;
  /** Report progress on stderr; default true. */
  progress?: boolean;
}

/**
 * The FD of every unit's top-activating generations against real images, `[U]` (see the module documentation).
 * One pass over `seeds` keeps every image's features and every unit's top images.
 */
export async function fidBasedScores(
  gen: GeneratorRunner,
  layer: string,
  options: FidBasedOptions,
): Promise<Float64Array> {
  const units = gen.model.stages[stageIndex(gen.model, layer)].channels;
  const { extractor } = options;
  const seeds = [...options.seeds];
  const topK = options.topK ?? 100;
  if (!Number.isInteger(topK) || topK < 2 || topK > seeds.length) {
    throw new Error(`topK: Expected an integer in [2, ${seeds.length}] (the seeds), got ${topK}`);
  }
  const features = new Float32Array(seeds.length * extractor.dim); // [N, D]
  const top = new RunningTopK(units, { k: topK });
  const batch = options.batch ?? 32;
  const bar = (options.progress ?? true)
    ? progress(seeds.length, { label: `${layer} FID-based` })
    : undefined;
  for (let start = 0; start < seeds.length; start += batch) {
    const part = seeds.slice(start, start + batch);
    const z = latents(part, gen.model.zDim);
    const run = await gen.run(z, { trace: [layer], clamp: true, edits: options.edits }).finally(() =>
      z.dispose()
    );
    try {
      top.add(run.traces[layer], part.map((_, i) => start + i)); // scored by each unit's maximum
      const f = extractor.extract(run.output);
      features.set(await f.data(), start * extractor.dim);
      f.dispose();
    } finally {
      tf.dispose([run.output, run.traces[layer]]);
    }
    bar?.tick(part.length);
  }
  bar?.done();
  const { indices } = top.result();
  const d = extractor.dim;
  return Float64Array.from(indices, (rows) => {
    const moments = new RunningMoments(d);
    for (const i of rows) moments.add(features.subarray(i * d, (i + 1) * d));
    return frechetDistance(moments, options.real, { warn: () => {} }).value;
  });
}
