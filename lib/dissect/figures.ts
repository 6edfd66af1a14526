/**
 * Figures of GAN Dissection: how many interpretable units each concept has in a layer (a plotly bar chart, one
 * colour per scene class), the same and the best IoU per concept across layers, strips of the images where chosen
 * units fire most with the thresholded unit overlaid, the removal grid (more and more units ablated, the concept's
 * segmented fraction under each image), the boxes where a concept is densest (to place an insertion) with a way
 * to draw them, the insertion grid (units forced on inside those boxes), and the removal curves of several
 * rankings.
 *
 * The figures read a layer's `units.json` ({@link UnitsJson}, from `toUnitsJson` or the file) or the results of
 * `removal.ts` and `insertion.ts` (units, boxes, curves), so they can be redrawn from saved results: the few
 * images they show are generated again from their seeds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { dissectLayer, toUnitsJson } from "./mod.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { pickTopUnits, topUnitStrips, unitClassFigure } from "./figures.ts";
 * await initBackend({ backend: "cpu" });
 *
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
 * const bright = (images: tf.Tensor4D) => tf.tidy(() => tf.cast(tf.lessEqual(tf.mean(images, 3), 0), "int32"));
 * const units = toUnitsJson(
 *   await dissectLayer(gen, bright, "layer2", { samples: 8, concepts: ["bright", "dark"], progress: false }),
 * );
 * const figure = unitClassFigure(units); // bars: interpretable units per concept
 * const strips = await topUnitStrips(gen, "layer2", pickTopUnits(units, { concepts: 2 }), { images: 4 });
 * assert.deepEqual([figure.data.length, strips.width, strips.height], [1, 159, 84]);
 * await gen.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { SCENE_CLASSES } from "../data/scene_classes.ts";
import { labelFractions, segmentSeeds } from "./heldout.ts";
import type { InsertionResult } from "./insertion.ts";
import type { RemovalResult } from "./removal.ts";
import { boxMask, generateWithIntervention, type PixelBox } from "./interventions.ts";
import { conceptFractions, conceptIndex, sceneConcepts, type SegmentFn, segmentMasks } from "./segment_fn.ts";
import { unitMasks } from "./unit_iou.ts";
import type { UnitRecord, UnitsJson } from "./units_json.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import { stageIndex } from "../models/stages.ts";
import { convertChannels, type RawImage, toRawImage, toRawImages, type ValueRange } from "../io/raw_image.ts";
import { latents } from "../tensor/rng.ts";
import { assertImageBatch } from "../tensor/shape.ts";
import type { Color } from "../viz/font.ts";
import { imageGrid } from "../viz/grid.ts";
import { maskOverlay } from "../viz/heatmap.ts";
import {
  barFigure,
  type FigureOptions,
  lineFigure,
  type PlotlyFigure,
  type PlotlyLayout,
  type PlotlyTrace,
} from "../viz/plotly.ts";

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

/** The concepts that have interpretable units in a layer, with their numbers: `{ water: 9, sun: 1 }`. */
export function interpretableByConcept(units: UnitsJson): Record<string, number> {
  const counts = interpretableCounts(units);
  return Object.fromEntries(units.concepts.map((c, k) => [c, counts[k]] as const).filter(([, n]) => n > 0));
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
  /** Rows after those of `counts`, each a label and the units it ablates (e.g. a random control). */
  extraRows?: readonly { label: string; units: readonly number[] }[];
  /** One label per column (seed); default none. */
  colLabels?: readonly string[];
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
 * GAN Dissection's removal figure: one row per count of ablated units (the first `counts[row]` of `units`), then
 * the `extraRows`, one column per seed, the segmented fraction of the concept under each image (`tree 4.1%`).
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
  const rows = [
    ...counts.map((c) => ({ label: c ? `-${c} units` : "original", units: options.units.slice(0, c) })),
    ...(options.extraRows ?? []),
  ];
  const cells: RawImage[] = [];
  const fractions: number[][] = [];
  for (const row of rows) {
    const images = await generateWithIntervention(gen, options.seeds, {
      layer: options.layer,
      units: [...row.units],
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
    rows: rows.length,
    cols: options.seeds.length,
    rowLabels: rows.map((r) => r.label),
    ...(options.colLabels ? { colLabels: [...options.colLabels] } : {}),
    captions: fractions.flat().map((f) => `${concepts[k]} ${percent(f)}`),
    scale: options.scale ?? 2,
  });
  return { image, fractions };
}

/** `0.0412` → `"4.1%"`. */
const percent = (f: number) => `${(100 * f).toFixed(1)}%`;

/** Options of {@link insertionGrid}. */
export interface InsertionGridOptions {
  /** The stage whose units are set, e.g. `"layer6"`. */
  layer: string;
  /** The units set inside each place's boxes. */
  units: readonly number[];
  /** Their insertion values: one, or one per unit of the layer. */
  values: number | ArrayLike<number>;
  /** The concept inserted (captioned), by name or index among `concepts`. */
  concept: number | string;
  /** Concept names, indexing the segmenter's classes; default the scene classes. */
  concepts?: readonly string[];
  /** Latent seeds, one column each. */
  seeds: readonly number[];
  /** One row per place: its label, one box per seed (image pixels, e.g. `conceptBoxes`), its outline colour. */
  places: readonly { label: string; boxes: readonly PixelBox[]; color: Color }[];
  /** Integer magnification of each image; default 2. */
  scale?: number;
}

/** An insertion grid and the concept's share of every box in it. */
export interface InsertionGrid {
  image: RawImage;
  /** `fractions[place][column]`: the concept's share of the box's pixels after the insertion. */
  fractions: number[][];
}

/**
 * GAN Dissection's insertion figure: the unedited images with every place's box outlined (captioned by seed),
 * then one row per place with the units forced on inside its box (outlined in the place's colour), the
 * segmented share of the concept in the box under each image (`door 12.5%`).
 *
 * @param gen The generator.
 * @param segmenter Images → labels (see `SegmentFn`), at the images' resolution.
 * @returns The grid and the fractions; no tensor outlives the call.
 */
export async function insertionGrid(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  options: InsertionGridOptions,
): Promise<InsertionGrid> {
  const concepts = options.concepts ?? sceneConcepts();
  const k = conceptIndex(concepts, options.concept);
  const { seeds, places } = options;
  const stage = gen.model.stages[stageIndex(gen.model, options.layer)];
  const bad = places.find((p) => p.boxes.length !== seeds.length);
  if (bad) {
    throw new Error(`insertionGrid: "${bad.label}" has ${bad.boxes.length} boxes for ${seeds.length} seeds`);
  }
  const z = latents(seeds, gen.model.zDim);
  const { output } = await gen.run(z, { clamp: true }).finally(() => z.dispose());
  const originals = toRawImages(output);
  output.dispose();
  const cells = originals.map((f, i) =>
    outlineBoxes(f, places.map((p) => ({ box: p.boxes[i], color: p.color })))
  );
  const captions = seeds.map((s) => `seed ${s}`);
  const fractions: number[][] = [];
  for (const place of places) {
    const regions = tf.tidy(() =>
      tf.stack(place.boxes.map((b) => boxMask(b, { image: gen.model.resolution, layer: stage.size })))
    ) as tf.Tensor3D; // [N, h, w]
    const edited = await segmentSeeds(gen, segmenter, seeds, {
      intervention: {
        layer: options.layer,
        units: [...options.units],
        mode: "insert",
        values: options.values,
      },
      regions,
      show: seeds.length,
      progress: false,
    }).finally(() => regions.dispose());
    const row = labelFractions(edited, concepts.length, place.boxes).map((f) => f[k]);
    fractions.push(row);
    cells.push(...edited.shown.map((f, i) => outlineBoxes(f, [{ box: place.boxes[i], color: place.color }])));
    captions.push(...row.map((f) => `${concepts[k]} ${percent(f)}`));
  }
  const image = imageGrid(cells, {
    rows: 1 + places.length,
    cols: seeds.length,
    rowLabels: ["original", ...places.map((p) => p.label)],
    captions,
    scale: options.scale ?? 2,
  });
  return { image, fractions };
}

/**
 * {@link removalGrid} of a removal measured by `measureRemoval` (its counts, units and random control), on the
 * first few of its held-out seeds, the columns labelled by seed.
 */
export function removalFigure(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  removal: RemovalResult,
  options: {
    concept: number | string;
    concepts?: readonly string[];
    seeds: readonly number[];
    scale?: number;
  },
): Promise<RemovalGrid> {
  return removalGrid(gen, segmenter, {
    ...options,
    layer: removal.layer,
    units: removal.unit_ids,
    counts: removal.by_units.map((b) => b.units),
    extraRows: [{ label: `-${removal.units} random`, units: removal.random_control.unit_ids }],
    colLabels: options.seeds.map((s) => `seed ${s}`),
  });
}

/**
 * {@link insertionGrid} of an insertion measured by `measureInsertion` (its units and every place's boxes), on
 * the first few of its held-out seeds: the first place outlined in magenta, the others in cyan.
 *
 * @param options The insertion `values` and concept of the measurement, and the seeds shown (a prefix of its).
 */
export function insertionFigure(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  insertion: InsertionResult,
  options: Omit<InsertionGridOptions, "layer" | "units" | "places">,
): Promise<InsertionGrid> {
  return insertionGrid(gen, segmenter, {
    ...options,
    layer: insertion.layer,
    units: insertion.units,
    places: Object.entries(insertion.boxes).map(([place, boxes], i) => ({
      label: place.replace("_", " "),
      boxes: boxes.slice(0, options.seeds.length).map((b) => b.box),
      color: i === 0 ? [255, 0, 255] : [0, 255, 255],
    })),
  });
}

/** How {@link removalCurvesFigure} names the rankings of `removal.ts`; others keep their own names. */
const RANKING_NAMES: Record<string, string> = {
  iou: "ranked by IoU",
  ace: "ranked by single-unit ACE",
  causal: "causal set (optimised α)",
};

/**
 * The rankings of a layer's units compared (GAN Dissection's IoU vs ACE): the share of the images no longer the
 * concept vs the number of the ranking's units ablated, one line per ranking (the result of `removalCurves`).
 *
 * @param curves The layer, the concept's name, the counts (x) and, by ranking, the fraction removed (y).
 */
export function removalCurvesFigure(
  curves: {
    layer: string;
    concept: string;
    counts: readonly number[];
    removed: Readonly<Record<string, readonly number[]>>;
  },
  options: FigureOptions = {},
): PlotlyFigure {
  const { layer, concept } = curves;
  return lineFigure(
    Object.entries(curves.removed).map(([name, y]) => ({
      name: RANKING_NAMES[name] ?? name,
      x: [...curves.counts],
      y: [...y],
      mode: "lines+markers" as const,
    })),
    {
      title: `${layer}: ${concept} pixels removed on held-out samples vs units ablated`,
      xTitle: "units ablated",
      yTitle: `fraction of the image no longer ${concept}`,
      ...options,
    },
  );
}
