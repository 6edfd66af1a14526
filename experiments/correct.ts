/**
 * `deno task exp:correct`: automatic correction of internal units (Tousi et al., CVPR 2021) on a shipped model,
 * every step, and the paper's table.
 *
 *     deno task exp:correct [--model scenes|fashion] [--checkpoint g.pth] [--labels labels.csv]
 *     deno task exp:correct --model churchoutdoor.pth --real churches/ --backbone resnet18.pth --labels labels.csv
 *         [--layer layer4] [--n 0.2] [--lambda 0.9] [--stop 6] [--no-sweeps] …   (--help lists every flag)
 *
 * Steps and what each writes under `<out>/<model>/` (default `results/correction/scenes/`):
 * 1. labels: seeds `0 … labelSeeds−1` labelled by the domain's criterion (`lib/correct/auto_label.ts`; or
 *    `--labels` from the labelling page) → `labels.csv`, `labels.png` (most and least flawed generations);
 * 2. classifier: artifact / normal / real on the frozen domain network, trained on 1 − heldoutShare of the
 *    labelled seeds and real images → `classifier.json` (loss, accuracy, confusion matrix on the rest),
 *    `classifier.safetensors`;
 * 3. Grad-CAM of the artifact class → artifact masks; `gradcam.png`; for scenes `cam_iou.json`: the IoU of the
 *    masks of each CAM method with the ground-truth defect maps;
 * 4. defective scores of every unit of `layer1 … stop`, both formulas → `scores.json`, `ds_per_layer.png`;
 * 5. baselines (random units, FID-based units) on `layer`;
 * 6. corrections: single-layer ablation of the top-n units of `layer` by each ranking, and sequential correction;
 * 7. evaluation on held-out artifact seeds → `table.json`, `table.md`, `corrected.png`, `failures.png`; sweeps
 *    over n, lambda and the stopping layer → `sweeps.json`, `sweep_*.png`; the sequential correction itself →
 *    `correction.json` (`deno task generate --correction correction.json` samples the corrected generator);
 * and `meta.json`. `<out>/table.md` gathers the tables of every model run so far, one column per model.
 *
 * Seeds: labelled seeds and real images are split by a seeded shuffle into classifier-training and held-out
 * parts; the scores and corrections are fitted on training artifact seeds (`fitArtifacts` of them) and the table
 * is measured on held-out artifact seeds (up to `evalArtifacts`), against held-out real images.
 *
 * Resuming: each finished step is cached under `cache/` by a hash of the inputs that determine it; a re-run
 * with the same flags continues after the last finished step.
 *
 * @module
 */
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, initBackend } from "../lib/backend/backend.ts";
import {
  ablate,
  ARTIFACT,
  ArtifactClassifier,
  artifactMasks,
  artifactSplits,
  autoLabel,
  autoLabelSet,
  combinedTableMarkdown,
  correctionEdits,
  type CorrectionTable,
  countLabels,
  type DefectiveScores,
  defectiveScores,
  DOMAINS,
  type Edits,
  type EngineName,
  evaluateGenerations,
  fidBasedScores,
  generateImages,
  type GenerationMetrics,
  type LabelSet,
  layersUpTo,
  loadCustomDomain,
  loadDomain,
  makeCorrection,
  randomScores,
  rankUnits,
  readCorrectionTables,
  readLabels,
  realReference,
  type ScaleRule,
  sequentialCorrection,
  tableMarkdown,
  tableRow,
  trainArtifactClassifier,
  unitCount,
  writeCorrection,
  writeLabels,
} from "../lib/mod.ts";
import { cam, camMaskIoU, camMasks, type CamMethodName } from "../lib/gradcam/mod.ts";
import { writeFileAtomic, writeJsonAtomic } from "../lib/io/atomic.ts";
import { savePng } from "../lib/io/png.ts";
import { type RawImage, toRawImages } from "../lib/io/raw_image.ts";
import { stageIndex } from "../lib/models/stages.ts";
import { hashKey } from "../lib/stats/tally.ts";
import { parseConfig } from "../lib/util/config.ts";
import { RunRecorder } from "../lib/util/meta.ts";
import {
  hasChromium,
  heatmapOverlay,
  imageGrid,
  lineFigure,
  maskOverlay,
  type PlotlyFigure,
  saveFigureHtml,
  saveFigurePng,
} from "../lib/viz/mod.ts";

