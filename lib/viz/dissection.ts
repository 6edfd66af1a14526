/**
 * Figures of GAN Dissection: how many interpretable units each concept has in a layer (a plotly bar chart, one
 * colour per scene class), the same and the best IoU per concept across layers, strips of the images where chosen
 * units fire most with the thresholded unit overlaid, the removal grid (more and more units ablated, the concept's
 * segmented fraction under each image), and the boxes where a concept is densest (to place an insertion) with a
 * way to draw them.
 *
 * The figures read a layer's `units.json` ({@link UnitsJson}, from `toUnitsJson` or the file), so they can be
 * redrawn from saved results.
 *
 * @example
 * ```ts
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { dissectLayer, toUnitsJson } from "../dissect/mod.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { pickTopUnits, topUnitStrips, unitClassFigure } from "./dissection.ts";
 * await initBackend({ backend: "cpu" });
 *
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
 * const bright = (images: tf.Tensor4D) => tf.tidy(() => tf.cast(tf.lessEqual(tf.mean(images, 3), 0), "int32"));
 * const units = toUnitsJson(
 *   await dissectLayer(gen, bright, "layer2", { samples: 8, concepts: ["bright", "dark"], progress: false }),
 * );
 * const figure = unitClassFigure(units); // bars: interpretable units per concept
 * const strips = await topUnitStrips(gen, "layer2", pickTopUnits(units, { concepts: 2 }), { images: 4 });
 * console.log(figure.data.length, strips.width, strips.height);
 * await gen.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { SCENE_CLASSES } from "../data/scene_classes.ts";
import { generateWithIntervention, type PixelBox } from "../dissect/interventions.ts";
import {
  conceptFractions,
  conceptIndex,
  sceneConcepts,
  type SegmentFn,
  segmentMasks,
} from "../dissect/segmenter.ts";
import { unitMasks, type UnitRecord, type UnitsJson } from "../dissect/unit_iou.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import { stageIndex } from "../models/stages.ts";
import { convertChannels, type RawImage, toRawImage, toRawImages, type ValueRange } from "../io/raw_image.ts";
import { latents } from "../tensor/rng.ts";
import { assertImageBatch } from "../tensor/shape.ts";
import type { Color } from "./font.ts";
import { imageGrid } from "./grid.ts";
import { maskOverlay } from "./heatmap.ts";
import {
  barFigure,
  type FigureOptions,
  type PlotlyFigure,
  type PlotlyLayout,
  type PlotlyTrace,
} from "./plotly.ts";

/** The display colour of a scene class as a CSS colour, or undefined for other concept names. */
function conceptColor(name: string): string | undefined {
  const c = SCENE_CLASSES.find((k) => k.name === name)?.display;
  return c && `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** Interpretable units of a layer, counted by concept: `[count per concept]` in `units.concepts` order. */
export function interpretableCounts(units: UnitsJson): number[] {
  const counts = units.concepts.map(() => 0);
  for (const u of units.units) {
    const k = units.concepts.indexOf(u.concept);
    if (k < 0) {
      throw new Error(`unit ${u.unit}: concept "${u.concept}" is not one of ${units.concepts.join(", ")}`);
    }
    if (u.interpretable) counts[k]++;
  }
  return counts;
}

/**
 * The unit-class distribution of a layer: one bar per concept (most units first, scene classes in their display
 * colours), the number of its interpretable units (IoU above the dissection's threshold).
 *
 * @param units The layer's `units.json`.
 * @param options Title and size; the default title names the layer and counts interpretable units.
 */
export function unitClassFigure(units: UnitsJson, options: FigureOptions = {}): PlotlyFigure {
  const counts = interpretableCounts(units);
  const order = counts.map((c, k) => [c, k]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, k]) => k);
  const names = order.map((k) => units.concepts[k]);
  const total = counts.reduce((a, b) => a + b, 0);
  const fig = barFigure(names, order.map((k) => counts[k]), {
    title:
      `${units.layer}: ${total} of ${units.units.length} units interpretable (IoU > ${units.iou_threshold})`,
    xTitle: "concept",
    yTitle: "interpretable units",
    ...options,
  });
  fig.data[0].marker = { color: names.map((n) => conceptColor(n) ?? "rgb(99, 110, 250)") };
  (fig.layout.yaxis as Record<string, unknown>).rangemode = "nonnegative";
  return fig;
}

/** Per concept (in `units.concepts` order), the highest IoU of a unit labelled with it; 0 when none is. */
export function bestIouByConcept(units: UnitsJson): number[] {
  const best = units.concepts.map(() => 0);
  for (const u of units.units) {
    const k = units.concepts.indexOf(u.concept);
    if (k >= 0) best[k] = Math.max(best[k], u.iou);
  }
  return best;
}

/** plotly's default trace colours, so that a layer has the same colour in both panels. */
const LAYER_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

/**
 * Layers compared concept by concept, in two panels of grouped bars (one bar per layer): the number of
 * interpretable units (top), and the highest IoU of a unit labelled with the concept, with the interpretability
 * threshold as a dashed line (bottom; it still tells layers apart when no unit passes the threshold).
 *
 * @param layers The `units.json` of each layer, in the order to draw them; they must share their concepts.
 * @param options Title and size; default title "Layers compared by concept", height 650.
 */
export function layerComparisonFigure(
  layers: readonly UnitsJson[],
  options: FigureOptions = {},
): PlotlyFigure {
  if (layers.length === 0) throw new Error("layerComparisonFigure: Expected at least one layer, got none");
  const concepts = layers[0].concepts;
  for (const l of layers) {
    if (l.concepts.join() !== concepts.join()) {
      throw new Error(`layerComparisonFigure: ${l.layer} has concepts [${l.concepts}], not [${concepts}]`);
    }
  }
  const data: PlotlyTrace[] = layers.flatMap((l, i) => {
    const common = { type: "bar", x: concepts, legendgroup: l.layer, marker: { color: LAYER_COLORS[i % 8] } };
    return [
      { ...common, name: `${l.layer} (${l.units.length} units)`, y: interpretableCounts(l) },
      { ...common, name: l.layer, y: bestIouByConcept(l), xaxis: "x2", yaxis: "y2", showlegend: false },
    ];
  });
  const threshold = layers[0].iou_threshold;
  const layout: PlotlyLayout = {
    title: { text: options.title ?? "Layers compared by concept" },
    height: options.height ?? 650,
    barmode: "group",
    margin: { l: 70, r: 20, t: 60, b: 60 },
    xaxis: { anchor: "y" },
    yaxis: { domain: [0.56, 1], rangemode: "nonnegative", title: { text: "interpretable units" } },
    xaxis2: { anchor: "y2", title: { text: options.xTitle ?? "concept" } },
    yaxis2: { domain: [0, 0.44], rangemode: "nonnegative", title: { text: "best IoU of its units" } },
    shapes: [{
      type: "line",
      xref: "paper",
      x0: 0,
      x1: 1,
      yref: "y2",
      y0: threshold,
      y1: threshold,
      line: { dash: "dash", color: "#444", width: 1 },
    }],
  };
  if (options.width !== undefined) layout.width = options.width;
  return { data, layout };
}

/** Options of {@link pickTopUnits}. */
export interface PickTopUnitsOptions {
  /** How many concepts; default 4. */
  concepts?: number;
  /** Units per concept; default 2. */
  perConcept?: number;
}

/**
 * The best units of a few concepts, for {@link topUnitStrips}: concepts ranked by their number of interpretable
 * units, then by their best IoU (so a layer without interpretable units still shows its closest matches); for
 * each, the units labelled with it, highest IoU first.
 */
export function pickTopUnits(units: UnitsJson, options: PickTopUnitsOptions = {}): UnitRecord[] {
  const byConcept = new Map<string, UnitRecord[]>();
  for (const u of units.units) byConcept.set(u.concept, [...(byConcept.get(u.concept) ?? []), u]);
  const score = (list: UnitRecord[]) => [
    list.filter((u) => u.interpretable).length,
    Math.max(...list.map((u) => u.iou)),
  ];
  const ranked = [...byConcept.values()].map((list) => ({ list, score: score(list) })).sort((a, b) =>
    b.score[0] - a.score[0] || b.score[1] - a.score[1]
  );
  return ranked.slice(0, options.concepts ?? 4).flatMap(({ list }) =>
    [...list].sort((a, b) => b.iou - a.iou || a.unit - b.unit).slice(0, options.perConcept ?? 2)
  );
}

/** Options of {@link topUnitStrips}. */
export interface TopUnitStripOptions {
  /** Images per unit (the unit's top images, best first); default 6, fewer when fewer were kept. */
  images?: number;
  /** Integer magnification of each image; default 2. */
  scale?: number;
  /** Colour of the unit's mask; default orange-red `[255, 64, 0]`. */
  color?: Color;
}

/**
 * One row per unit: its top-activating images (`top_images`, latent seeds) regenerated, with the unit's mask
 * `upsample(a_u) > T_u` (the dissection's own mask, see `unitMasks`) tinted and outlined. Rows are labelled
 * `u<unit> <concept> <IoU>`.
 *
 * @param gen The generator that was dissected.
 * @param layer The dissected layer.
 * @param units The units to show (records of the layer's `units.json`, e.g. from {@link pickTopUnits}).
 * @returns An RGB image.
 */
export async function topUnitStrips(
  gen: GeneratorRunner,
  layer: string,
  units: readonly UnitRecord[],
  options: TopUnitStripOptions = {},
): Promise<RawImage> {
  if (units.length === 0) throw new Error("topUnitStrips: Expected at least one unit, got none");
  const channels = gen.model.stages[stageIndex(gen.model, layer)].channels;
  const bad = units.find((u) => !Number.isInteger(u.unit) || u.unit < 0 || u.unit >= channels);
  if (bad) throw new Error(`unit ${bad.unit} is out of range for ${layer}'s ${channels} units`);
  const cols = Math.min(options.images ?? 6, ...units.map((u) => u.top_images.length));
  if (!(cols >= 1)) throw new Error("topUnitStrips: every unit needs at least one top image");
  const seeds = units.flatMap((u) => u.top_images.slice(0, cols));
  const z = latents(seeds, gen.model.zDim);
  const { output: images, traces } = await gen.run(z, { trace: [layer], clamp: true }).finally(() =>
    z.dispose()
  );
  const acts = traces[layer]; // [R·cols, h, w, C]
  const [, height, width] = images.shape;
  const cells: RawImage[] = [];
  try {
    for (const [row, u] of units.entries()) {
      const [frames, masks] = tf.tidy(() => {
        const unitActs = tf.slice(acts, [row * cols, 0, 0, u.unit], [cols, -1, -1, 1]); // [cols, h, w, 1]
        const m = unitMasks(unitActs, [u.threshold], [height, width]); // [cols, H, W, 1]
        return [tf.unstack(tf.slice(images, [row * cols, 0, 0, 0], [cols, -1, -1, -1])), tf.unstack(m)];
      });
      frames.forEach((f, i) => cells.push(maskOverlay(f, masks[i], { color: options.color })));
      tf.dispose([...frames, ...masks]);
    }
  } finally {
    tf.dispose([images, acts]);
  }
  return imageGrid(cells, {
    rows: units.length,
    cols,
    rowLabels: units.map((u) => `u${u.unit} ${u.concept} ${u.iou.toFixed(2)}`),
    colLabels: Array.from({ length: cols }, (_, i) => `top ${i + 1}`),
    scale: options.scale ?? 2,
  });
}

