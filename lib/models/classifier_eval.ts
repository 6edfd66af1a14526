/**
 * The held-out quality of a classifier (`classifier.ts`) on labelled data (`classifier_data.ts`), as the
 * model cards and `experiments/train_classifier.ts` report it ({@link evaluateClassifier}): accuracy per
 * class for a multiclass network; accuracy, F1 and prevalence per attribute for a multilabel one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { createClassifier, disposeClassifier } from "./classifier.ts";
 * import { labelledData } from "./classifier_data.ts";
 * import { evaluateClassifier } from "./classifier_eval.ts";
 * await initBackend({ backend: "cpu" });
 * const data = await labelledData("scenes", { split: "test" });
 * const model = createClassifier({
 *   resolution: 64, channels: 3, widths: [4, 8], outputs: data.outputs, kind: data.kind, stemStride: 2,
 * });
 * const metrics = await evaluateClassifier(model, { data, indices: [0, 1, 2, 3] });
 * // an untrained network's scores
 * assert.ok(Math.abs(metrics.accuracy - 0.4545) < 1e-4 && Math.abs(metrics.meanF1! - 0.3818) < 1e-4);
 * disposeClassifier(model);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Classifier, predict } from "./classifier.ts";
import type { LabelledData } from "./classifier_data.ts";

/** Held-out quality of a classifier. */
export interface ClassifierMetrics {
  /** Samples scored. */
  count: number;
  /** Multiclass: fraction classified right. Multilabel: mean over the outputs of the per-output accuracy. */
  accuracy: number;
  /** Multilabel: mean over the outputs of the per-output F1 (an output never present nor predicted counts 1). */
  meanF1?: number;
  /** Per output (class or attribute) by name: accuracy of that output (multiclass: recall of the class). */
  perOutputAccuracy: Record<string, number>;
  /** Multilabel: F1 of each output. */
  perOutputF1?: Record<string, number>;
  /** Multilabel: fraction of samples where each output is present. */
  prevalence?: Record<string, number>;
}

/**
 * Score a classifier on the samples `indices` of labelled data.
 *
 * @param options `batch`: samples per forward pass (default 100).
 */
export async function evaluateClassifier(
  model: Classifier,
  data: { data: LabelledData; indices: readonly number[] },
  options: { batch?: number } = {},
): Promise<ClassifierMetrics> {
  const { outputs, kind } = model.config;
  if (data.data.kind !== kind || data.data.outputs.join() !== outputs.join()) {
    throw new Error(
      `evaluateClassifier: the model's outputs (${kind}: ${outputs}) are not those of ${data.data.name}`,
    );
  }
  const k = outputs.length;
  const batch = options.batch ?? 100;
  // Multiclass: per class, [right, total]. Multilabel: per output, true/false positives/negatives.
  const right = new Float64Array(k), total = new Float64Array(k);
  const tp = new Float64Array(k),
    fp = new Float64Array(k),
    fn = new Float64Array(k),
    tn = new Float64Array(k);
  for (let i = 0; i < data.indices.length; i += batch) {
    const { images, targets } = data.data.batch(data.indices.slice(i, i + batch));
    const predicted = predict(model, images);
    const [p, t] = await Promise.all([predicted.data(), targets.data()]);
    tf.dispose([images, targets, predicted]);
    if (kind === "multiclass") {
      for (let j = 0; j < t.length; j++) {
        total[t[j]]++;
        if (p[j] === t[j]) right[t[j]]++;
      }
    } else {
      for (let j = 0; j < t.length; j++) {
        const c = j % k;
        const counts = t[j] > 0.5 ? (p[j] ? tp : fn) : (p[j] ? fp : tn);
        counts[c]++;
      }
    }
  }
  const count = data.indices.length;
  const byName = (f: (c: number) => number) => Object.fromEntries(outputs.map((name, c) => [name, f(c)]));
  const mean = (f: (c: number) => number) => outputs.reduce((s, _, c) => s + f(c), 0) / k;
  if (kind === "multiclass") {
    return {
      count,
      accuracy: right.reduce((a, b) => a + b, 0) / count,
      perOutputAccuracy: byName((c) => (total[c] ? right[c] / total[c] : NaN)),
    };
  }
  const acc = (c: number) => (tp[c] + tn[c]) / count;
  const f1 = (c: number) => (tp[c] + fp[c] + fn[c] === 0 ? 1 : (2 * tp[c]) / (2 * tp[c] + fp[c] + fn[c]));
  return {
    count,
    accuracy: mean(acc),
    meanF1: mean(f1),
    perOutputAccuracy: byName(acc),
    perOutputF1: byName(f1),
    prevalence: byName((c) => (tp[c] + fn[c]) / count),
  };
}
