/**
 * The passes of a layer's dissection over its samples (used by `dissect_layer.ts` and `iqr_thresholds.ts`;
 * not re-exported by `mod.ts`): each pass generates the samples' images batch by batch, feeds a statistic,
 * and runs through `tally` (`stats/tally.ts`), so with a cache it is computed once and resumes after an
 * interruption.
 *
 * - pass 1, {@link summarizeLayer}: the layer's activations only (the generator stops at the layer), for
 *   every unit's activation quantiles and top images;
 * - pass 2, {@link segmentedPass}: images, activations and segmentations, for any statistic of activations
 *   against concept masks (the unit–concept counts, or the IQR criterion's level histogram).
 *
 * Each pass is cached under its own name, keyed by the model's hash, the layer and the pass's settings (and
 * the segmenter's name for pass 2).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { GeneratorRunner } from "../engine/select.ts";
import { checkStatJSON, type StatJSON } from "../stats/protocol.ts";
import { QuantileSketch, type QuantileSketchOptions } from "../stats/quantile_sketch.ts";
import { type Statistic, tally, type TallyCache } from "../stats/tally.ts";
import { RunningTopK } from "../stats/topk.ts";
import { latents } from "../tensor/rng.ts";
import { generateSegmented, type SegmentFn } from "./segment_fn.ts";

/** Upsampled values per chunk of images: bounds the memory of one upsampling (16 MB of float32). */
export const CHUNK_VALUES = 2 ** 22;

/** Pass 1 of a dissection: each unit's activation quantiles and top images. */
export class LayerSummary {
  constructor(readonly sketch: QuantileSketch, readonly topk: RunningTopK) {}

  get count(): number {
    return this.topk.count;
  }

  merge(other: LayerSummary): void {
    this.sketch.merge(other.sketch);
    this.topk.merge(other.topk);
  }

  toJSON(): StatJSON {
    return { kind: "LayerSummary", version: 1, sketch: this.sketch.toJSON(), topk: this.topk.toJSON() };
  }

  static fromJSON(json: unknown): LayerSummary {
    const j = checkStatJSON(json, "LayerSummary", 1, "LayerSummary.fromJSON");
    return new LayerSummary(QuantileSketch.fromJSON(j.sketch), RunningTopK.fromJSON(j.topk));
  }
}

/** What every pass over the samples shares. */
export interface PassContext {
  gen: GeneratorRunner;
  layer: string;
  units: number;
  seeds: number[];
  batch: number;
  progress: boolean;
  /** Cache folder, segmenter name and the model's hash; undefined without a cache. */
  cache?: { dir: string; segmenter: string; checkpointEvery?: number; model: string };
}

/** The tally cache of one pass, keyed by the model, the layer and `key`. */
function passCache<S>(
  ctx: PassContext,
  name: string,
  key: Record<string, unknown>,
  fromJSON: (json: unknown) => S,
): TallyCache<S> | undefined {
  if (!ctx.cache) return undefined;
  const { dir, checkpointEvery, model } = ctx.cache;
  return {
    dir,
    name: `${ctx.layer}-${name}`,
    key: { model, layer: ctx.layer, ...key },
    fromJSON,
    checkpointEvery,
  };
}

/** Pass 1: every unit's activation quantiles and top images (the generator runs up to the layer only). */
export function summarizeLayer(
  ctx: PassContext,
  options: { sketch: Omit<QuantileSketchOptions, "seed">; topK: number },
): Promise<LayerSummary> {
  const { gen, layer, units } = ctx;
  return tally(
    async (seeds: number[], start: number) => {
      const z = latents(seeds, gen.model.zDim);
      const { output: acts } = await gen.run(z, { to: layer }).finally(() => z.dispose());
      try {
        // Each batch's sketch flips its own coins (seeded by its offset) before the merge.
        const stat = new LayerSummary(
          new QuantileSketch(units, { ...options.sketch, seed: start }),
          new RunningTopK(units, { k: options.topK }),
        );
        stat.sketch.add(acts);
        stat.topk.add(acts, seeds);
        return stat;
      } finally {
        acts.dispose();
      }
    },
    ctx.seeds,
    {
      batch: ctx.batch,
      progress: ctx.progress && { label: `${layer} quantiles` },
      cache: passCache(ctx, "summary", options, LayerSummary.fromJSON),
    },
  );
}

/**
 * Pass 2: a statistic of activations against segmentations. Each batch is generated and segmented, then fed
 * to `addChunk` a few images at a time (activations `[n, h, w, U]`, concept masks `[n, H, W, K]`).
 */
export function segmentedPass<S extends Statistic<S>>(
  ctx: PassContext,
  segmenter: SegmentFn,
  pass: {
    name: string;
    key: Record<string, unknown>;
    concepts: number;
    create: () => S;
    fromJSON: (json: unknown) => S;
    addChunk: (stat: S, acts: tf.Tensor4D, masks: tf.Tensor4D) => void;
  },
): Promise<S> {
  const { gen, layer, units } = ctx;
  return tally(
    async (seeds: number[]) => {
      const { images, acts, masks } = await generateSegmented(gen, segmenter, {
        seeds,
        layer,
        concepts: pass.concepts,
      });
      try {
        const stat = pass.create();
        const [n, h, w] = masks.shape;
        const chunk = Math.max(1, Math.floor(CHUNK_VALUES / (h * w * units)));
        for (let start = 0; start < n; start += chunk) {
          const size = Math.min(chunk, n - start);
          const part = tf.slice(acts, [start, 0, 0, 0], [size, -1, -1, -1]);
          const partMasks = tf.slice(masks, [start, 0, 0, 0], [size, -1, -1, -1]);
          try {
            pass.addChunk(stat, part, partMasks);
          } finally {
            tf.dispose([part, partMasks]);
          }
        }
        return stat;
      } finally {
        tf.dispose([images, acts, masks]);
      }
    },
    ctx.seeds,
    {
      batch: ctx.batch,
      progress: ctx.progress && { label: `${layer} ${pass.name}` },
      cache: passCache(ctx, pass.name, { ...pass.key, segmenter: ctx.cache?.segmenter }, pass.fromJSON),
    },
  );
}
