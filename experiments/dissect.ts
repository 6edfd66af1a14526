/**
 * `deno task exp:dissect`: GAN Dissection of a scenes generator (Bau et al. 2019) — which units draw which
 * concepts, and what happens when they are switched off or forced on.
 *
 *     deno task exp:dissect [--model data/models/scenes_pggan64.safetensors] [--segmenter …]
 *         [--layers layer4,layer6] [--samples 2000] [--heldout 200] [--heldout-seed-offset 1000000] …
 *
 * Writes under `<out>/<model>/` (default `results/dissection/scenes_pggan64/`):
 * - per layer `<layer>/units.json` (every unit: concept, IoU, threshold, top images), `unit_classes.png/.html`
 *   (interpretable units per concept) and `top_units.png` (top-activating images of the best units of a few
 *   concepts, the thresholded unit overlaid);
 * - `layers.png/.html`: the layers compared, interpretable units and best IoU per concept;
 * - `interventions.json`: removal of `--remove` units on `--remove-layer`, insertion of `--insert` units on
 *   `--insert-layer` (on `--insert-on` vs in the sky), and the rankings compared; `remove_trees.png` (images as
 *   more units are ablated, with the measured concept fraction under each), `insert_doors.png` and
 *   `ace_vs_iou.png/.html` (concept pixels removed vs number of units ablated, units ranked by IoU, by
 *   single-unit ACE, or by the optimised causal set's strengths α);
 * - `meta.json` (config, timings, seconds per sample) and `cache/` (tally cache: a re-run with the same weights,
 *   segmenter and samples reuses the dissection).
 *
 * `--no-interventions` stops after the dissection. Flags: `--help`.
 *
 * The intervention layers are dissected too when `--layers` does not name them. The units removed are, by default,
 * GAN Dissection's causal set (`--remove-by causal`): per-unit strengths α optimised by gradient descent to remove
 * the concept, started from the units' IoU (`lib/dissect/causal_set.ts`); `--remove-by iou` or `ace` take the
 * best units by IoU or by single-unit ACE instead.
 *
 * Seeds: the dissection uses latent seeds `0 … samples−1`; the insertion values, the single-unit ACE ranking and
 * the causal set's optimisation use the first of those; every removal and insertion is measured on held-out seeds
 * `heldoutSeedOffset + 0 … heldout−1`, which must not overlap them.
 *
 * @module
 */
import { basename, extname, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, initBackend } from "../lib/backend/backend.ts";
import {
  alphaFromIoU,
  averageCausalEffect,
  boxMask,
  collectConceptMeans,
  type ConceptActivationMean,
  conceptIndex,
  dissectLayer,
  generateWithIntervention,
  insertionValues,
  type Intervention,
  type LayerDissection,
  optimizeCausalSet,
  rankUnitsByAce,
  relabelledShare,
  sceneConcepts,
  type SegmentFn,
  toConceptMasks,
  toUnitsJson,
} from "../lib/dissect/mod.ts";
import { createGenerator, type EngineName } from "../lib/engine/select.ts";
import { TfjsGenerator } from "../lib/engine/tfjs.ts";
import { writeJsonAtomic } from "../lib/io/atomic.ts";
import { savePng } from "../lib/io/png.ts";
import { loadGenerator } from "../lib/models/load.ts";
import { disposeSegmenter, forward, loadSegmenter, segment } from "../lib/models/segmenter.ts";
import { stageIndex } from "../lib/models/stages.ts";
import { hashKey } from "../lib/stats/tally.ts";
import { latents, Rng } from "../lib/tensor/rng.ts";
import type { Color } from "../lib/viz/font.ts";
import { parseConfig } from "../lib/util/config.ts";
import { RunRecorder } from "../lib/util/meta.ts";
import { progress } from "../lib/util/progress.ts";
import {
  type ConceptBox,
  conceptBoxes,
  interpretableCounts,
  layerComparisonFigure,
  outlineBoxes,
  pickTopUnits,
  topUnitStrips,
  unitClassFigure,
} from "../lib/viz/dissection.ts";
import {
  hasChromium,
  imageGrid,
  lineFigure,
  type PlotlyFigure,
  saveFigureHtml,
  saveFigurePng,
} from "../lib/viz/mod.ts";

