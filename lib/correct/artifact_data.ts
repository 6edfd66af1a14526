/**
 * The data of the artifact classifier, from labels to a trained model in one call: labelled seeds and real
 * images are split by a seeded shuffle into training and held-out parts (per class, so both parts keep the class
 * balance), their pooled features are computed once on the frozen backbone, and the fully connected layer is
 * trained and scored.
 *
 * {@link trainArtifactRecord} does the same and returns plain JSON (a cached step's result): the report and the
 * head's weights, from which {@link recordClassifier} rebuilds the classifier.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { autoLabel, autoLabelSet } from "./auto_label.ts";
 * import { trainArtifactClassifier } from "./artifact_data.ts";
 * import { loadDomain } from "./domain.ts";
 * await initBackend({ backend: "cpu" });
 * const domain = await loadDomain("scenes", { engine: "tfjs" }); // ORT is for the examples of lib/engine
 * const labels = autoLabelSet(await autoLabel(domain.gen, domain.criterion, {
 *   seeds: Array.from({ length: 60 }, (_, i) => i), rule: "rank", progress: false,
 * }));
 * const { classifier, report } = await trainArtifactClassifier(domain, labels, { realImages: 20, steps: 50 });
 * const { accuracy, confusion } = report.heldout; // confusion[true][predicted]: artifact, normal, real
 * assert.deepEqual(confusion.map((row) => row.reduce((a, b) => a + b)), [5, 5, 5]); // a quarter of 20 each
 * assert.equal(accuracy, (confusion[0][0] + confusion[1][1] + confusion[2][2]) / 15);
 * classifier.dispose();
 * await domain.dispose();
 * ```
 * @module
 */
import type { ImageSource } from "../data/source.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import { Rng } from "../tensor/rng.ts";
import {
  ARTIFACT,
  ArtifactClassifier,
  type ArtifactHead,
  evaluateHead,
  type FrozenBackbone,
  type HeadMetrics,
  type LabelledFeatures,
  NORMAL,
  pooledFeatures,
  REAL,
  trainHead,
} from "./artifact_classifier.ts";
import { generateImages } from "./domain.ts";
import { type LabelSet, seedsWith } from "./labels.ts";

/** A seeded split: the first `share` of a shuffled list is held out. */
export function heldoutSplit<T>(
  items: readonly T[],
  share: number,
  seed: number,
): { train: T[]; heldout: T[] } {
  if (!(share >= 0 && share < 1)) throw new Error(`held-out share: Expected [0, 1), got ${share}`);
  const order = new Rng(seed).permutation(items.length).map((i) => items[i]);
  const cut = Math.round(share * items.length);
  return { heldout: order.slice(0, cut), train: order.slice(cut) };
}

/** Which seeds and real images went where. */
export interface ArtifactSplits {
  artifact: { train: number[]; heldout: number[] };
  normal: { train: number[]; heldout: number[] };
  /** Indices of real images (training split of the source). */
  real: { train: number[]; heldout: number[] };
}

/** Split labels and `realImages` real images per class (see the module documentation). */
export function artifactSplits(
  labels: LabelSet,
  options: { realImages: number; heldoutShare?: number; seed?: number },
): ArtifactSplits {
  const share = options.heldoutShare ?? 0.25;
  const seed = options.seed ?? 0;
  return {
    artifact: heldoutSplit(seedsWith(labels, "artifact"), share, seed),
    normal: heldoutSplit(seedsWith(labels, "normal"), share, seed + 1),
    real: heldoutSplit(Array.from({ length: options.realImages }, (_, i) => i), share, seed + 2),
  };
}