/** Where a concept is densest in one image: the box and the concept's share of its pixels. */
export interface ConceptBox {
  box: PixelBox;
  share: number;
}

/**
 * For each image, the `size`×`size` pixel box (positions every `stride` pixels) that holds the largest share of
 * `concept`, e.g. a patch of wall to insert a door on. Ties go to the top-left-most box.
 *
 * @param masks `[N, H, W, K]` binary concept masks (e.g. `segmentMasks`); the caller keeps them.
 * @param concept The concept's index `k`.
 * @param options `size` of the box in pixels; `stride` between candidate boxes, default `size`. With a stride of
 *   the layer's cell size the boxes cover whole feature-map cells.
 */
export function conceptBoxes(
  masks: tf.Tensor4D,
  concept: number,
  options: { size: number; stride?: number },
): ConceptBox[] {
  const { n, h, w, c } = assertImageBatch(masks, "masks");
  const { size } = options;
  const stride = options.stride ?? size;
  if (!Number.isInteger(concept) || concept < 0 || concept >= c) {
    throw new Error(`concept: Expected an index in [0, ${c}), got ${concept}`);
  }
  if (
    !Number.isInteger(size) || size < 1 || size > Math.min(h, w) || !Number.isInteger(stride) || stride < 1
  ) {
    throw new Error(
      `conceptBoxes: Expected 1 ≤ size ≤ ${Math.min(h, w)} and stride ≥ 1, got ${size}, ${stride}`,
    );
  }
  const share = tf.tidy(() => {
    const mask = tf.cast(tf.slice(masks, [0, 0, 0, concept], [-1, -1, -1, 1]), "float32") as tf.Tensor4D;
    return tf.avgPool(mask, size, stride, "valid"); // [N, rows, cols, 1]
  });
  const [, rows, cols] = share.shape;
  const values = share.dataSync();
  share.dispose();
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let p = 1; p < rows * cols; p++) {
      if (values[i * rows * cols + p] > values[i * rows * cols + best]) best = p;
    }
    const [y0, x0] = [Math.floor(best / cols) * stride, (best % cols) * stride];
    return { box: { x0, y0, x1: x0 + size, y1: y0 + size }, share: values[i * rows * cols + best] };
  });
}