const config = parseConfig(
  {
    model: "data/models/scenes_pggan64.safetensors", // any checkpoint loadGenerator reads (.pth too)
    segmenter: "data/models/scenes_segmenter.safetensors",
    layers: ["layer4", "layer6"],
    samples: 2000, // dissection latents: seeds 0 … samples−1
    heldout: 200, // held-out latents for every intervention measurement
    heldoutSeedOffset: 1_000_000, // … seeds heldoutSeedOffset + 0 … heldout−1
    interventions: true, // false: stop after the dissection
    remove: "tree", // the concept to remove …
    removeLayer: "layer4", // … from this layer …
    removeBy: "causal", // … ranking its units by: causal (optimised α), iou, ace (single-unit ACE) …
    removeUnits: [0, 5, 10, 20], // … and ablating this many of the best (one grid row each)
    causalSamples: 64, // dissection seeds the causal set is optimised on
    causalEpochs: 10, // passes over them (Adam, lr 0.01, batch --batch)
    causalL2: 0.005, // weight of the L2 penalty on α
    curveUnits: [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20], // points of the IoU-vs-ACE ranking curves
    aceSamples: 64, // dissection seeds for the single-unit ACE ranking (2 runs per unit and sample)
    aceCandidates: 0, // units ranked by single-unit ACE: 0 = all, n = the n best by IoU
    insert: "door", // the concept to insert …
    insertLayer: "layer6", // … on this layer …
    insertUnits: 20, // … with this many of its best units by IoU …
    insertOn: "wall", // … in a box where this concept is densest (and, to compare, where the sky is)
    insertBox: 16, // box side in pixels (a multiple of the layer's cell)
    minShare: 0.5, // boxes count when at least this share of them is wall (sky)
    meansSamples: 500, // dissection seeds for the insertion values (presence-weighted mean activations)
    show: 8, // images per row of the figures
    topImages: 6, // top-activating images per unit in top_units.png
    batch: 16,
    backend: "wasm",
    engine: "ort",
    out: "results/dissection",
    figurePng: true, // also render figures to PNG (needs Chromium)
  },
  Deno.args,
  {
    description: "deno task exp:dissect [flags]: GAN Dissection of a generator (see experiments/dissect.ts)",
  },
);

const run = new RunRecorder("dissect", config);
const info = await initBackend({ backend: config.backend as BackendName });
console.error(`tfjs backend: ${info.backend}, ${info.threads} thread(s)`);
const model = await run.time("load", () => loadGenerator(config.model));
const segmenterModel = await loadSegmenter(config.segmenter);
const segmenter: SegmentFn = (images) => segment(segmenterModel, images);
const gen = await createGenerator(model, { engine: config.engine as EngineName });
const concepts = sceneConcepts();
const K = concepts.length;
const outDir = join(config.out, basename(config.model, extname(config.model)));
const pngFigures = config.figurePng && hasChromium();
if (config.figurePng && !pngFigures) console.warn("Chromium is missing: figures are written as HTML only");

for (
  const flag of ["samples", "heldout", "show", "topImages", "batch", "causalSamples", "causalEpochs"] as const
) {
  if (!(Number.isInteger(config[flag]) && config[flag] >= 1)) {
    const name = flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new Error(`--${name}: Expected a positive integer, got ${config[flag]}`);
  }
}
const seedRange = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i);
const dissectionSeeds = seedRange(0, config.samples);
const heldoutSeeds = seedRange(config.heldoutSeedOffset, config.heldout);
if (config.heldoutSeedOffset < config.samples) {
  throw new Error(
    `--heldout-seed-offset ${config.heldoutSeedOffset} overlaps the ${config.samples} dissection seeds`,
  );
}
const RANKINGS = ["causal", "iou", "ace"] as const;
type RankingName = typeof RANKINGS[number];
if (!RANKINGS.includes(config.removeBy as RankingName)) {
  throw new Error(`--remove-by: Expected one of ${RANKINGS.join(", ")}, got "${config.removeBy}"`);
}
/** The stage a flag names, the error naming the flag (`stageIndex` lists the stages). */
const stageOf = (flag: string, name: string) => {
  try {
    return model.stages[stageIndex(model, name)];
  } catch (e) {
    throw new Error(`--${flag} ${name}: ${(e as Error).message} (${config.model})`);
  }
};
// Without interventions, their layers are neither checked nor dissected (the first layer stands in, unused).
const [removeStage, insertStage] = config.interventions
  ? [stageOf("remove-layer", config.removeLayer), stageOf("insert-layer", config.insertLayer)]
  : Array(2).fill(stageOf("layers", config.layers[0]));