const config = parseConfig(
  {
    model: "scenes", // a shipped domain (scenes | fashion), or a generator checkpoint (then --real, --backbone, --labels)
    checkpoint: "", // a generator checkpoint of the domain's image size instead of the shipped one
    real: "", // a checkpoint's real images: a folder of PNGs
    backbone: "", // a checkpoint's frozen backbone: torchvision ResNet-18 weights
    backboneSize: 0, // resize images to this before the ResNet (0: the generator's size)
    inception: "", // pytorch-fid's Inception weights: FD becomes FID (default: the backbone's features)
    labels: "", // a label file (e.g. from `deno task label`) instead of the automatic labeller
    labelSeeds: 2400, // seeds 0 … labelSeeds−1 are labelled
    labelRule: "rank", // automatic labeller: "rank" (most/least flawed shares) or "cutoffs"
    labelFraction: 0.3, // rank rule: share labelled artifact, and share labelled normal
    artifactAbove: 0.05, // cutoffs rule: artifact at or above this score …
    normalBelow: 0.01, // … normal at or below this one
    realImages: 800, // real images in the classifier's data (class "real")
    heldoutShare: 0.25, // of labelled seeds and real images, held out from the classifier's training
    headSteps: 500, // Adam steps of the classifier's fully connected layer
    cam: "gradcam", // CAM of the artifact masks: gradcam | gradcam++ | scorecam
    camThreshold: 0.5, // mask = normalised CAM above this
    tau: 0.005, // unit thresholds: P(a_u > T_u) = tau …
    thresholdSeeds: 500, // … over all positions of the generations of seeds 0 … thresholdSeeds−1 (every label)
    layer: "layer4", // the layer of the single-layer rows
    n: 0.2, // units corrected per layer: fraction (< 1) or count
    lambda: 0.9,
    stop: 6, // sequential correction: layer1 … layer<stop>
    rule: "lambda(1-ds)", // or "1-lambda·ds" (see lib/correct/sequential.ts)
    fitArtifacts: 200, // training artifact seeds the scores are fitted on
    evalArtifacts: 200, // held-out artifact seeds the table is measured on (at most)
    fidSeeds: 1000, // FID-based baseline: generations the units' top images come from
    fidTopK: 100, // … top images per unit
    realReference: 2000, // held-out real images of the metrics
    sweeps: true,
    sweepN: [0.05, 0.1, 0.2, 0.35, 0.5],
    sweepLambda: [0.5, 0.7, 0.9, 1],
    sweepStop: [1, 2, 4, 6, 8],
    sweepFit: 100, // fit seeds per sweep point (of fitArtifacts)
    show: 8, // images per row of the grids
    seed: 0,
    batch: 32,
    backend: "wasm",
    engine: "ort",
    out: "results/correction",
    figurePng: true, // also render plotly figures to PNG (needs Chromium)
  },
  Deno.args,
  {
    description:
      "deno task exp:correct [flags]: automatic correction of internal units (see experiments/correct.ts)",
  },
);

const run = new RunRecorder("correct", config);
const info = await initBackend({ backend: config.backend as BackendName });
console.error(`tfjs backend: ${info.backend}, ${info.threads} thread(s)`);
const custom = !(DOMAINS as readonly string[]).includes(config.model);
if (custom && !(config.real && config.backbone && config.labels)) {
  throw new Error(
    `--model ${config.model} is not a shipped domain (${
      DOMAINS.join(", ")
    }), so it is a generator checkpoint: ` +
      "it needs --real <folder of real PNGs>, --backbone <resnet18.pth> and --labels <labels.csv> " +
      `(label its samples with: deno task label --checkpoint ${config.model} --out labels.csv)`,
  );
}
const engine = config.engine as EngineName;
const domain = await run.time("load", () =>
  custom
    ? loadCustomDomain({
      checkpoint: config.model,
      real: config.real,
      backbone: config.backbone,
      backboneSize: config.backboneSize || undefined,
      inception: config.inception || undefined,
      engine,
    })
    : loadDomain(config.model, { checkpoint: config.checkpoint || undefined, engine }));