/**
 * Frame boxes on an image with one-pixel outlines (e.g. where units were inserted); parts outside the image are
 * clipped.
 *
 * @param image A tensor `[H, W, C]` in `options.range` (default `"-1,1"`; the caller keeps it) or a {@link RawImage}.
 * @param boxes Pixel boxes and their RGB colours, drawn in order.
 * @returns A new RGB image.
 */
export function outlineBoxes(
  image: tf.Tensor | RawImage,
  boxes: readonly { box: PixelBox; color: Color }[],
  options: { range?: ValueRange } = {},
): RawImage {
  const base = convertChannels(toRawImage(image, options), 3);
  const { width, height } = base;
  const data = new Uint8Array(base.data);
  const paint = (x: number, y: number, color: Color) => {
    if (x >= 0 && x < width && y >= 0 && y < height) data.set(color, (y * width + x) * 3);
  };
  for (const { box, color } of boxes) {
    for (let x = box.x0; x < box.x1; x++) [box.y0, box.y1 - 1].forEach((y) => paint(x, y, color));
    for (let y = box.y0; y < box.y1; y++) [box.x0, box.x1 - 1].forEach((x) => paint(x, y, color));
  }
  return { data, height, width, channels: 3 };
}

/** Options of {@link removalGrid}. */
export interface RemovalGridOptions {
  /** The stage whose units are ablated, e.g. `"layer6"`. */
  layer: string;
  /** The units in ranking order, best first; a row ablates the first `counts[row]` of them. */
  units: readonly number[];
  /** The concept whose pixel fraction is captioned, by name or index among `concepts`. */
  concept: number | string;
  /** Concept names, indexing the segmenter's classes; default the scene classes. */
  concepts?: readonly string[];
  /** Latent seeds, one column each. */
  seeds: readonly number[];
  /** Units ablated per row; default `[0, 5, 10, 20]` (0: the unedited images). */
  counts?: readonly number[];
  /** Integer magnification of each image; default 2. */
  scale?: number;
}