/** Dissected layers: `--layers`, then the intervention layers it does not name. */
const dissectedLayers = config.interventions
  ? [...new Set([...config.layers, config.removeLayer, config.insertLayer])]
  : config.layers;
const cell = model.resolution / insertStage.size; // image pixels per cell of the insertion layer
if (config.interventions && !(config.insertBox >= cell && config.insertBox % cell === 0)) {
  throw new Error(
    `--insert-box must be a multiple of ${config.insertLayer}'s cell of ${cell} pixels, got ${config.insertBox}`,
  );
}
const [removeK, insertK, onK, skyK] = [config.remove, config.insert, config.insertOn, "sky"].map((c) =>
  conceptIndex(concepts, c)
);

/** Save a figure as HTML and, with Chromium, PNG (`<path>.html`, `<path>.png`). */
async function saveFigure(path: string, fig: PlotlyFigure): Promise<void> {
  await saveFigureHtml(`${path}.html`, fig);
  if (pngFigures) await run.time("figure png", () => saveFigurePng(`${path}.png`, fig));
}

const pct = (v: number | null) => (v === null ? "n/a" : `${(100 * v).toFixed(1)}%`);

// ---- Dissection ----

/** Dissect every layer (cached), write its units.json and figures, and the cross-layer figure. */
async function dissectLayers(): Promise<Map<string, LayerDissection>> {
  const segmenterKey = `${basename(config.segmenter)}:${hashKey(await Deno.readFile(config.segmenter))}`;
  const results = new Map<string, LayerDissection>();
  for (const name of dissectedLayers) {
    const result = await run.time(`dissect ${name}`, () =>
      dissectLayer(gen, segmenter, name, {
        samples: dissectionSeeds,
        batch: config.batch,
        concepts,
        cache: { dir: join(outDir, "cache"), segmenter: segmenterKey },
      }));
    results.set(name, result);
    const units = toUnitsJson(result);
    const dir = join(outDir, name);
    await writeJsonAtomic(join(dir, "units.json"), units);
    await saveFigure(join(dir, "unit_classes"), unitClassFigure(units));
    const strips = await run.time(
      "top images",
      () => topUnitStrips(gen, name, pickTopUnits(units), { images: config.topImages }),
    );
    await savePng(join(dir, "top_units.png"), strips);
  }
  await saveFigure(
    join(outDir, "layers"),
    layerComparisonFigure([...results.values()].map((r) => toUnitsJson(r))),
  );
  return results;
}

// ---- Measurements on held-out samples ----

/** Held-out images segmented: labels `[N·H·W]` (row-major per image) and the first `config.show` images. */
interface Segmented {
  labels: Int32Array;
  /** `[S, H, W, 3]`; whoever holds the record disposes it. */
  shown: tf.Tensor4D;
}

/**
 * Generate the held-out images (under `intervention`, with `regions` `[N, h, w]`, one per image, when given)
 * and segment them.
 */
async function segmentHeldout(
  what: string,
  intervention?: Omit<Intervention, "region">,
  regions?: tf.Tensor3D,
): Promise<Segmented> {
  const n = heldoutSeeds.length;
  const pixels = model.resolution * model.resolution;
  const labels = new Int32Array(n * pixels);
  const shown: tf.Tensor4D[] = [];
  const bar = progress(n, { label: what, unit: "img" });
  for (let start = 0; start < n; start += config.batch) {
    const seeds = heldoutSeeds.slice(start, start + config.batch);
    const region = regions && tf.slice(regions, [start, 0, 0], [seeds.length, -1, -1]);
    let images: tf.Tensor4D;
    if (intervention) {
      images = await generateWithIntervention(gen, seeds, { ...intervention, region });
    } else {
      const z = latents(seeds, model.zDim);
      images = (await gen.run(z, { clamp: true }).finally(() => z.dispose())).output;
    }
    const ids = segment(segmenterModel, images); // [n, H, W]
    labels.set(await ids.data() as Int32Array, start * pixels);
    if (start < config.show) shown.push(tf.slice(images, 0, Math.min(seeds.length, config.show - start)));
    tf.dispose(region ? [region, images, ids] : [images, ids]);
    bar.tick(seeds.length);
  }
  bar.done();
  const all = tf.concat(shown);
  tf.dispose(shown);
  return { labels, shown: all };
}