const { gen } = domain;
const outDir = join(config.out, domain.name);
const cacheDir = join(outDir, "cache");
await Deno.mkdir(cacheDir, { recursive: true });
const pngFigures = config.figurePng && hasChromium();
if (config.figurePng && !pngFigures) console.warn("Chromium is missing: figures are written as HTML only");
const modelKey = hashKey(gen.model);
const units = (layer: string) => gen.model.stages[stageIndex(gen.model, layer)].channels;
const say = (line: string) => console.error(`[correct] ${line}`);

/** A step's JSON result, cached under `cache/<name>.json` by a hash of `key` (and the model's weights). */
async function cached<T>(name: string, key: unknown, compute: () => Promise<T>): Promise<T> {
  const path = join(cacheDir, `${name}.json`);
  const hash = hashKey({ model: modelKey, key });
  try {
    const file = JSON.parse(await Deno.readTextFile(path));
    if (file.hash === hash) {
      say(`${name}: cached`);
      return file.value as T;
    }
  } catch {
    // no cache yet
  }
  const value = await run.time(name, compute);
  await writeJsonAtomic(path, { hash, value });
  return value;
}

async function saveFigure(name: string, fig: PlotlyFigure): Promise<void> {
  await saveFigureHtml(join(outDir, `${name}.html`), fig);
  if (pngFigures) await saveFigurePng(join(outDir, `${name}.png`), fig);
}

// ─── 1. Labels ────────────────────────────────────────────────────────────────────────────────────────────
const labelSeedList = Array.from({ length: config.labelSeeds }, (_, i) => i);
let labels: LabelSet;
if (config.labels) {
  labels = await readLabels(config.labels);
  say(`labels from ${config.labels}`);
} else {
  const auto = await cached("labels", {
    seeds: config.labelSeeds,
    rule: config.labelRule,
    fraction: config.labelFraction,
    cut: [config.artifactAbove, config.normalBelow],
  }, () =>
    autoLabel(gen, domain.criterion!, {
      seeds: labelSeedList,
      rule: config.labelRule as "rank" | "cutoffs",
      fraction: config.labelFraction,
      artifactAbove: config.artifactAbove,
      normalBelow: config.normalBelow,
      batch: config.batch,
    }));
  labels = autoLabelSet(auto);
  // The extremes of the criterion, for a person to check.
  const byScore = [...auto].sort((a, b) => b.score - a.score);
  const shown = [...byScore.slice(0, config.show), ...byScore.slice(-config.show)];
  const images = await generateImages(gen, shown.map((l) => l.seed));
  await savePng(
    join(outDir, "labels.png"),
    imageGrid(images, {
      cols: config.show,
      rowLabels: ["most flawed", "least flawed"],
      captions: shown.map((l) => l.score.toFixed(3)),
      scale: 2,
    }),
  );
  images.dispose();
}
await writeLabels(join(outDir, "labels.csv"), labels);
const counts = countLabels(labels);
say(`labels: ${counts.artifact} artifact, ${counts.normal} normal, ${counts.skip} skipped`);
if (counts.artifact < 10 || counts.normal < 10) {
  throw new Error(
    `labels: need at least 10 artifact and 10 normal seeds, got ${counts.artifact} and ${counts.normal}` +
      (config.labels ? ` in ${config.labels}` : "; try --label-rule rank"),
  );
}
const splitOptions = { realImages: config.realImages, heldoutShare: config.heldoutShare, seed: config.seed };
const splits = artifactSplits(labels, splitOptions);

