/**
 * The figures of a correction run, from its data: image grids (the labeller's extremes, the CAM of the artifact
 * class with its mask and the ground truth, original vs corrected, the failure cases) and plotly figures (the
 * defective scores of each layer, the sweeps). Each returns the picture; saving it is the caller's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sweepFigure } from "./figures.ts";
 * const fig = sweepFigure("stop", [{ value: 2, fd: 10 }, { value: 4, fd: 8 }], { metric: "FD", uncorrected: 12 });
 * assert.equal(fig.data.length, 2); // the sweep and the uncorrected level
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type RawImage, toRawImages } from "../io/raw_image.ts";
import type { Edits } from "../engine/edits.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import type { CamModel } from "../gradcam/cam.ts";
import { camMasks } from "../gradcam/masks.ts";
import { cam, type CamMethodName } from "../gradcam/methods.ts";
import { imageGrid } from "../viz/grid.ts";
import { heatmapOverlay, maskOverlay } from "../viz/heatmap.ts";
import { lineFigure, type PlotlyFigure } from "../viz/plotly.ts";
import type { AutoLabel } from "./auto_label.ts";
import { generateImages } from "./domain.ts";
import type { FailureCase } from "./evaluate.ts";
import type { SweepPoint, SweptParam } from "./sweep.ts";

/** The `count` most and `count` least flawed automatic labels, most flawed first (for a person to check). */
export function labelExtremes(labels: readonly AutoLabel[], count: number): AutoLabel[] {
  const byScore = [...labels].sort((a, b) => b.score - a.score);
  return [...byScore.slice(0, count), ...byScore.slice(-count)];
}

/** The generations of {@link labelExtremes} in two rows (most flawed first), each captioned with its score. */
export async function labelGrid(
  gen: GeneratorRunner,
  labels: readonly AutoLabel[],
  count: number,
): Promise<RawImage> {
  const shown = labelExtremes(labels, count);
  const images = await generateImages(gen, shown.map((l) => l.seed));
  try {
    return imageGrid(images, {
      cols: count,
      rowLabels: ["most flawed", "least flawed"],
      captions: shown.map((l) => l.score.toFixed(3)),
      scale: 2,
    });
  } finally {
    images.dispose();
  }
}

/** Options of {@link camGrid}. */
export interface CamGridOptions {
  /** CAM method; default `"gradcam"`. */
  method?: CamMethodName;
  /** The class whose CAM is drawn. */
  target: number;
  /** Mask threshold of the normalised CAM; default 0.5. */
  threshold?: number;
  /** Ground-truth masks `[N, H, W]` of images, drawn in a fourth row when given. */
  truth?: (images: tf.Tensor4D) => tf.Tensor3D | Promise<tf.Tensor3D>;
}

/**
 * One column per generation of `seeds`: the image, its CAM of `target` as a heat-map, the CAM's mask and (with
 * `truth`) the ground-truth mask.
 */
export async function camGrid(
  model: CamModel,
  gen: GeneratorRunner,
  seeds: readonly number[],
  options: CamGridOptions,
): Promise<RawImage> {
  const images = await generateImages(gen, seeds);
  const owned: tf.Tensor[] = [images];
  try {
    const { cams, logits } = cam(model, images, {
      method: options.method ?? "gradcam",
      target: options.target,
    });
    owned.push(cams, logits);
    const masks = camMasks(cams, { threshold: options.threshold ?? 0.5 });
    owned.push(masks);
    const truth = options.truth && await options.truth(images);
    if (truth) owned.push(truth);
    const overlays = (maps: tf.Tensor3D, draw: (img: RawImage, map: tf.Tensor) => RawImage) =>
      toRawImages(images).map((img, i) => {
        const map = tf.tidy(() => tf.squeeze(tf.slice(maps, [i, 0, 0], [1, -1, -1]), [0])); // [H, W]
        try {
          return draw(img, map);
        } finally {
          map.dispose();
        }
      });
    const cells = [
      ...toRawImages(images),
      ...overlays(cams, (img, c) => heatmapOverlay(img, c, { alpha: 0.5 })),
      ...overlays(masks, (img, m) => maskOverlay(img, m)),
      ...(truth ? overlays(truth, (img, m) => maskOverlay(img, m, { color: [0, 160, 255] })) : []),
    ];
    const rowLabels = ["generated", "Grad-CAM", "mask", ...(truth ? ["defect map"] : [])];
    return imageGrid(cells, { cols: seeds.length, rowLabels, scale: 2 });
  } finally {
    tf.dispose(owned);
  }
}