/** Per held-out image, the fraction of each concept's pixels (inside `boxes[i]` when given): `[N][K]`. */
function fractions(seg: Segmented, boxes?: ConceptBox[]): number[][] {
  const size = model.resolution;
  return heldoutSeeds.map((_, i) => {
    const counts = new Array(K).fill(0);
    const b = boxes?.[i].box ?? { x0: 0, y0: 0, x1: size, y1: size };
    for (let y = b.y0; y < b.y1; y++) {
      for (let x = b.x0; x < b.x1; x++) counts[seg.labels[(i * size + y) * size + x]]++;
    }
    return counts.map((c) => c / ((b.x1 - b.x0) * (b.y1 - b.y0)));
  });
}

/** Mean of column `k` over the rows picked by `keep` (default all); null when none is picked. */
function meanOf(rows: number[][], k: number, keep: (i: number) => boolean = () => true): number | null {
  const picked = rows.filter((_, i) => keep(i)).map((r) => r[k]);
  return picked.length ? picked.reduce((a, b) => a + b, 0) / picked.length : null;
}

/** Mean fraction of every concept but `skip`, by name. */
function otherConcepts(rows: number[][], skip: number): Record<string, number | null> {
  return Object.fromEntries(concepts.flatMap((name, k) => (k === skip ? [] : [[name, meanOf(rows, k)]])));
}

// ---- Interventions ----

/** Units of the dissected layer, best IoU with `concept` first. */
function unitsByIoU(dissection: LayerDissection, concept: number): number[] {
  const iou = dissection.counts.iou(); // [U·K]
  const units = Array.from({ length: dissection.counts.units }, (_, u) => u);
  return units.sort((a, b) => iou[b * K + concept] - iou[a * K + concept] || a - b);
}

/** Insertion values of `concept` for every unit: presence-weighted means, else (never seen) the units' q99. */
function insertionValuesOf(concept: number, dissection: LayerDissection, means: ConceptActivationMean) {
  if (means.presence(concept) > 0) return { values: means.mean(concept), kind: "presence-weighted mean" };
  console.warn(`${concepts[concept]} never appears in the images: inserting the units' 99th percentiles`);
  return { values: insertionValues({ sketch: dissection.sketch }), kind: "99th percentile" };
}

/**
 * Removal: ablate more and more of the concept's best units by `ranking` (`--remove-units`), draw the images with
 * the measured fraction under each, and measure the ACE of the largest set. Returns the unedited held-out images'
 * segmentation (its `shown` images are the caller's) and the results.
 */
