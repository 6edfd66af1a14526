/**
 * Average causal effect (ACE) of units on a concept (GAN Dissection, section 3.2): how much of the concept the
 * generator draws when the units are forced on (inserted) rather than off (ablated),
 *
 *     ACE = E_z[ s_k(G(z; units ← values)) − s_k(G(z; units ← 0)) ],
 *
 * where `s_k` is the fraction of the image's pixels the segmenter labels `k` (or, with `measureRegion`, the
 * fraction within a region). Also reported: the effects against the unedited images, insertion − unedited and
 * unedited − ablation.
 *
 * Each image's layer activations are computed once; the edited runs start from the layer (`from: layer`), so an
 * intervention costs the rest of the generator plus the segmenter. {@link rankUnitsByAce} ranks single units by
 * their ACE, reusing the activations and unedited images of a batch for every candidate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { averageCausalEffect } from "./ace.ts";
 * await initBackend({ backend: "cpu" });
 *
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
 * const bright = (images: tf.Tensor4D) => tf.tidy(() => tf.cast(tf.lessEqual(tf.mean(images, 3), 0), "int32"));
 * const effect = await averageCausalEffect(gen, bright, {
 *   layer: "layer2", units: [0, 1, 2], concept: "bright", concepts: ["bright", "dark"], values: 3, samples: 4,
 *   progress: false,
 * });
 * // ace = insertionEffect + ablationEffect: the share of "bright" the units add, plus the share they remove
 * const { ace, insertionEffect, ablationEffect } = effect;
 * assert.deepEqual([ace, insertionEffect, ablationEffect], [0.125, 0.05078125, 0.07421875]);
 * await gen.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { applyEditTf, type Edit } from "../engine/edits.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import { checkStatJSON, type StatJSON } from "../stats/protocol.ts";
import { tally } from "../stats/tally.ts";
import { latents } from "../tensor/rng.ts";
import { interventionEdits } from "./interventions.ts";
import {
  conceptFractions,
  conceptIndex,
  sampleSeeds,
  sceneConcepts,
  type SegmentFn,
  segmentMasks,
} from "./segment_fn.ts";

/** Options shared by {@link averageCausalEffect} and {@link rankUnitsByAce}. */
export interface AceOptions {
  /** The stage, e.g. `"layer4"`. */
  layer: string;
  /** The concept, by name or index among `concepts`. */
  concept: number | string;
  /** Concept names of the segmenter; default the scene classes. */
  concepts?: readonly string[];
  /** Insertion values: one number, or one per unit of the layer (see `interventions.ts`, `insertionValues`). */
  values: number | ArrayLike<number>;
  /** Latent seeds, or a count n for seeds 0 … n−1; default 200. */
  samples?: number | readonly number[];
  /** Images per generator run; default 8. */
  batch?: number;
  /** Where to intervene: a mask `[h, w]` at the layer's resolution; default everywhere. */
  region?: tf.Tensor2D;
  /** Where to measure the concept: weights `[H', W']` at the segmentation's resolution; default everywhere. */
  measureRegion?: tf.Tensor2D;
  /** Report progress; default true. */
  progress?: boolean;
}

/** Effects of one unit set, averaged over the samples (fractions of pixels in [0, 1], differences in [-1, 1]). */
export interface AceResult {
  /** The units intervened on. */
  units: number[];
  concept: string;
  samples: number;
  /** Mean concept fraction of the unedited images. */
  base: number;
  /** … with the units ablated. */
  ablated: number;
  /** … with the units inserted. */
  inserted: number;
  /** `inserted − ablated`. */
  ace: number;
  /** Standard error of `ace` over the samples. */
  aceStdErr: number;
  /** `inserted − base`. */
  insertionEffect: number;
  /** `base − ablated`. */
  ablationEffect: number;
}

/** Running sums of concept fractions for S unit sets (unedited, ablated, inserted, and (ins − abl)²). */
class EffectSums {
  count = 0;
  base = 0;
  readonly ablated: Float64Array;
  readonly inserted: Float64Array;
  readonly squares: Float64Array;

  constructor(readonly sets: number) {
    this.ablated = new Float64Array(sets);
    this.inserted = new Float64Array(sets);
    this.squares = new Float64Array(sets);
  }

  merge(other: EffectSums): void {
    this.count += other.count;
    this.base += other.base;
    for (let s = 0; s < this.sets; s++) {
      this.ablated[s] += other.ablated[s];
      this.inserted[s] += other.inserted[s];
      this.squares[s] += other.squares[s];
    }
  }

  toJSON(): StatJSON {
    return {
      kind: "EffectSums",
      version: 1,
      count: this.count,
      base: this.base,
      ablated: Array.from(this.ablated),
      inserted: Array.from(this.inserted),
      squares: Array.from(this.squares),
    };
  }

  static fromJSON(json: unknown): EffectSums {
    const j = checkStatJSON(json, "EffectSums", 1) as StatJSON & {
      count: number;
      base: number;
      ablated: number[];
      inserted: number[];
      squares: number[];
    };
    const out = new EffectSums(j.ablated.length);
    out.count = j.count;
    out.base = j.base;
    out.ablated.set(j.ablated);
    out.inserted.set(j.inserted);
    out.squares.set(j.squares);
    return out;
  }

