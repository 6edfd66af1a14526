/**
 * Removal of a concept (GAN Dissection, section 4.2): switch off more and more of a layer's units, best first
 * by some ranking, and measure on held-out images how much of the concept is left, how much else changed, and
 * how that compares with as many units drawn at random.
 *
 * On held-out seeds (not the ones the units were ranked on), with `f̄_k` the mean fraction of the images'
 * pixels the segmenter labels `k` (see `heldout.ts`), {@link measureRemoval} reports for the concept k:
 * - `before` = `f̄_k` of the unedited images, `after` = `f̄_k` with the first n units ablated (n the largest
 *   count), `by_units`: `f̄_k` for every count; `others_before`/`others_after`: `f̄_j` of every other concept j;
 * - `others_relabelled`: of the pixels not labelled k before, the share whose label changed (`relabelledShare`);
 * - `random_control`: the same with n units of the layer drawn at random (`Rng(controlSeed).permutation`);
 * - `ace`: the average causal effect of the n units, `E_z[s_k(G(z; units ← values)) − s_k(G(z; units ← 0))]`
 *   (`ace.ts`).
 *
 * Rankings ({@link rankRemovalUnits}), each a list of the layer's units, best first:
 * - by IoU: decreasing IoU of the unit with the concept (the dissection's measure, `unit_iou.ts`);
 * - by single-unit ACE: decreasing ACE of the unit alone (`rankUnitsByAce`);
 * - the causal set: decreasing strength α after GAN Dissection's optimisation (`causal_set.ts`), started from the
 *   units' IoU divided by the largest.
 * {@link removalCurves} measures `f̄_k(before) − f̄_k(top m ablated)` for every ranking and count m, so the
 * rankings are compared by one procedure.
 *
 * Every function returns plain data (JSON values: numbers, arrays, objects); no tensor outlives a call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { measureRemoval } from "./removal.ts";
 * await initBackend({ backend: "cpu" });
 *
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
 * const bright = (images: tf.Tensor4D) => tf.tidy(() => tf.cast(tf.lessEqual(tf.mean(images, 3), 0), "int32"));
 * const removal = await measureRemoval(gen, bright, {
 *   layer: "layer2", concept: "bright", concepts: ["bright", "dark"], ranking: [3, 1, 4, 0, 2], counts: [0, 2, 5],
 *   values: 3, seeds: [100, 101, 102, 103], controlSeed: 100, progress: false,
 * });
 * // the share of "bright" pixels: unedited, with the 5 top units ablated, with 5 random units ablated
 * const { before, after, random_control } = removal;
 * assert.deepEqual([before, after, random_control.after], [0.640625, 0.60546875, 0.63671875]);
 * await gen.dispose();
 * ```
 * @module
 */
import type { GeneratorRunner } from "../engine/select.ts";
import { TfjsGenerator } from "../engine/tfjs.ts";
import { stageIndex } from "../models/stages.ts";
import { Rng } from "../tensor/rng.ts";
import { averageCausalEffect, rankUnitsByAce } from "./ace.ts";
import { alphaFromScores, optimizeCausalSet } from "./causal_set.ts";
import { columnMean, labelFractions, type SegmentedSeeds, segmentSeeds } from "./heldout.ts";
import {
  conceptIndex,
  relabelledShare,
  sceneConcepts,
  type SegmentFn,
  type SegmentLogits,
} from "./segment_fn.ts";
import type { LayerDissection } from "./unit_iou.ts";

/** Every unit's IoU with `concept` in a dissected layer: `[U]`. */
export function conceptIoU(dissection: LayerDissection, concept: number | string): number[] {
  const k = conceptIndex(dissection.concepts, concept);
  const iou = dissection.counts.iou(); // [U·K]
  const K = dissection.counts.concepts;
  return Array.from({ length: dissection.counts.units }, (_, u) => iou[u * K + k]);
}

/** Units by decreasing score (e.g. {@link conceptIoU}), ties by unit index. */
export function unitsByScore(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, u) => u).sort((a, b) => scores[b] - scores[a] || a - b);
}

/** Options of {@link rankRemovalUnits}. */
export interface RankingOptions {
  /** The stage, e.g. `"layer4"`. */
  layer: string;
  /** The concept, by name or index among `concepts`. */
  concept: number | string;
  /** Concept names of the segmenter; default the scene classes. */
  concepts?: readonly string[];
  /** Every unit's IoU with the concept, `[U]` ({@link conceptIoU}). */
  iou: readonly number[];
  /** Insertion values of the single-unit ACE (one, or one per unit of the layer). */
  values: number | ArrayLike<number>;
  /** Seeds of the single-unit ACE ranking. */
  aceSeeds: readonly number[];
  /** Rank by ACE only the n best units by IoU; default 0, every unit. */
  aceCandidates?: number;
  /** Seeds the causal set is optimised on. */
  causalSeeds: readonly number[];
  /** Passes of the causal-set optimisation over its seeds; default 10. */
  epochs?: number;
  /** Weight of its L2 penalty on α; default 0.005. */
  l2?: number;
  /** Images per generator run (and per gradient step); default 16. */
  batch?: number;
  /** Report progress; default true. */
  progress?: boolean;
}