// ─── 2. The artifact classifier ───────────────────────────────────────────────────────────────────────────
const headFile = join(outDir, "classifier.safetensors");
const classifierReport = await cached("classifier", {
  labels: [...labels],
  ...splitOptions,
  steps: config.headSteps,
}, async () => {
  const trained = await trainArtifactClassifier(domain, labels, {
    ...splitOptions,
    steps: config.headSteps,
    batch: config.batch,
  });
  await trained.classifier.save(headFile);
  trained.classifier.dispose();
  const { losses, ...report } = trained.report;
  return { ...report, finalLoss: losses.at(-1) };
});
await writeJsonAtomic(join(outDir, "classifier.json"), classifierReport);
say(
  `classifier (${domain.backbone.name} + fc): held-out accuracy ${
    classifierReport.heldout.accuracy.toFixed(3)
  }, ` +
    `confusion ${JSON.stringify(classifierReport.heldout.confusion)}`,
);
const classifier = await ArtifactClassifier.load(headFile, domain.backbone);
const masks = artifactMasks(classifier, {
  method: config.cam as CamMethodName,
  threshold: config.camThreshold,
});
const pArtifact = async (images: tf.Tensor4D) => {
  const p = tf.tidy(() =>
    tf.squeeze(tf.slice(classifier.probabilities(images), [0, ARTIFACT], [-1, 1]), [1])
  );
  const data = (await p.data()) as Float32Array;
  p.dispose();
  return data;
};

// ─── 3. Grad-CAM ─────────────────────────────────────────────────────────────────────────────────────────
const fitSeeds = splits.artifact.train.slice(0, config.fitArtifacts);
const evalSeeds = splits.artifact.heldout.slice(0, config.evalArtifacts);
// "Over all images": the thresholds come from generations of every kind, not from the artifacts alone.
const thresholdSeeds = Array.from({ length: config.thresholdSeeds }, (_, i) => i);
{
  const shown = fitSeeds.slice(0, config.show);
  const images = await generateImages(gen, shown);
  const { cams, logits } = cam(classifier, images, { method: config.cam as CamMethodName, target: ARTIFACT });
  const m = camMasks(cams, { threshold: config.camThreshold });
  const truth = domain.truthMasks?.(images);
  const rows = ["generated", "Grad-CAM", "mask", ...(truth ? ["defect map"] : [])];
  const cells: RawImage[] = toRawImages(images);
  const overlays = (t: tf.Tensor3D, draw: (img: RawImage, map: tf.Tensor) => RawImage) =>
    toRawImages(images).map((img, i) => {
      const map = tf.squeeze(tf.slice(t, [i, 0, 0], [1, -1, -1]), [0]); // [H, W]
      try {
        return draw(img, map);
      } finally {
        map.dispose();
      }
    });
  cells.push(...overlays(cams, (img, c) => heatmapOverlay(img, c, { alpha: 0.5 })));
  cells.push(...overlays(m, (img, c) => maskOverlay(img, c)));
  if (truth) cells.push(...overlays(truth, (img, c) => maskOverlay(img, c, { color: [0, 160, 255] })));
  await savePng(
    join(outDir, "gradcam.png"),
    imageGrid(cells, { cols: shown.length, rowLabels: rows, scale: 2 }),
  );
  tf.dispose([images, cams, logits, m, ...(truth ? [truth] : [])]);
}
if (domain.truthMasks) {
  const camIou = await cached(
    "cam_iou",
    { head: classifierReport, seeds: fitSeeds, t: config.camThreshold },
    async () => {
      const result: Record<string, { iou: number; maskArea: number; truthArea: number }> = {};
      for (const method of ["gradcam", "gradcam++", "scorecam"] as const) {
        let iou = 0, area = 0, truthArea = 0;
        for (let i = 0; i < fitSeeds.length; i += config.batch) {
          const images = await generateImages(gen, fitSeeds.slice(i, i + config.batch));
          const m = artifactMasks(classifier, { method, threshold: config.camThreshold })(
            images,
            [],
          ) as tf.Tensor3D;
          const truth = domain.truthMasks!(images);
          const [s, a, t] = tf.tidy(
            () => [tf.sum(camMaskIoU(m, truth)), tf.sum(tf.mean(m, [1, 2])), tf.sum(tf.mean(truth, [1, 2]))],
          );
          iou += s.dataSync()[0];
          area += a.dataSync()[0];
          truthArea += t.dataSync()[0];
          tf.dispose([images, m, truth, s, a, t]);
        }
        result[method] = {
          iou: iou / fitSeeds.length,
          maskArea: area / fitSeeds.length,
          truthArea: truthArea / fitSeeds.length,
        };
      }
      return result;
    },
  );
  await writeJsonAtomic(join(outDir, "cam_iou.json"), camIou);
  say(
    `CAM masks vs defect maps (mean IoU): ${
      Object.entries(camIou).map(([k, v]) => `${k} ${v.iou.toFixed(3)}`).join(", ")
    }`,
  );
}

