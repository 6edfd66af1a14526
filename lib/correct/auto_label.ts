/**
 * The automatic labeller: a predefined, inspectable criterion scores every generation, and two fixed cut-offs
 * turn scores into labels.
 *
 *     score ≥ artifactAbove  → artifact
 *     score ≤ normalBelow    → normal
 *     otherwise              → skip (ambiguous: left out, as a person would skip a doubtful image)
 *
 * or, with `rule: "rank"`, by rank among the labelled seeds: the `fraction` most flawed are artifacts, the
 * `fraction` least flawed normal, the rest skipped (for a generator whose flaws are all above or all below the
 * fixed cut-offs; the cut-offs this implies are in the scores).
 *
 * Criteria (higher score = more flawed):
 * - {@link sceneDefectCriterion}, for scenes: the fraction of pixels the scene grammar cannot explain
 *   (`lib/data/defects.ts`), judged on the segmenter's labels of the generated image. It needs no trained judge
 *   of realism, only the data set's own rules; its limits are the defect map's (`data/scenes/README.md`).
 * - {@link confidenceCriterion}, for any data set with a classifier: `1 − max softmax probability` of the domain
 *   network (a garment the network cannot name is likely malformed).
 *
 * Every label records its criterion and score (`source` column `auto:<criterion>=<score>`), so a person can sort
 * by score and check the borderline cases on the labelling page.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { loadGenerator } from "../models/load.ts";
 * import { loadSegmenter } from "../models/segmenter.ts";
 * import { autoLabel, sceneDefectCriterion } from "./auto_label.ts";
 * await initBackend({ backend: "cpu" });
 * const gen = await createGenerator(await loadGenerator("data/models/scenes_pggan64.safetensors"), { engine: "tfjs" });
 * const criterion = sceneDefectCriterion(await loadSegmenter("data/models/scenes_segmenter.safetensors"));
 * const labels = await autoLabel(gen, criterion, { seeds: [0, 1, 2, 3], progress: false });
 * assert.deepEqual(labels.map((l) => l.seed), [0, 1, 2, 3]);
 * for (const { label, score } of labels) { // the default cut-offs: artifact from 0.05, normal up to 0.01
 *   assert.equal(label, score >= 0.05 ? "artifact" : score <= 0.01 ? "normal" : "skip");
 * }
 * await gen.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { defectMapBatch, type DefectOptions } from "../data/defects.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import { type Classifier, forward } from "../models/classifier.ts";
import { segment, type Segmenter } from "../models/segmenter.ts";
import { progress } from "../util/progress.ts";
import type { LabelSet } from "./labels.ts";
import { latents } from "../tensor/rng.ts";

/** A scoring rule for generations: higher means more flawed. */
export interface LabelCriterion {
  /** Short name, used in label files (`auto:<name>=<score>`). */
  name: string;
  /** One sentence a person can check. */
  description: string;
  /** Scores `[N]` of images `[N, H, W, C]` in [-1, 1]. */
  score(images: tf.Tensor4D): Promise<Float32Array>;
}

/** The scene-grammar criterion: the fraction of defective pixels under the segmenter's labels. */
export function sceneDefectCriterion(segmenter: Segmenter, options: DefectOptions = {}): LabelCriterion {
  return {
    name: "defect-fraction",
    description:
      "fraction of pixels the scene grammar cannot explain (lib/data/defects.ts), on the segmenter's " +
      "labels of the generated image",
    score(images) {
      const labels = segment(segmenter, images); // [N, H, W]
      const { score, binary } = defectMapBatch(images, labels, options);
      const fractions = tf.tidy(() => tf.mean(binary, [1, 2]));
      tf.dispose([labels, score, binary]);
      return fractions.data().then((d) => {
        fractions.dispose();
        return d as Float32Array;
      });
    },
  };
}

