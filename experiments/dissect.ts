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
 * - `layers.png/.html`: interpretable units per concept across the layers;
 * - on `--intervention-layer` (default the first layer): `interventions.json` (removal of `--remove` units,
 *   insertion of `--insert` units on `--insert-on` vs in the sky, ACE-vs-IoU rankings), `remove_trees.png`
 *   (images as more units are ablated, with the measured concept fraction under each), `insert_doors.png` and
 *   `ace_vs_iou.png/.html` (concept pixels removed vs number of units ablated, units ranked by IoU or by
 *   single-unit ACE);
 * - `meta.json` (config, timings, seconds per sample) and `cache/` (tally cache: a re-run with the same weights,
 *   segmenter and samples reuses the dissection).
 *
 * Seeds: the dissection uses latent seeds `0 … samples−1`; the insertion values and the single-unit ACE ranking
 * use the first of those; every removal and insertion is measured on held-out seeds
 * `heldoutSeedOffset + 0 … heldout−1`, which must not overlap them.
 *
 * @module
 */
import { basename, extname, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, initBackend } from "../lib/backend/backend.ts";
import {
  averageCausalEffect,
  boxMask,
  collectConceptMeans,
  conceptIndex,
  dissectLayer,
  generateWithIntervention,
  insertionValues,
  type Intervention,
  type LayerDissection,
  rankUnitsByAce,
  sceneConcepts,
  type SegmentFn,
  toConceptMasks,
  toUnitsJson,
  type UnitsJson,
} from "../lib/dissect/mod.ts";
import { createGenerator, type EngineName } from "../lib/engine/select.ts";
import { writeJsonAtomic } from "../lib/io/atomic.ts";
import type { RawImage } from "../lib/io/raw_image.ts";
import { savePng } from "../lib/io/png.ts";
import { loadGenerator } from "../lib/models/load.ts";
import { loadSegmenter, segment } from "../lib/models/segmenter.ts";
import { stageIndex } from "../lib/models/stages.ts";
import { hashKey } from "../lib/stats/tally.ts";
import { latents } from "../lib/tensor/rng.ts";
import { parseConfig } from "../lib/util/config.ts";
import { RunRecorder } from "../lib/util/meta.ts";
import { progress } from "../lib/util/progress.ts";
import {
  type ConceptBox,
  conceptBoxes,
  interpretableCounts,
  layerComparisonFigure,
  pickTopUnits,
  topUnitStrips,
  unitClassFigure,
} from "../lib/viz/dissection.ts";
import {
  hasChromium,
  imageGrid,
  lineFigure,
  maskOverlay,
  type PlotlyFigure,
  saveFigureHtml,
  saveFigurePng,
} from "../lib/viz/mod.ts";