// ─── 4. Defective scores of every layer up to the stopping layer ─────────────────────────────────────────
type ScoresJSON = Omit<DefectiveScores, "thresholds" | "ds1" | "ds2"> & {
  thresholds: number[];
  ds1: number[];
  ds2: number[];
};
const toJSON = (s: DefectiveScores): ScoresJSON => ({
  ...s,
  thresholds: Array.from(s.thresholds),
  ds1: Array.from(s.ds1),
  ds2: Array.from(s.ds2),
});
const scoreLayers = [...new Set([...layersUpTo(gen.model, config.stop), config.layer])];
const scores: Record<string, ScoresJSON> = {};
for (const layer of scoreLayers) {
  scores[layer] = await cached(
    `scores-${layer}`,
    {
      head: classifierReport,
      seeds: fitSeeds,
      tau: config.tau,
      thresholds: config.thresholdSeeds,
      cam: config.cam,
      t: config.camThreshold,
    },
    async () =>
      toJSON(
        await defectiveScores(gen, layer, {
          seeds: fitSeeds,
          masks,
          tau: config.tau,
          thresholdSeeds,
          batch: config.batch,
        }),
      ),
  );
}
await writeJsonAtomic(join(outDir, "scores.json"), scores);
for (const formula of [1, 2] as const) {
  await saveFigure(
    `ds${formula}_per_layer`,
    lineFigure(
      scoreLayers.map((layer) => {
        const ds = (formula === 1 ? scores[layer].ds1 : scores[layer].ds2).toSorted((a, b) => b - a);
        return { name: layer, x: ds.map((_, r) => r / ds.length), y: ds };
      }),
      {
        title: `Defective scores, formula (${formula}) ${
          formula === 1 ? "mean IoU" : "mean intersection"
        }, units sorted`,
        xTitle: "unit rank (fraction of the layer)",
        yTitle: formula === 1 ? "DS (1)" : "DS (2)",
      },
    ),
  );
}

// ─── 5. Baselines ────────────────────────────────────────────────────────────────────────────────────────
const real = await run.time(
  "real reference",
  () => realReference(domain.realHeldout, domain.features, { count: config.realReference }),
);
const fidScores = await cached("fid-based", {
  seeds: config.fidSeeds,
  topK: config.fidTopK,
  real: config.realReference,
  layer: config.layer,
}, async () =>
  Array.from(
    await fidBasedScores(gen, config.layer, {
      seeds: Array.from({ length: config.fidSeeds }, (_, i) => 5_000_000 + i),
      extractor: domain.features,
      real: real.stats,
      topK: config.fidTopK,
      batch: config.batch,
    }),
  ));

// ─── 6. Corrections ──────────────────────────────────────────────────────────────────────────────────────
const layerUnits = units(config.layer);
const top = unitCount(config.n, layerUnits);
const ablateTop = (ranking: ArrayLike<number>): Edits => ({
  [config.layer]: ablate(rankUnits(ranking).slice(0, top), layerUnits),
});
type SequentialJSON = { layer: string; units: number[]; scales: number[] }[];
function sequential(
  options: { n: number; lambda: number; stop: number; fit: number[]; rule?: ScaleRule },
): Promise<SequentialJSON> {
  const rule = options.rule ?? (config.rule as ScaleRule);
  const suffix = rule === "lambda(1-ds)" ? "" : "-gentle";
  return cached(`seq-${options.n}-${options.lambda}-${options.stop}-${options.fit.length}${suffix}`, {
    head: classifierReport,
    ...options,
    tau: config.tau,
    thresholds: config.thresholdSeeds,
    cam: config.cam,
    t: config.camThreshold,
    rule,
  }, async () => {
    const { steps } = await sequentialCorrection(gen, {
      seeds: options.fit,
      thresholdSeeds,
      masks,
      stop: options.stop,
      n: options.n,
      lambda: options.lambda,
      rule,
      tau: config.tau,
      batch: config.batch,
    });
    return steps.map(({ layer, units, scales }) => ({ layer, units, scales }));
  });
}
const sequentialEdits = (steps: SequentialJSON): Edits =>
  correctionEdits(gen.model, makeCorrection("sequential", steps));