/** The confidence criterion: `1 − max softmax probability` of a multiclass domain network. */
export function confidenceCriterion(classifier: Classifier, name = "classifier"): LabelCriterion {
  if (classifier.config.kind !== "multiclass") {
    throw new Error(`confidenceCriterion: ${name} must be a multiclass classifier`);
  }
  return {
    name: "low-confidence",
    description: `1 − the highest class probability of ${name}`,
    score(images) {
      const s = tf.tidy(() => tf.sub(1, tf.max(tf.softmax(forward(classifier, images)), 1)));
      return s.data().then((d) => {
        s.dispose();
        return d as Float32Array;
      });
    },
  };
}

/** One automatic label. */
export interface AutoLabel {
  seed: number;
  label: "artifact" | "normal" | "skip";
  score: number;
  /** `auto:<criterion>=<score>`. */
  source: string;
}

/** Options of {@link autoLabel}. */
export interface AutoLabelOptions {
  /** Latent seeds to label. */
  seeds: readonly number[];
  /** `"cutoffs"` (default) or `"rank"` (see the module documentation). */
  rule?: "cutoffs" | "rank";
  /** With `rule: "rank"`: the share labelled artifact, and the share labelled normal; default 1/3. */
  fraction?: number;
  /** Scores at or above this are artifacts; default 0.05. */
  artifactAbove?: number;
  /** Scores at or below this are normal; default 0.01. */
  normalBelow?: number;
  /** Images per generator run; default 32. */
  batch?: number;
  /** Report progress on stderr; default true. */
  progress?: boolean;
}

/** Scores of every seed's generation under a criterion (see the module documentation). */
export async function criterionScores(
  gen: GeneratorRunner,
  criterion: LabelCriterion,
  options: { seeds: readonly number[]; batch?: number; progress?: boolean },
): Promise<Float32Array> {
  const scores = new Float32Array(options.seeds.length);
  const batch = options.batch ?? 32;
  const bar = (options.progress ?? true)
    ? progress(scores.length, { label: `labelling (${criterion.name})` })
    : undefined;
  for (let start = 0; start < scores.length; start += batch) {
    const z = latents(options.seeds.slice(start, start + batch), gen.model.zDim);
    const { output } = await gen.run(z, { clamp: true }).finally(() => z.dispose());
    try {
      scores.set(await criterion.score(output), start);
    } finally {
      output.dispose();
    }
    bar?.tick(output.shape[0]);
  }
  bar?.done();
  return scores;
}

/** Label generations by a criterion and two cut-offs (see the module documentation). */
export async function autoLabel(
  gen: GeneratorRunner,
  criterion: LabelCriterion,
  options: AutoLabelOptions,
): Promise<AutoLabel[]> {
  const artifactAbove = options.artifactAbove ?? 0.05;
  const normalBelow = options.normalBelow ?? 0.01;
  if (!(normalBelow < artifactAbove)) {
    throw new Error(`normalBelow (${normalBelow}) must be below artifactAbove (${artifactAbove})`);
  }
  const scores = await criterionScores(gen, criterion, options);
  let [normalAt, artifactAt] = [normalBelow, artifactAbove];
  if (options.rule === "rank") {
    const fraction = options.fraction ?? 1 / 3;
    if (!(fraction > 0 && fraction <= 0.5)) throw new Error(`fraction: Expected (0, 0.5], got ${fraction}`);
    const sorted = Float32Array.from(scores).sort();
    const n = Math.max(1, Math.floor(fraction * sorted.length));
    [normalAt, artifactAt] = [sorted[n - 1], sorted[sorted.length - n]];
  } else if ((options.rule ?? "cutoffs") !== "cutoffs") {
    throw new Error(`rule: Expected "cutoffs" or "rank", got ${JSON.stringify(options.rule)}`);
  }
  return options.seeds.map((seed, i) => {
    const score = scores[i];
    const label = score >= artifactAt && score > normalAt
      ? "artifact"
      : score <= normalAt
      ? "normal"
      : "skip";
    return { seed, label, score, source: `auto:${criterion.name}=${score.toFixed(4)}` };
  });
}

/** Automatic labels as a label set (`labels.ts`), ready for `writeLabels` and the labelling page. */
export function autoLabelSet(labels: readonly AutoLabel[]): LabelSet {
  return new Map(labels.map((l) => [l.seed, { label: l.label, source: l.source }]));
}