/** The generations of `seeds` under each row's edits, one row per correction (labelled by its key). */
export async function correctedGrid(
  gen: GeneratorRunner,
  seeds: readonly number[],
  rows: Record<string, { edits: Edits }>,
): Promise<RawImage> {
  const grids: tf.Tensor4D[] = [];
  try {
    for (const row of Object.values(rows)) grids.push(await generateImages(gen, seeds, { edits: row.edits }));
    const all = tf.concat(grids);
    try {
      return imageGrid(all, { cols: seeds.length, rowLabels: Object.keys(rows), scale: 2 });
    } finally {
      all.dispose();
    }
  } finally {
    tf.dispose(grids);
  }
}

/**
 * The failure cases of a correction (e.g. from `failureCases`): the original generations over the corrected
 * ones, captioned with the seed and the share of pixels that moved.
 */
export async function failureGrid(
  gen: GeneratorRunner,
  cases: readonly FailureCase[],
  edits: Edits,
): Promise<RawImage> {
  const seeds = cases.map((c) => c.seed);
  const images = [await generateImages(gen, seeds)];
  try {
    images.push(await generateImages(gen, seeds, { edits }));
    const both = tf.concat(images);
    try {
      return imageGrid(both, {
        cols: cases.length,
        rowLabels: ["original", "seq. corr."],
        captions: [
          ...cases.map((c) => `seed ${c.seed}`),
          ...cases.map((c) => `${(100 * c.change).toFixed(0)}% moved`),
        ],
        scale: 2,
      });
    } finally {
      both.dispose();
    }
  } finally {
    tf.dispose(images);
  }
}

/**
 * Each layer's defective scores by formula (1) or (2), units sorted from the highest score, against the unit's
 * rank as a fraction of its layer.
 */
export function defectiveScoreFigure(
  scores: Record<string, { ds1: ArrayLike<number>; ds2: ArrayLike<number> }>,
  formula: 1 | 2,
): PlotlyFigure {
  return lineFigure(
    Object.entries(scores).map(([layer, s]) => {
      const ds = Array.from(formula === 1 ? s.ds1 : s.ds2).sort((a, b) => b - a);
      return { name: layer, x: ds.map((_, r) => r / ds.length), y: ds };
    }),
    {
      title: `Defective scores, formula (${formula}) ${
        formula === 1 ? "mean IoU" : "mean intersection"
      }, units sorted`,
      xTitle: "unit rank (fraction of the layer)",
      yTitle: formula === 1 ? "DS (1)" : "DS (2)",
    },
  );
}

/** One sweep: the metric (each point's `fd`) against the swept value, and the uncorrected level. */
export function sweepFigure(
  param: SweptParam,
  points: readonly SweepPoint[],
  options: { metric: string; uncorrected: number },
): PlotlyFigure {
  const { metric } = options;
  const x = points.map((p) => p.value);
  const axis = param === "stop" ? "stopping layer l" : param;
  return lineFigure([
    { name: metric, x, y: points.map((p) => p.fd), mode: "lines+markers" },
    { name: `${metric}, uncorrected`, x, y: points.map(() => options.uncorrected) },
  ], {
    title: `Sequential correction: ${metric} of held-out artifact generations vs ${axis}`,
    xTitle: axis,
    yTitle: metric,
  });
}