async function measureRemoval(ranking: number[], values: ArrayLike<number>) {
  const steps: { count: number; units: number[]; seg: Segmented; rows: number[][] }[] = [];
  for (const count of config.removeUnits) {
    const units = ranking.slice(0, count);
    const seg = await run.time(
      "removal",
      () =>
        segmentHeldout(
          count ? `ablate ${count} ${config.remove} units` : "original",
          count ? { layer: config.removeLayer, units, mode: "ablate" } : undefined,
        ),
    );
    steps.push({ count, units, seg, rows: fractions(seg) });
  }
  const original = steps.find((s) => s.count === 0)?.seg ?? await segmentHeldout("original");
  const before = fractions(original);
  const most = steps.reduce((a, b) => (b.count > a.count ? b : a));
  // The control: as many units of the layer, drawn at random (seeded), ablated the same way.
  const randomUnits = new Rng(config.heldoutSeedOffset).permutation(removeStage.channels).slice(
    0,
    most.count,
  );
  const control = await run.time(
    "removal",
    () =>
      segmentHeldout(`ablate ${most.count} random units`, {
        layer: config.removeLayer,
        units: randomUnits,
        mode: "ablate",
      }),
  );
  const controlRows = fractions(control);
  const ace = await run.time("ACE of the removed set", () =>
    averageCausalEffect(gen, segmenter, {
      layer: config.removeLayer,
      units: most.units,
      concept: removeK,
      concepts,
      values,
      samples: heldoutSeeds,
      batch: config.batch,
    }));

  const cols = original.shown.shape[0];
  // One row per step, then the random control.
  const rows = [
    ...steps.map((s) => ({
      label: s.count ? `-${s.count} units` : "original",
      seg: s.seg,
      fractions: s.rows,
    })),
    { label: `-${most.count} random`, seg: control, fractions: controlRows },
  ];
  const shown = tf.concat(rows.map((r) => r.seg.shown)); // [rows·cols, H, W, 3]
  const grid = imageGrid(shown, {
    rows: rows.length,
    cols,
    rowLabels: rows.map((r) => r.label),
    colLabels: heldoutSeeds.slice(0, cols).map((s) => `seed ${s}`),
    captions: rows.flatMap((r) =>
      r.fractions.slice(0, cols).map((f) => `${config.remove} ${pct(f[removeK])}`)
    ),
    scale: 2,
  });
  await savePng(join(outDir, `remove_${config.remove}s.png`), grid);
  tf.dispose([shown, ...rows.map((r) => r.seg.shown).filter((t) => t !== original.shown)]);
  return {
    original,
    result: {
      layer: config.removeLayer,
      ranking: config.removeBy,
      units: most.count,
      unit_ids: most.units,
      samples: heldoutSeeds.length,
      before: meanOf(before, removeK),
      after: meanOf(most.rows, removeK),
      others_before: otherConcepts(before, removeK),
      others_after: otherConcepts(most.rows, removeK),
      others_relabelled: relabelledShare(original.labels, most.seg.labels, removeK),
      random_control: {
        unit_ids: randomUnits,
        after: meanOf(controlRows, removeK),
        others_after: otherConcepts(controlRows, removeK),
        others_relabelled: relabelledShare(original.labels, control.labels, removeK),
      },
      by_units: steps.map((s) => ({ units: s.count, fraction: meanOf(s.rows, removeK) })),
      ace: {
        samples: ace.samples,
        base: ace.base,
        ablated: ace.ablated,
        inserted: ace.inserted,
        ace: ace.ace,
        std_err: ace.aceStdErr,
      },
    },
  };
}

/** The removal layer's units in three orders, best first, with what each was ranked by. */
interface Rankings {
  iou: number[];
  ace: number[];
  causal: number[];
  /** Single-unit ACE of every ranked unit, best first. */
  aceOf: { unit: number; ace: number; std_err: number }[];
  /** The optimised strengths α (one per unit) and the objective per epoch. */
  alpha: Float32Array;
  history: { objective: number; penalty: number }[];
}

/**
 * Rank the removal layer's units for `--remove` three ways: by IoU with the concept; by single-unit ACE (on the
 * first `--ace-samples` dissection seeds; `--ace-candidates` n limits it to the n best by IoU); and by GAN
 * Dissection's causal set: strengths α optimised to remove the concept (on the first `--causal-samples` seeds),
 * started from the units' IoU.
 */
async function rankRemovalUnits(dissection: LayerDissection, values: ArrayLike<number>): Promise<Rankings> {
  const iou = unitsByIoU(dissection, removeK);
  const aceRanking = await run.time("single-unit ACE", () =>
    rankUnitsByAce(gen, segmenter, {
      layer: config.removeLayer,
      concept: removeK,
      concepts,
      values,
      units: config.aceCandidates > 0 ? iou.slice(0, config.aceCandidates) : undefined,
      samples: dissectionSeeds.slice(0, config.aceSamples),
      batch: config.batch,
    }));
  const causal = await run.time("causal set", () => {
    const tfjs = new TfjsGenerator(model);
    try {
      return optimizeCausalSet(tfjs, (images) => forward(segmenterModel, images), {
        layer: config.removeLayer,
        concept: removeK,
        concepts,
        samples: dissectionSeeds.slice(0, config.causalSamples),
        batch: config.batch,
        epochs: config.causalEpochs,
        l2: config.causalL2,
        init: alphaFromIoU(dissection, removeK),
      });
    } finally {
      tfjs.dispose();
    }
  });
  return {
    iou,
    ace: aceRanking.map((r) => r.units[0]),
    causal: causal.ranking,
    aceOf: aceRanking.map((r) => ({ unit: r.units[0], ace: r.ace, std_err: r.aceStdErr })),
    alpha: causal.alpha,
    history: causal.history,
  };
}