const config = parseConfig(
  {
    model: "data/models/scenes_pggan64.safetensors",
    segmenter: "data/models/scenes_segmenter.safetensors",
    layers: ["layer4", "layer6"],
    samples: 2000,
    heldout: 200,
    heldoutSeedOffset: 1_000_000,
    interventionLayer: "",
    remove: "tree",
    removeUnits: [0, 5, 10, 20],
    curveUnits: [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20],
    aceSamples: 64,
    aceCandidates: 0,
    insert: "door",
    insertUnits: 20,
    insertOn: "wall",
    insertBox: 16,
    minShare: 0.5,
    meansSamples: 500,
    show: 8,
    topImages: 6,
    batch: 16,
    backend: "wasm",
    engine: "ort",
    out: "results/dissection",
    figurePng: true,
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

const seedRange = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i);
const dissectionSeeds = seedRange(0, config.samples);
const heldoutSeeds = seedRange(config.heldoutSeedOffset, config.heldout);
if (config.heldoutSeedOffset < config.samples) {
  throw new Error(
    `--heldout-seed-offset ${config.heldoutSeedOffset} overlaps the ${config.samples} dissection seeds`,
  );
}
const layer = config.interventionLayer || config.layers[0];
if (!config.layers.includes(layer)) {
  throw new Error(`--intervention-layer ${layer} is not one of the dissected --layers ${config.layers}`);
}
const stage = model.stages[stageIndex(model, layer)];
const cell = model.resolution / stage.size; // image pixels per feature-map cell

/** Save a figure as HTML and, with Chromium, PNG (`<path>.html`, `<path>.png`). */
async function saveFigure(path: string, fig: PlotlyFigure): Promise<void> {
  await saveFigureHtml(`${path}.html`, fig);
  if (pngFigures) await run.time("figure png", () => saveFigurePng(`${path}.png`, fig));
}

// ---- 1. Dissection of every layer (cached) ----

const segmenterKey = `${basename(config.segmenter)}:${hashKey(await Deno.readFile(config.segmenter))}`;
const dissections = new Map<string, LayerDissection>();
const unitsJsons: UnitsJson[] = [];
for (const name of config.layers) {
  const result = await run.time(`dissect ${name}`, () =>
    dissectLayer(gen, segmenter, name, {
      samples: dissectionSeeds,
      batch: config.batch,
      concepts,
      cache: { dir: join(outDir, "cache"), segmenter: segmenterKey },
    }));
  dissections.set(name, result);
  const units = toUnitsJson(result);
  unitsJsons.push(units);
  const dir = join(outDir, name);
  await writeJsonAtomic(join(dir, "units.json"), units);
  await saveFigure(join(dir, "unit_classes"), unitClassFigure(units));
  const strips = await run.time(
    "top images",
    async () => topUnitStrips(gen, name, pickTopUnits(units), { images: config.topImages }),
  );
  await savePng(join(dir, "top_units.png"), strips);
}
await saveFigure(join(outDir, "layers"), layerComparisonFigure(unitsJsons));

// ---- 2. Interventions on one layer, measured on held-out samples ----

/** Units of the intervention layer, best IoU with `concept` first. */
function unitsByIoU(concept: number): number[] {
  const iou = dissections.get(layer)!.counts.iou(); // [U·K]
  const units = Array.from({ length: stage.channels }, (_, u) => u);
  return units.sort((a, b) => iou[b * K + concept] - iou[a * K + concept] || a - b);
}

/** Held-out images segmented: labels `[N·H·W]` (row-major per image) and the first `config.show` images. */
interface Segmented {
  labels: Int32Array;
  pixels: number;
  shown: tf.Tensor4D;
}

/**
 * Generate the held-out images (under `intervention`, with `regions` `[N, h, w]` per image when given), segment
 * them, and keep the labels; the caller disposes `shown`.
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
    const images = intervention
      ? await generateWithIntervention(gen, seeds, { ...intervention, region })
      : await plainImages(seeds);
    const ids = segment(segmenterModel, images); // [n, H, W]
    labels.set(await ids.data() as Int32Array, start * pixels);
    if (start < config.show) shown.push(tf.slice(images, 0, Math.min(seeds.length, config.show - start)));
    tf.dispose(region ? [region, images, ids] : [images, ids]);
    bar.tick(seeds.length);
  }
  bar.done();
  const all = tf.concat(shown);
  tf.dispose(shown);
  return { labels, pixels, shown: all };
}

async function plainImages(seeds: number[]): Promise<tf.Tensor4D> {
  const z = latents(seeds, model.zDim);
  const { output } = await gen.run(z, { clamp: true }).finally(() => z.dispose());
  return output;
}

/** Per image, the fraction of each concept's pixels (inside `boxes[i]` when given): `[N][K]`. */
function fractions(seg: Segmented, boxes?: ConceptBox[]): number[][] {
  const size = model.resolution;
  return heldoutSeeds.map((_, i) => {
    const counts = new Array(K).fill(0);
    const b = boxes?.[i].box ?? { x0: 0, y0: 0, x1: size, y1: size };
    for (let y = b.y0; y < b.y1; y++) {
      for (let x = b.x0; x < b.x1; x++) counts[seg.labels[i * seg.pixels + y * size + x]]++;
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
function otherConcepts(rows: number[][], skip: number): Record<string, number> {
  return Object.fromEntries(concepts.flatMap((name, k) => (k === skip ? [] : [[name, meanOf(rows, k)!]])));
}

const pct = (v: number | null) => (v === null ? "n/a" : `${(100 * v).toFixed(1)}%`);

/** Insertion values of `concept` for every unit: presence-weighted means, else (concept never seen) the sketch's q99. */
function valuesFor(concept: number, means: Awaited<ReturnType<typeof collectConceptMeans>>) {
  if (means.presence(concept) > 0) return { values: means.mean(concept), kind: "presence-weighted mean" };
  console.warn(`${concepts[concept]} never appears in the images: inserting the units' 99th percentiles`);
  return { values: insertionValues({ sketch: dissections.get(layer)!.sketch }), kind: "99th percentile" };
}

const removeK = conceptIndex(concepts, config.remove);
const insertK = conceptIndex(concepts, config.insert);
const onK = conceptIndex(concepts, config.insertOn);
const skyK = conceptIndex(concepts, "sky");
const removeRanking = unitsByIoU(removeK);
const means = await run.time("insertion values", () =>
  collectConceptMeans(gen, segmenter, layer, {
    samples: dissectionSeeds.slice(0, config.meansSamples),
    batch: config.batch,
    concepts: K,
  }));

// 2a. Removal: ablate the units with the best IoU for the concept, more and more of them.
const removal = [];
const removalImages: tf.Tensor4D[] = [];
let original: Segmented | undefined;
for (const count of config.removeUnits) {
  const units = removeRanking.slice(0, count);
  const seg = await run.time("removal", () =>
    segmentHeldout(
      `ablate ${count} ${config.remove} units`,
      count > 0 ? { layer, units, mode: "ablate" } : undefined,
    ));
  removal.push({ count, units, seg, rows: fractions(seg) });
  removalImages.push(seg.shown);
  if (count === 0) original = seg;
}
original ??= await segmentHeldout("original");
const before = fractions(original);
const most = removal.reduce((a, b) => (b.count > a.count ? b : a));
/** Share of the pixels not of the removed concept before that change label after the largest ablation. */
let changed = 0;
let outside = 0;
for (let p = 0; p < original.labels.length; p++) {
  if (original.labels[p] === removeK) continue;
  outside++;
  if (most.seg.labels[p] !== original.labels[p]) changed++;
}
const removeValues = valuesFor(removeK, means);
const setAce = await run.time("ACE of the removed set", () =>
  averageCausalEffect(gen, segmenter, {
    layer,
    units: most.units,
    concept: removeK,
    concepts,
    values: removeValues.values,
    samples: heldoutSeeds,
    batch: config.batch,
  }));

const shownCount = removal[0].seg.shown.shape[0];
const removalGrid = imageGrid(tf.concat(removalImages), {
  rows: removal.length,
  cols: shownCount,
  rowLabels: removal.map((r) => (r.count ? `-${r.count} units` : "original")),
  colLabels: heldoutSeeds.slice(0, shownCount).map((s) => `${s}`),
  captions: removal.flatMap((r) =>
    r.rows.slice(0, shownCount).map((f) => `${config.remove} ${pct(f[removeK])}`)
  ),
  scale: 2,
});
tf.dispose(removalImages.filter((t) => t !== original!.shown));
await savePng(join(outDir, `remove_${config.remove}s.png`), removalGrid);

// 2b. Ranking by IoU vs by single-unit ACE: concept pixels removed as the top units are ablated.
const candidates = config.aceCandidates > 0 ? removeRanking.slice(0, config.aceCandidates) : undefined;
const aceRanking = await run.time("single-unit ACE", () =>
  rankUnitsByAce(gen, segmenter, {
    layer,
    concept: removeK,
    concepts,
    values: removeValues.values,
    units: candidates,
    samples: dissectionSeeds.slice(0, config.aceSamples),
    batch: config.batch,
  }));
const rankings = { iou: removeRanking, ace: aceRanking.map((r) => r.units[0]) };
const curveCounts = config.curveUnits.filter((k) => k >= 1 && k <= rankings.ace.length);
const curves: Record<string, number[]> = { iou: [], ace: [] };
for (const [name, ranking] of Object.entries(rankings)) {
  for (const count of curveCounts) {
    const units = ranking.slice(0, count);
    const seg = await run.time(
      "ranking curves",
      () => segmentHeldout(`${name} top ${count}`, { layer, units, mode: "ablate" }),
    );
    curves[name].push(meanOf(before, removeK)! - meanOf(fractions(seg), removeK)!);
    seg.shown.dispose();
  }
}
await saveFigure(
  join(outDir, "ace_vs_iou"),
  lineFigure([
    { name: "ranked by IoU", x: curveCounts, y: curves.iou, mode: "lines+markers" },
    { name: "ranked by single-unit ACE", x: curveCounts, y: curves.ace, mode: "lines+markers" },
  ], {
    title: `${layer}: ${config.remove} pixels removed (held-out) vs units ablated`,
    xTitle: "units ablated",
    yTitle: `fraction of ${config.remove} pixels removed`,
  }),
);

// 2c. Insertion: force the concept's best units on in a box on `insertOn` vs in the sky.
const insertRanking = unitsByIoU(insertK).slice(0, config.insertUnits);
const insertValues = valuesFor(insertK, means);
const originalMasks = tf.tidy(() =>
  toConceptMasks(tf.tensor3d(original.labels, [heldoutSeeds.length, model.resolution, model.resolution]), K)
);
const boxSize = config.insertBox;
const places = {
  [`on_${config.insertOn === "wall" ? "building" : config.insertOn}`]: conceptBoxes(originalMasks, onK, {
    size: boxSize,
    stride: cell,
  }),
  in_sky: conceptBoxes(originalMasks, skyK, { size: boxSize, stride: cell }),
};
originalMasks.dispose();
const insertion: Record<string, unknown> = {
  layer,
  units: insertRanking,
  values: insertValues.kind,
  box: boxSize,
  min_share: config.minShare,
};
const insertionRows: { label: string; images: tf.Tensor4D; captions: string[]; boxes: ConceptBox[] }[] = [];
for (const [place, boxes] of Object.entries(places)) {
  const regions = tf.tidy(() =>
    tf.stack(boxes.map((b) => boxMask(b.box, { image: model.resolution, layer: stage.size }))) as tf.Tensor3D
  ); // [N, h, w]
  const seg = await run.time("insertion", () =>
    segmentHeldout(
      `insert ${config.insert} ${place}`,
      { layer, units: insertRanking, mode: "insert", values: insertValues.values },
      regions,
    ));
  regions.dispose();
  const [inBefore, inAfter] = [fractions(original, boxes), fractions(seg, boxes)];
  const keep = (i: number) => boxes[i].share >= config.minShare;
  const added = inAfter.map((row, i) => [row[insertK] - inBefore[i][insertK]]);
  insertion[place] = meanOf(added, 0, keep);
  insertion[`${place}_detail`] = {
    samples: heldoutSeeds.filter((_, i) => keep(i)).length,
    before: meanOf(inBefore, insertK, keep),
    after: meanOf(inAfter, insertK, keep),
  };
  insertionRows.push({
    label: place.replace("_", " "),
    images: seg.shown,
    captions: inAfter.slice(0, shownCount).map((r) => `${config.insert} ${pct(r[insertK])}`),
    boxes,
  });
}

/** An image with each box outlined (no tint), in its colour. */
function outlined(image: tf.Tensor3D | RawImage, boxes: [ConceptBox, [number, number, number]][]): RawImage {
  let out: tf.Tensor3D | RawImage = image;
  for (const [{ box }, color] of boxes) {
    const mask = boxMask(box, { image: model.resolution, layer: model.resolution }); // [H, W]
    out = maskOverlay(out, mask, { alpha: 0, color });
    mask.dispose();
  }
  return out as RawImage;
}
const colors: [number, number, number][] = [[255, 0, 255], [0, 255, 255]];
const frames = tf.unstack(original.shown) as tf.Tensor3D[];
const cells = frames.map((f, i) => outlined(f, insertionRows.map((r, j) => [r.boxes[i], colors[j]])));
for (const [j, row] of insertionRows.entries()) {
  const edited = tf.unstack(row.images) as tf.Tensor3D[];
  cells.push(...edited.map((f, i) => outlined(f, [[row.boxes[i], colors[j]]])));
  tf.dispose([...edited, row.images]);
}
tf.dispose([...frames, original.shown]);
await savePng(
  join(outDir, `insert_${config.insert}s.png`),
  imageGrid(cells, {
    rows: 1 + insertionRows.length,
    cols: shownCount,
    rowLabels: ["original", ...insertionRows.map((r) => r.label)],
    captions: [
      ...heldoutSeeds.slice(0, shownCount).map((s) => `seed ${s}`),
      ...insertionRows.flatMap((r) => r.captions),
    ],
    scale: 2,
  }),
);

// ---- 3. Results ----

const removed = {
  layer,
  units: most.count,
  unit_ids: most.units,
  samples: heldoutSeeds.length,
  before: meanOf(before, removeK),
  after: meanOf(most.rows, removeK),
  others_before: otherConcepts(before, removeK),
  others_after: otherConcepts(most.rows, removeK),
  others_relabelled: outside ? changed / outside : null,
  by_units: removal.map((r) => ({ units: r.count, fraction: meanOf(r.rows, removeK) })),
  ace: { ...setAce, insertion_values: removeValues.kind },
};
const interventions = {
  model: config.model,
  heldout_seeds: [heldoutSeeds[0], heldoutSeeds.at(-1)],
  removal: { [config.remove]: removed },
  insertion: { [config.insert]: insertion },
  ace_vs_iou: {
    concept: config.remove,
    ace_samples: Math.min(config.aceSamples, config.samples),
    units: curveCounts,
    removed_by_iou_ranking: curves.iou,
    removed_by_ace_ranking: curves.ace,
    iou_ranking: rankings.iou.slice(0, 20),
    ace_ranking: aceRanking.slice(0, 20).map((r) => ({ unit: r.units[0], ace: r.ace, std_err: r.aceStdErr })),
  },
};
await writeJsonAtomic(join(outDir, "interventions.json"), interventions);

const layerSummary = Object.fromEntries(unitsJsons.map((u) => {
  const counts = interpretableCounts(u);
  return [u.layer, Object.fromEntries(u.concepts.map((c, k) => [c, counts[k]]).filter(([, n]) => n))];
}));
const perSample = Object.fromEntries(
  config.layers.map((name) => [`dissect ${name}`, run.timings[`dissect ${name}`] / config.samples]),
);
await run.write(outDir, {
  engine: gen.engine,
  interpretable_units: layerSummary,
  seconds_per_sample: perSample,
  note: "dissection timings are ~0 when the tally cache already held the result",
});
await gen.dispose();
console.log(JSON.stringify({
  out: outDir,
  interpretable_units: layerSummary,
  removal: { [config.remove]: { units: removed.units, before: removed.before, after: removed.after } },
  insertion: { [config.insert]: Object.fromEntries(Object.keys(places).map((p) => [p, insertion[p]])) },
  seconds: run.meta().seconds,
}));