/** A layer's units ranked three ways for a concept, best first, with what each was ranked by. */
export interface RemovalRankings {
  iou: number[];
  /** The ACE candidates only (every unit, or the `aceCandidates` best by IoU). */
  ace: number[];
  causal: number[];
  /** Single-unit ACE of every ranked unit, best first. */
  aceOf: { unit: number; ace: number; std_err: number }[];
  /** The optimised strengths α, one per unit of the layer. */
  alpha: number[];
  /** The causal set's objective and penalty per epoch. */
  history: { objective: number; penalty: number }[];
}

/**
 * Rank a layer's units for removing a concept by IoU, by single-unit ACE and by the optimised causal set (see the
 * module documentation).
 *
 * @param gen The generator (any engine; the causal set runs on a tfjs copy of its model).
 * @param segmenter Labels or masks of `concepts`, for the ACE.
 * @param logits The same segmenter as differentiable logits, for the causal set.
 */
export async function rankRemovalUnits(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  logits: SegmentLogits,
  options: RankingOptions,
): Promise<RemovalRankings> {
  const { layer, concept, concepts, batch = 16, progress } = options;
  const iou = unitsByScore(options.iou);
  const candidates = options.aceCandidates ?? 0;
  const aceRanking = await rankUnitsByAce(gen, segmenter, {
    layer,
    concept,
    concepts,
    values: options.values,
    units: candidates > 0 ? iou.slice(0, candidates) : undefined,
    samples: options.aceSeeds,
    batch,
    progress,
  });
  const tfjs = new TfjsGenerator(gen.model);
  let causal: ReturnType<typeof optimizeCausalSet>;
  try {
    causal = optimizeCausalSet(tfjs, logits, {
      layer,
      concept,
      concepts,
      samples: options.causalSeeds,
      batch,
      epochs: options.epochs ?? 10,
      l2: options.l2 ?? 0.005,
      init: alphaFromScores(options.iou),
      progress,
    });
  } finally {
    tfjs.dispose();
  }
  return {
    iou,
    ace: aceRanking.map((r) => r.units[0]),
    causal: causal.ranking,
    aceOf: aceRanking.map((r) => ({ unit: r.units[0], ace: r.ace, std_err: r.aceStdErr })),
    alpha: Array.from(causal.alpha),
    history: causal.history,
  };
}

/** Options of {@link measureRemoval}. */
export interface RemovalOptions {
  /** The stage whose units are ablated. */
  layer: string;
  /** The concept, by name or index among `concepts`. */
  concept: number | string;
  /** Concept names of the segmenter; default the scene classes. */
  concepts?: readonly string[];
  /** The layer's units, best first. */
  ranking: readonly number[];
  /** Units ablated per measurement, e.g. `[0, 5, 10, 20]` (0: the unedited images). */
  counts: readonly number[];
  /** Insertion values of the ACE of the largest set (one, or one per unit of the layer). */
  values: number | ArrayLike<number>;
  /** The held-out seeds every measurement is made on. */
  seeds: readonly number[];
  /** Seed of the random control's draw of units. */
  controlSeed: number;
  /** Images per generator run; default 16. */
  batch?: number;
  /** Report progress; default true. */
  progress?: boolean;
}

/** What {@link measureRemoval} measured, shaped for `interventions.json`; fractions in [0, 1]. */
export interface RemovalResult {
  layer: string;
  /** The largest count: the units of `after`, `ace` and the control. */
  units: number;
  unit_ids: number[];
  samples: number;
  before: number | null;
  after: number | null;
  others_before: Record<string, number | null>;
  others_after: Record<string, number | null>;
  others_relabelled: number | null;
  random_control: {
    unit_ids: number[];
    after: number | null;
    others_after: Record<string, number | null>;
    others_relabelled: number | null;
  };
  by_units: { units: number; fraction: number | null }[];
  ace: { samples: number; base: number; ablated: number; inserted: number; ace: number; std_err: number };
}

/**
 * Ablate the first `counts[i]` units of `ranking` on the held-out seeds, and as many random units; measure what
 * is left of the concept and of the others, and the ACE of the largest set (see the module documentation).
 */