  result(set: number, units: number[], concept: string): AceResult {
    const n = this.count;
    const ablated = this.ablated[set] / n;
    const inserted = this.inserted[set] / n;
    const base = this.base / n;
    const ace = inserted - ablated;
    const variance = n > 1 ? Math.max(0, this.squares[set] / n - ace * ace) * n / (n - 1) : 0;
    return {
      units,
      concept,
      samples: n,
      base,
      ablated,
      inserted,
      ace,
      aceStdErr: Math.sqrt(variance / n),
      insertionEffect: inserted - base,
      ablationEffect: base - ablated,
    };
  }
}

/**
 * Accumulate effects over the samples: for each batch, trace the layer once, then for every unit set run the
 * rest of the generator under ablation and insertion and segment.
 */
async function effects(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  unitSets: number[][],
  options: AceOptions,
  label: string,
): Promise<{ sums: EffectSums; concept: string }> {
  const names = options.concepts ?? sceneConcepts();
  const k = conceptIndex(names, options.concept);
  const { layer, region, measureRegion } = options;
  // Check the layer, units and values once (and get the edits' vectors).
  const edits = unitSets.map((units) => ({
    ablate: interventionEdits(gen.model, { layer, units, mode: "ablate", region })[layer],
    insert:
      interventionEdits(gen.model, { layer, units, mode: "insert", values: options.values, region })[layer],
  }));
  /** Fraction of concept k in each image: Float64Array [N]. */
  const fractionOf = async (images: tf.Tensor4D): Promise<Float64Array> => {
    const masks = await segmentMasks(segmenter, images, names.length);
    try {
      const f = tf.tidy(() =>
        tf.squeeze(tf.slice(conceptFractions(masks, measureRegion), [0, k], [-1, 1]), [1])
      );
      const values = Float64Array.from(f.dataSync());
      f.dispose();
      return values;
    } finally {
      masks.dispose();
    }
  };
  const runFrom = async (acts: tf.Tensor4D, edit: Edit): Promise<Float64Array> => {
    const edited = applyEditTf(acts, edit, layer);
    try {
      const { output } = await gen.run(edited, { from: layer, clamp: true });
      try {
        return await fractionOf(output);
      } finally {
        output.dispose();
      }
    } finally {
      edited.dispose();
    }
  };
  const sums = await tally(
    async (seeds: number[]) => {
      const z = latents(seeds, gen.model.zDim);
      const { output, traces } = await gen.run(z, { trace: [layer], clamp: true }).finally(() => z.dispose());
      const acts = traces[layer];
      const stat = new EffectSums(unitSets.length);
      try {
        stat.count = seeds.length;
        stat.base = (await fractionOf(output)).reduce((a, b) => a + b, 0);
        for (const [s, edit] of edits.entries()) {
          const ablated = await runFrom(acts, edit.ablate);
          const inserted = await runFrom(acts, edit.insert);
          for (let i = 0; i < seeds.length; i++) {
            stat.ablated[s] += ablated[i];
            stat.inserted[s] += inserted[i];
            stat.squares[s] += (inserted[i] - ablated[i]) ** 2;
          }
        }
        return stat;
      } finally {
        tf.dispose([output, acts]);
      }
    },
    sampleSeeds(options.samples ?? 200),
    { batch: options.batch ?? 8, progress: (options.progress ?? true) && { label } },
  );
  return { sums, concept: names[k] };
}

/**
 * The average causal effect of a set of units on a concept (see the module documentation).
 *
 * @param gen Any engine's generator (it must support runs `from` a layer).
 * @param segmenter Labels or masks of `concepts`.
 * @param options The layer, `units`, concept, insertion `values`, samples and regions.
 */
export async function averageCausalEffect(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  options: AceOptions & { units: number[] },
): Promise<AceResult> {
  const { sums, concept } = await effects(gen, segmenter, [options.units], options, `${options.layer} ACE`);
  return sums.result(0, [...options.units], concept);
}

/**
 * Single-unit ACE of every candidate unit, best first (the ranking GAN Dissection compares with IoU).
 *
 * @param options As {@link averageCausalEffect}, with `units` the candidates (default every unit of the layer).
 * @returns One {@link AceResult} per candidate, sorted by decreasing ACE.
 */
export async function rankUnitsByAce(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  options: AceOptions & { units?: number[] },
): Promise<AceResult[]> {
  const stage = gen.model.stages.find((s) => s.name === options.layer);
  if (!stage) throw new Error(`no stage "${options.layer}" in this ${gen.model.arch} generator`);
  const candidates = options.units ?? Array.from({ length: stage.channels }, (_, u) => u);
  const sets = candidates.map((u) => [u]);
  const { sums, concept } = await effects(gen, segmenter, sets, options, `${options.layer} unit ACE`);
  return sets.map((units, s) => sums.result(s, units, concept)).sort((a, b) =>
    b.ace - a.ace || a.units[0] - b.units[0]
  );
}