const seqSteps = await sequential({ n: config.n, lambda: config.lambda, stop: config.stop, fit: fitSeeds });
// The correction as a file: `deno task generate --checkpoint … --correction correction.json` samples it.
await writeCorrection(
  join(outDir, "correction.json"),
  makeCorrection("sequential", seqSteps, {
    checkpoint: domain.checkpoint,
    n: config.n,
    lambda: config.lambda,
    stop: config.stop,
    rule: config.rule,
    formula: 1,
    tau: config.tau,
    cam: config.cam,
    fitArtifacts: fitSeeds.length,
  }),
);
const rows: Record<string, { label: string; edits: Edits }> = {
  none: { label: "None", edits: {} },
  random: {
    label: `Random (${top} units of ${config.layer})`,
    edits: ablateTop(randomScores(layerUnits, { seed: config.seed })),
  },
  fid_based: { label: `FID-based (${top} units of ${config.layer})`, edits: ablateTop(fidScores) },
  ds1: { label: `DS (1) (${top} units of ${config.layer})`, edits: ablateTop(scores[config.layer].ds1) },
  ds2: { label: `DS (2) (${top} units of ${config.layer})`, edits: ablateTop(scores[config.layer].ds2) },
  seq: {
    label: `Seq. Corr. (layer1…layer${config.stop}, n ${config.n}, λ ${config.lambda})`,
    edits: sequentialEdits(seqSteps),
  },
  // The other reading of the rescaling rule (lib/correct/sequential.ts), for comparison.
  seq_gentle: {
    label: `Seq. Corr., scale 1 − λ·DS (layer1…layer${config.stop}, n ${config.n}, λ ${config.lambda})`,
    edits: sequentialEdits(
      await sequential({
        n: config.n,
        lambda: config.lambda,
        stop: config.stop,
        fit: fitSeeds,
        rule: config.rule === "lambda(1-ds)" ? "1-lambda·ds" : "lambda(1-ds)",
      }),
    ),
  },
};

// ─── 7. Evaluation ───────────────────────────────────────────────────────────────────────────────────────
const extras: Record<string, (images: tf.Tensor4D) => Promise<Float32Array>> = { p_artifact: pArtifact };
if (domain.defectFraction) extras.defect_fraction = domain.defectFraction;
const evaluate = (name: string, edits: Edits, seeds = evalSeeds) =>
  cached(
    `eval-${name}`,
    { edits: hashKey(edits), seeds, real: config.realReference },
    () =>
      evaluateGenerations(gen, seeds, {
        extractor: domain.features,
        real,
        edits,
        extras,
        batch: config.batch,
      }),
  );
const table: Record<string, GenerationMetrics & { label: string }> = {};
for (const [name, row] of Object.entries(rows)) {
  table[name] = { label: row.label, ...(await evaluate(name, row.edits)) };
}
const metricName = `FD (${domain.features.name})`;
const tableJson: CorrectionTable = {
  model: domain.name,
  checkpoint: domain.checkpoint,
  features: domain.features.name,
  metric: metricName,
  evalSeeds: evalSeeds.length,
  rows: Object.fromEntries(Object.entries(table).map(([name, r]) => [name, tableRow(r.label, r)])),
};
await writeJsonAtomic(join(outDir, "table.json"), tableJson);
const md = tableMarkdown(tableJson, {
  note:
    `Real reference: ${config.realReference} held-out real images; features ${domain.features.name} (not ` +
    "Inception: FD, not FID). p_artifact: the artifact classifier's probability" +
    (domain.truthMasks ? "; defect_fraction: share of pixels the scene grammar cannot explain." : "."),
});
await writeFileAtomic(join(outDir, "table.md"), md + "\n");
console.log(md);