export async function measureRemoval(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  options: RemovalOptions,
): Promise<RemovalResult> {
  const { layer, ranking, counts, seeds } = options;
  const names = options.concepts ?? sceneConcepts();
  const k = conceptIndex(names, options.concept);
  const channels = gen.model.stages[stageIndex(gen.model, layer)].channels;
  const bad = counts.find((c) => !Number.isInteger(c) || c < 0 || c > ranking.length);
  if (counts.length === 0 || bad !== undefined) {
    throw new Error(`counts: Expected integers in 0 … ${ranking.length}, got [${counts}]`);
  }
  const common = { batch: options.batch ?? 16, progress: options.progress };
  const ablate = (units: number[], label: string) =>
    segmentSeeds(gen, segmenter, seeds, { ...common, label, intervention: { layer, units, mode: "ablate" } });
  const fractions = (seg: SegmentedSeeds) => labelFractions(seg, names.length);
  const others = (rows: number[][]) =>
    Object.fromEntries(names.flatMap((name, j) => (j === k ? [] : [[name, columnMean(rows, j)]])));

  let original: SegmentedSeeds | undefined;
  const steps: { count: number; units: number[]; seg: SegmentedSeeds; rows: number[][] }[] = [];
  for (const count of counts) {
    const units = ranking.slice(0, count);
    const label = count ? `ablate ${count} ${names[k]} units` : "original";
    const seg = count
      ? await ablate(units, label)
      : await segmentSeeds(gen, segmenter, seeds, { ...common, label });
    if (count === 0) original ??= seg;
    steps.push({ count, units, seg, rows: fractions(seg) });
  }
  original ??= await segmentSeeds(gen, segmenter, seeds, { ...common, label: "original" });
  const before = fractions(original);
  const most = steps.reduce((a, b) => (b.count > a.count ? b : a));
  const randomUnits = new Rng(options.controlSeed).permutation(channels).slice(0, most.count);
  const control = await ablate(randomUnits, `ablate ${most.count} random units`);
  const controlRows = fractions(control);
  const ace = await averageCausalEffect(gen, segmenter, {
    layer,
    units: most.units,
    concept: k,
    concepts: names,
    values: options.values,
    samples: seeds,
    ...common,
  });
  return {
    layer,
    units: most.count,
    unit_ids: most.units,
    samples: seeds.length,
    before: columnMean(before, k),
    after: columnMean(most.rows, k),
    others_before: others(before),
    others_after: others(most.rows),
    others_relabelled: relabelledShare(original.labels, most.seg.labels, k),
    random_control: {
      unit_ids: randomUnits,
      after: columnMean(controlRows, k),
      others_after: others(controlRows),
      others_relabelled: relabelledShare(original.labels, control.labels, k),
    },
    by_units: steps.map((s) => ({ units: s.count, fraction: columnMean(s.rows, k) })),
    ace: {
      samples: ace.samples,
      base: ace.base,
      ablated: ace.ablated,
      inserted: ace.inserted,
      ace: ace.ace,
      std_err: ace.aceStdErr,
    },
  };
}

/** Options of {@link removalCurves}. */
export interface RemovalCurveOptions {
  layer: string;
  /** The concept, by name or index among `concepts`. */
  concept: number | string;
  /** Concept names of the segmenter; default the scene classes. */
  concepts?: readonly string[];
  /** Rankings by name, each the layer's units best first (e.g. of {@link RemovalRankings}). */
  rankings: Readonly<Record<string, readonly number[]>>;
  /** Numbers of units ablated (the curves' points). */
  counts: readonly number[];
  /** The held-out seeds. */
  seeds: readonly number[];
  /** The concept's mean fraction on the unedited held-out images, when known (else measured). */
  before?: number | null;
  /** Images per generator run; default 16. */
  batch?: number;
  /** Report progress; default true. */
  progress?: boolean;
}

/**
 * For every ranking and count m: the concept's mean fraction removed from the held-out images by ablating the
 * ranking's first m units, `f̄_k(unedited) − f̄_k(ablated)`.
 *
 * @returns By ranking name, one value per count.
 */
export async function removalCurves(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  options: RemovalCurveOptions,
): Promise<Record<string, number[]>> {
  const { layer, seeds } = options;
  const names = options.concepts ?? sceneConcepts();
  const k = conceptIndex(names, options.concept);
  const common = { batch: options.batch ?? 16, progress: options.progress };
  const measure = (seg: SegmentedSeeds) => columnMean(labelFractions(seg, names.length), k)!;
  const before = options.before ?? measure(await segmentSeeds(gen, segmenter, seeds, common));
  const removed: Record<string, number[]> = {};
  for (const [name, ranking] of Object.entries(options.rankings)) {
    removed[name] = [];
    for (const count of options.counts) {
      const seg = await segmentSeeds(gen, segmenter, seeds, {
        ...common,
        label: `${name} top ${count}`,
        intervention: { layer, units: ranking.slice(0, count), mode: "ablate" },
      });
      removed[name].push(before - measure(seg));
    }
  }
  return removed;
}

/**
 * The rankings compared, shaped for `interventions.json`: the counts, the concept removed by each ranking
 * (`removed_by_<name>_ranking`, from {@link removalCurves}) and the head of each ranking with what ranked it.
 *
 * @param top How many units of each ranking to list; default 20.
 */
export function rankingsJson(
  rankings: RemovalRankings,
  curves: Readonly<Record<string, readonly number[]>>,
  counts: readonly number[],
  top = 20,
) {
  return {
    units: [...counts],
    ...Object.fromEntries(
      ["iou", "ace", "causal"].map((name) => [`removed_by_${name}_ranking`, curves[name]]),
    ),
    iou_ranking: rankings.iou.slice(0, top),
    ace_ranking: rankings.aceOf.slice(0, top),
    causal_ranking: rankings.causal.slice(0, top).map((unit) => ({ unit, alpha: rankings.alpha[unit] })),
    causal_history: rankings.history,
  };
}