/** Pooled backbone features of generated seeds (with their classes) and of real images (class "real"). */
export async function labelledFeatures(
  parts: { gen: GeneratorRunner; real: ImageSource; backbone: FrozenBackbone },
  rows: { artifact: readonly number[]; normal: readonly number[]; real: readonly number[] },
  options: { batch?: number } = {},
): Promise<LabelledFeatures> {
  const batch = options.batch ?? 32;
  const chunks: Float32Array[] = [];
  const seeds = [...rows.artifact, ...rows.normal];
  for (let i = 0; i < seeds.length; i += batch) {
    const images = await generateImages(parts.gen, seeds.slice(i, i + batch));
    chunks.push(await pooledFeatures(parts.backbone, images));
    images.dispose();
  }
  for (let i = 0; i < rows.real.length; i += batch) {
    const images = parts.real.sample(rows.real.slice(i, i + batch));
    chunks.push(await pooledFeatures(parts.backbone, images));
    images.dispose();
  }
  const count = seeds.length + rows.real.length;
  const features = new Float32Array(chunks.reduce((s, c) => s + c.length, 0));
  chunks.reduce((offset, c) => (features.set(c, offset), offset + c.length), 0);
  const labels = Int32Array.from([
    ...rows.artifact.map(() => ARTIFACT),
    ...rows.normal.map(() => NORMAL),
    ...rows.real.map(() => REAL),
  ]);
  return { features, labels, dim: count ? features.length / count : 0 };
}

/** Options of {@link trainArtifactClassifier}. */
export interface TrainArtifactOptions {
  /** Real images (indices 0 … realImages−1 of the real source); default 800. */
  realImages?: number;
  /** Held-out share of every class; default 0.25. */
  heldoutShare?: number;
  /** Adam steps of the fully connected layer; default 500. */
  steps?: number;
  /** Seed of the splits and of the initial weights; default 0. */
  seed?: number;
  /** Images per forward pass; default 32. */
  batch?: number;
}

/** What {@link trainArtifactClassifier} measured. */
export interface ArtifactClassifierReport {
  backbone: string;
  train: HeadMetrics;
  heldout: HeadMetrics;
  /** Training loss after every step. */
  losses: number[];
}

/** Split, compute features, train the head and score it (see the module documentation). */
export async function trainArtifactClassifier(
  parts: { gen: GeneratorRunner; real: ImageSource; backbone: FrozenBackbone },
  labels: LabelSet,
  options: TrainArtifactOptions = {},
): Promise<
  {
    classifier: ArtifactClassifier;
    head: ArtifactHead;
    report: ArtifactClassifierReport;
    splits: ArtifactSplits;
  }
> {
  const splits = artifactSplits(labels, { realImages: options.realImages ?? 800, ...options });
  const rows = (part: "train" | "heldout") => ({
    artifact: splits.artifact[part],
    normal: splits.normal[part],
    real: splits.real[part],
  });
  const train = await labelledFeatures(parts, rows("train"), options);
  const heldout = await labelledFeatures(parts, rows("heldout"), options);
  const head = trainHead(train, { steps: options.steps, seed: options.seed });
  return {
    classifier: new ArtifactClassifier(parts.backbone, head),
    head,
    splits,
    report: {
      backbone: parts.backbone.name,
      train: evaluateHead(head, train),
      heldout: evaluateHead(head, heldout),
      losses: head.losses ?? [],
    },
  };
}

/** A trained classifier as JSON: its report (the last loss instead of every step's) and its head's weights. */
export interface ArtifactClassifierRecord {
  report: Omit<ArtifactClassifierReport, "losses"> & { finalLoss?: number };
  head: { weight: number[]; bias: number[]; dim: number };
}

/** {@link trainArtifactClassifier} as plain data (see {@link ArtifactClassifierRecord}); no tensor is kept. */
export async function trainArtifactRecord(
  parts: { gen: GeneratorRunner; real: ImageSource; backbone: FrozenBackbone },
  labels: LabelSet,
  options: TrainArtifactOptions = {},
): Promise<ArtifactClassifierRecord> {
  const trained = await trainArtifactClassifier(parts, labels, options);
  trained.classifier.dispose();
  const { losses, ...report } = trained.report;
  const { weight, bias, dim } = trained.head;
  return {
    report: { ...report, finalLoss: losses.at(-1) },
    head: { weight: Array.from(weight), bias: Array.from(bias), dim },
  };
}

/** The classifier of a record ({@link trainArtifactRecord}) on its backbone; the caller disposes it. */
export function recordClassifier(
  backbone: FrozenBackbone,
  record: ArtifactClassifierRecord,
): ArtifactClassifier {
  const { weight, bias, dim } = record.head;
  return new ArtifactClassifier(backbone, {
    weight: Float32Array.from(weight),
    bias: Float32Array.from(bias),
    dim,
  });
}