const RANKING_LABELS: Record<RankingName, string> = {
  iou: "ranked by IoU",
  ace: "ranked by single-unit ACE",
  causal: "causal set (optimised α)",
};

/**
 * The concept's pixels removed on the held-out images as the top `--curve-units` of each ranking are ablated
 * (the chosen ranking's points are measured again here, so the three curves share one procedure).
 */
async function rankingCurves(rankings: Rankings, original: Segmented) {
  const counts = config.curveUnits.filter((k) => k >= 1 && k <= rankings.ace.length);
  const before = meanOf(fractions(original), removeK)!;
  const removed: Record<RankingName, number[]> = { iou: [], ace: [], causal: [] };
  for (const name of RANKINGS) {
    for (const count of counts) {
      const units = rankings[name].slice(0, count);
      const seg = await run.time(
        "ranking curves",
        () => segmentHeldout(`${name} top ${count}`, { layer: config.removeLayer, units, mode: "ablate" }),
      );
      removed[name].push(before - meanOf(fractions(seg), removeK)!);
      seg.shown.dispose();
    }
  }
  await saveFigure(
    join(outDir, "ace_vs_iou"),
    lineFigure(
      RANKINGS.map((name) => ({
        name: RANKING_LABELS[name],
        x: counts,
        y: removed[name],
        mode: "lines+markers" as const,
      })),
      {
        title: `${config.removeLayer}: ${config.remove} pixels removed on held-out samples vs units ablated`,
        xTitle: "units ablated",
        yTitle: `fraction of the image no longer ${config.remove}`,
      },
    ),
  );
  return {
    concept: config.remove,
    layer: config.removeLayer,
    before,
    ace_samples: Math.min(config.aceSamples, config.samples),
    causal_samples: Math.min(config.causalSamples, config.samples),
    units: counts,
    removed_by_iou_ranking: removed.iou,
    removed_by_ace_ranking: removed.ace,
    removed_by_causal_ranking: removed.causal,
    iou_ranking: rankings.iou.slice(0, 20),
    ace_ranking: rankings.aceOf.slice(0, 20),
    causal_ranking: rankings.causal.slice(0, 20).map((unit) => ({ unit, alpha: rankings.alpha[unit] })),
    causal_history: rankings.history,
  };
}

/**
 * Insertion: force the concept's best units (by IoU) on inside one box per image, where `--insert-on` is densest
 * (a building's wall) vs where the sky is; measure the concept's share of the box before and after, over the
 * images whose box is at least `--min-share` wall (resp. sky). Draws the images with the boxes. `added`: per
 * place, the mean share added (null when no image qualifies).
 */
