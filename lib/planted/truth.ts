/**
 * Ground truth of a planted fault from its clean twin on the same latents: per-image damage, truth masks, and
 * the oracle labeller (a perfect human labeller).
 *
 * For a seed `z`, the clean generator `G` and the planted one `G'` (images clamped to [-1, 1], `C` channels):
 *
 *     Δ(z)[y, x]  = 1/C Σ_c |G'(z) − G(z)|[y, x, c]        the damage map
 *     truth mask  = Δ(z) > threshold                        (default 0.5: a quarter of the value range, visible)
 *     damage(z)   = mean_{y,x} Δ(z)[y, x]
 *     share(z)    = mean_{y,x} [Δ(z) > threshold]
 *
 * The oracle calls a seed `artifact` when its share is at least `artifactShare` (default 2% of the image),
 * `normal` when it is at most `normalShare` (default 0.1%), and skips the rest.
 *
 * {@link imageDistance} measures the same mean absolute difference between any two (generator, edits) pairs, from
 * which `score.ts` forms restoration and collateral damage.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Edits } from "../engine/edits.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import type { ArtifactMaskFn } from "../correct/defective_score.ts";
import type { LabelSet } from "../correct/labels.ts";
import { generateImages } from "../correct/domain.ts";
import { concatFloat32 } from "../tensor/host.ts";

/** A generator with optional edits: one side of a comparison. */
export interface EditedGenerator {
  gen: GeneratorRunner;
  edits?: Edits;
}

/** Default threshold of the truth masks on the channel-mean absolute difference. */
export const TRUTH_THRESHOLD = 0.5;

/** Per-seed damage of a planting (see the module documentation). */
export interface DamageRecord {
  seeds: number[];
  /** Mean |Δ| per image. */
  damage: Float64Array;
  /** Share of pixels with Δ above the threshold, per image. */
  share: Float64Array;
}

/** Per-seed mean |a − b| and share of pixels above `threshold` ({@link setDistance} of two {@link imageSet}s). */
export async function imageDistance(
  a: EditedGenerator,
  b: EditedGenerator,
  seeds: readonly number[],
  options: { batch?: number; threshold?: number } = {},
): Promise<DamageRecord> {
  const { batch, threshold = TRUTH_THRESHOLD } = options;
  return setDistance(await imageSet(a, seeds, { batch }), await imageSet(b, seeds, { batch }), threshold);
}

/** Generated images of fixed seeds kept on the host, to compare many corrections against. */
export interface ImageSet {
  seeds: number[];
  /** `[N, H, W, C]` values, clamped. */
  data: Float32Array;
  shape: [number, number, number, number];
}

/** The images of `seeds` (clamped), on the host. */
export async function imageSet(
  side: EditedGenerator,
  seeds: readonly number[],
  options: { batch?: number } = {},
): Promise<ImageSet> {
  const { batch = 32 } = options;
  const parts: Float32Array[] = [];
  let shape: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < seeds.length; i += batch) {
    const x = await generateImages(side.gen, seeds.slice(i, i + batch), { edits: side.edits });
    shape = [seeds.length, x.shape[1], x.shape[2], x.shape[3]];
    parts.push(await x.data() as Float32Array);
    x.dispose();
  }
  return { seeds: [...seeds], data: concatFloat32(parts), shape };
}

/** Per-image mean |a − b| and share of pixels whose channel-mean |a − b| is above `threshold`. */
export function setDistance(a: ImageSet, b: ImageSet, threshold = TRUTH_THRESHOLD): DamageRecord {
  if (a.data.length !== b.data.length) throw new Error("setDistance: image sets differ in size");
  const [n, h, w, c] = a.shape;
  const damage = new Float64Array(n), share = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0, above = 0;
    for (let p = 0; p < h * w; p++) {
      let d = 0;
      const at = (i * h * w + p) * c;
      for (let k = 0; k < c; k++) d += Math.abs(a.data[at + k] - b.data[at + k]);
      d /= c;
      sum += d;
      if (d > threshold) above++;
    }
    damage[i] = sum / (h * w);
    share[i] = above / (h * w);
  }
  return { seeds: a.seeds, damage, share };
}

/**
 * Truth masks as an {@link ArtifactMaskFn}: for images generated from `seeds` (by the planted generator, perhaps
 * edited), the pixels that differ from the clean twin by more than `threshold`.
 */
export function truthMasks(clean: GeneratorRunner, threshold = TRUTH_THRESHOLD): ArtifactMaskFn {
  return async (images, seeds) => {
    const reference = await generateImages(clean, seeds);
    try {
      return tf.tidy(() =>
        tf.cast(tf.greater(tf.mean(tf.abs(tf.sub(images, reference)), 3), threshold), "float32")
      );
    } finally {
      reference.dispose();
    }
  };
}

/** Options of {@link oracleLabels}. */
export interface OracleOptions {
  /** Artifact when the damaged share is at least this; default 0.02. */
  artifactShare?: number;
  /** Normal when the damaged share is at most this; default 0.001. */
  normalShare?: number;
}

/** The oracle's labels of the seeds of `record` (see the module documentation). */
export function oracleLabels(record: DamageRecord, options: OracleOptions = {}): LabelSet {
  const { artifactShare = 0.02, normalShare = 0.001 } = options;
  return new Map(record.seeds.map((seed, i) => {
    const s = record.share[i];
    const label = s >= artifactShare ? "artifact" : s <= normalShare ? "normal" : "skip";
    return [seed, { label, source: `oracle:share=${s.toFixed(4)}` }] as const;
  }));
}