// Grids: original vs each correction, and the failure cases of sequential correction.
{
  const shown = evalSeeds.slice(0, config.show);
  const grids: tf.Tensor4D[] = [];
  for (const row of Object.values(rows)) grids.push(await generateImages(gen, shown, { edits: row.edits }));
  const all = tf.concat(grids);
  await savePng(
    join(outDir, "corrected.png"),
    imageGrid(all, { cols: shown.length, rowLabels: Object.keys(rows), scale: 2 }),
  );
  tf.dispose([all, ...grids]);
  // Structure change: the share of pixels whose value moved by more than 0.25 (an eighth of the range).
  const original = await generateImages(gen, evalSeeds);
  const corrected = await generateImages(gen, evalSeeds, { edits: rows.seq.edits });
  const change = tf.tidy(() =>
    tf.mean(tf.cast(tf.greater(tf.max(tf.abs(tf.sub(original, corrected)), 3), 0.25), "float32"), [1, 2])
  );
  const changed = Array.from(change.dataSync());
  const order = evalSeeds.map((_, i) => i).sort((a, b) => changed[b] - changed[a]).slice(0, config.show);
  const pick = (t: tf.Tensor4D) => tf.gather(t, order);
  const both = tf.tidy(() => tf.concat([pick(original), pick(corrected)]));
  await savePng(
    join(outDir, "failures.png"),
    imageGrid(both, {
      cols: order.length,
      rowLabels: ["original", "seq. corr."],
      captions: [
        ...order.map((i) => `seed ${evalSeeds[i]}`),
        ...order.map((i) => `${(100 * changed[i]).toFixed(0)}% moved`),
      ],
      scale: 2,
    }),
  );
  tf.dispose([original, corrected, change, both]);
}

// Sweeps over n, lambda and the stopping layer (sequential correction on sweepFit seeds).
if (config.sweeps) {
  const fit = fitSeeds.slice(0, config.sweepFit);
  const sweeps: Record<string, { value: number; fd: number; realism: number; p_artifact: number }[]> = {};
  const point = async (n: number, lambda: number, stop: number) => {
    const steps = await sequential({ n, lambda, stop, fit });
    const r = await evaluate(`seq-${n}-${lambda}-${stop}-${fit.length}`, sequentialEdits(steps));
    return { fd: r.fd, realism: r.realism, p_artifact: r.extras.p_artifact };
  };
  const maxStop = layersUpTo(gen.model, gen.model.stages.length - 1).length;
  sweeps.n = [];
  for (const n of config.sweepN) sweeps.n.push({ value: n, ...(await point(n, config.lambda, config.stop)) });
  sweeps.lambda = [];
  for (const l of config.sweepLambda) {
    sweeps.lambda.push({ value: l, ...(await point(config.n, l, config.stop)) });
  }
  sweeps.stop = [];
  for (const s of config.sweepStop.filter((s) => s <= maxStop)) {
    sweeps.stop.push({ value: s, ...(await point(config.n, config.lambda, s)) });
  }
  await writeJsonAtomic(join(outDir, "sweeps.json"), { fit: fit.length, none: table.none, sweeps });
  for (const [name, points] of Object.entries(sweeps)) {
    await saveFigure(
      `sweep_${name}`,
      lineFigure([
        {
          name: metricName,
          x: points.map((p) => p.value),
          y: points.map((p) => p.fd),
          mode: "lines+markers",
        },
        {
          name: `${metricName}, uncorrected`,
          x: points.map((p) => p.value),
          y: points.map(() => table.none.fd),
        },
      ], {
        title: `Sequential correction: ${metricName} of held-out artifact generations vs ${
          name === "stop" ? "stopping layer l" : name
        }`,
        xTitle: name === "stop" ? "stopping layer l" : name,
        yTitle: metricName,
      }),
    );
  }
}

// Every model's table side by side.
await writeFileAtomic(
  join(config.out, "table.md"),
  combinedTableMarkdown(await readCorrectionTables(config.out)) + "\n",
);

real.dispose();
classifier.dispose();
await domain.dispose();
await run.write(outDir, {
  labels: counts,
  fitArtifacts: fitSeeds.length,
  evalArtifacts: evalSeeds.length,
  classifierHeldoutAccuracy: classifierReport.heldout.accuracy,
});
say(`done: ${outDir}`);