async function measureInsertion(
  ranking: number[],
  values: { values: ArrayLike<number>; kind: string },
  original: Segmented,
) {
  const units = ranking.slice(0, config.insertUnits);
  const masks = tf.tidy(() =>
    toConceptMasks(tf.tensor3d(original.labels, [heldoutSeeds.length, model.resolution, model.resolution]), K)
  ); // [N, H, W, K]
  const onName = config.insertOn === "wall" ? "on_building" : `on_${config.insertOn}`;
  const places: [string, ConceptBox[], Color][] = [
    [onName, conceptBoxes(masks, onK, { size: config.insertBox, stride: cell }), [255, 0, 255]],
    ["in_sky", conceptBoxes(masks, skyK, { size: config.insertBox, stride: cell }), [0, 255, 255]],
  ];
  masks.dispose();
  const added: Record<string, number | null> = {};
  const detail: Record<string, unknown> = {};
  const cols = original.shown.shape[0];
  const originals = tf.unstack(original.shown) as tf.Tensor3D[];
  const cells = originals.map((f, i) =>
    outlineBoxes(f, places.map(([, boxes, color]) => ({ box: boxes[i].box, color })))
  );
  const captions = heldoutSeeds.slice(0, cols).map((s) => `seed ${s}`);
  tf.dispose(originals);
  for (const [place, boxes, color] of places) {
    const regions = tf.tidy(() =>
      tf.stack(boxes.map((b) => boxMask(b.box, { image: model.resolution, layer: insertStage.size })))
    ) as tf.Tensor3D; // [N, h, w]
    const seg = await run.time(
      "insertion",
      () =>
        segmentHeldout(`insert ${config.insert} ${place}`, {
          layer: config.insertLayer,
          units,
          mode: "insert",
          values: values.values,
        }, regions),
    );
    regions.dispose();
    const [inBefore, inAfter] = [fractions(original, boxes), fractions(seg, boxes)];
    const keep = (i: number) => boxes[i].share >= config.minShare;
    added[place] = meanOf(inAfter.map((row, i) => [row[insertK] - inBefore[i][insertK]]), 0, keep);
    detail[place] = {
      samples: heldoutSeeds.filter((_, i) => keep(i)).length,
      before: meanOf(inBefore, insertK, keep),
      after: meanOf(inAfter, insertK, keep),
    };
    const edited = tf.unstack(seg.shown) as tf.Tensor3D[];
    cells.push(...edited.map((f, i) => outlineBoxes(f, [{ box: boxes[i].box, color }])));
    captions.push(...inAfter.slice(0, cols).map((r) => `${config.insert} ${pct(r[insertK])}`));
    tf.dispose([...edited, seg.shown]);
  }
  await savePng(
    join(outDir, `insert_${config.insert}s.png`),
    imageGrid(cells, {
      rows: 1 + places.length,
      cols,
      rowLabels: ["original", ...places.map(([place]) => place.replace("_", " "))],
      captions,
      scale: 2,
    }),
  );
  return {
    added,
    result: {
      layer: config.insertLayer,
      units,
      values: values.kind,
      box: config.insertBox,
      min_share: config.minShare,
      ...added,
      detail,
    },
  };
}

// ---- Main ----

const dissections = await dissectLayers();
const summary: Record<string, unknown> = {
  out: outDir,
  interpretable_units: Object.fromEntries([...dissections.values()].map((d) => {
    const units = toUnitsJson(d);
    const counts = interpretableCounts(units);
    return [d.layer, Object.fromEntries(units.concepts.map((c, k) => [c, counts[k]]).filter(([, n]) => n))];
  })),
};
if (config.interventions) {
  const meansOf = new Map<string, ConceptActivationMean>();
  const meansAt = async (layer: string) => {
    if (!meansOf.has(layer)) {
      meansOf.set(
        layer,
        await run.time("insertion values", () =>
          collectConceptMeans(gen, segmenter, layer, {
            samples: dissectionSeeds.slice(0, config.meansSamples),
            batch: config.batch,
            concepts: K,
          })),
      );
    }
    return meansOf.get(layer)!;
  };
  const removeDissection = dissections.get(config.removeLayer)!;
  const removeValues = insertionValuesOf(removeK, removeDissection, await meansAt(config.removeLayer));
  const rankings = await rankRemovalUnits(removeDissection, removeValues.values);
  const { original, result: removal } = await measureRemoval(
    rankings[config.removeBy as RankingName],
    removeValues.values,
  );
  const curves = await rankingCurves(rankings, original);
  const insertDissection = dissections.get(config.insertLayer)!;
  const { added, result: insertion } = await measureInsertion(
    unitsByIoU(insertDissection, insertK),
    insertionValuesOf(insertK, insertDissection, await meansAt(config.insertLayer)),
    original,
  );
  original.shown.dispose();
  await writeJsonAtomic(join(outDir, "interventions.json"), {
    model: config.model,
    heldout_seeds: [heldoutSeeds[0], heldoutSeeds.at(-1)],
    removal: { [config.remove]: { ...removal, insertion_values: removeValues.kind } },
    insertion: { [config.insert]: insertion },
    ace_vs_iou: curves,
  });
  summary.removal = {
    [config.remove]: { units: removal.units, before: removal.before, after: removal.after },
  };
  summary.insertion = { [config.insert]: added };
}
await gen.dispose();
disposeSegmenter(segmenterModel);
const perSample = Object.fromEntries(
  dissectedLayers.map((name) => [`dissect ${name}`, run.timings[`dissect ${name}`] / config.samples]),
);
await run.write(outDir, {
  engine: gen.engine,
  interpretable_units: summary.interpretable_units,
  seconds_per_sample: perSample,
  note: "a dissection's time is ~0 when the tally cache (cache/) already held it",
});
console.log(JSON.stringify({ ...summary, seconds: run.meta().seconds }));