/** A removal grid and the concept fraction of every image in it. */
export interface RemovalGrid {
  image: RawImage;
  /** `fractions[row][column]`: the share of the image's pixels the segmenter gives the concept. */
  fractions: number[][];
}

/**
 * GAN Dissection's removal figure: one row per count of ablated units (the first `counts[row]` of `units`), one
 * column per seed, the segmented fraction of the concept under each image (`tree 4.1%`).
 *
 * @param gen The generator.
 * @param segmenter Images → labels or concept masks (see `SegmentFn`).
 * @returns The grid and the fractions; no tensor outlives the call.
 */
export async function removalGrid(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  options: RemovalGridOptions,
): Promise<RemovalGrid> {
  const concepts = options.concepts ?? sceneConcepts();
  const k = conceptIndex(concepts, options.concept);
  const counts = options.counts ?? [0, 5, 10, 20];
  const bad = counts.find((c) => !Number.isInteger(c) || c < 0 || c > options.units.length);
  if (bad !== undefined) {
    throw new Error(`removalGrid: a count must be an integer in 0 … ${options.units.length}, got ${bad}`);
  }
  const cells: RawImage[] = [];
  const fractions: number[][] = [];
  for (const count of counts) {
    const units = options.units.slice(0, count);
    const images = await generateWithIntervention(gen, options.seeds, {
      layer: options.layer,
      units,
      mode: "ablate",
    });
    try {
      const masks = await segmentMasks(segmenter, images, concepts.length); // [N, H', W', K]
      const row = tf.tidy(() =>
        tf.squeeze(tf.slice(conceptFractions(masks), [0, k], [-1, 1]), [1]).dataSync()
      );
      masks.dispose();
      fractions.push(Array.from(row));
      cells.push(...toRawImages(images));
    } finally {
      images.dispose();
    }
  }
  const image = imageGrid(cells, {
    rows: counts.length,
    cols: options.seeds.length,
    rowLabels: counts.map((c) => (c ? `-${c} units` : "original")),
    captions: fractions.flat().map((f) => `${concepts[k]} ${(100 * f).toFixed(1)}%`),
    scale: options.scale ?? 2,
  });
  return { image, fractions };
}
