/**
 * `deno task train:segmenter`: train the scenes segmenter (lib/models/segmenter.ts), GAN Dissection's
 * segmentation model for the procedural scenes, on real scenes and their true label maps; resumable.
 *
 *     GANATOMY_THREADS=1 deno task train:segmenter [--steps 900] [--max-minutes 20] [--resume false] …
 *
 * Training scenes are drawn from seeds [0, 1e6) by `(seed, step)`, so a resumed run sees the same batches as an
 * uninterrupted one; Adam on the mean per-pixel cross-entropy. Run folder `<runs>/<name>/`: checkpoint,
 * `metrics.jsonl`, `samples.png` (held-out scenes, true labels, predicted labels), `curves.html/.png`. At every
 * checkpoint the weights are exported as float16 to `<models>/<name>.safetensors` and scored on `--eval-scenes`
 * held-out scenes (seeds from `SCENES_HELDOUT_OFFSET`), in float16 as shipped and in float32, for the model card
 * `<models>/<name>.json`.
 *
 * @module
 */
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, initBackend } from "../lib/backend/backend.ts";
import { labelMapImage, NUM_SCENE_CLASSES, SCENE_CLASSES } from "../lib/data/scene_classes.ts";
import { renderScene, sceneBatch, sceneImage } from "../lib/data/scenes.ts";
import { SCENES_HELDOUT_OFFSET } from "../lib/data/source.ts";
import { savePng } from "../lib/io/png.ts";
import {
  createSegmenter,
  disposeSegmenter,
  evaluateSegmenter,
  forward,
  loadSegmenter,
  saveSegmenter,
  segment,
  segmentationLoss,
  type Segmenter,
  segmenterShapes,
} from "../lib/models/segmenter.ts";
import { writeModelCard } from "../lib/train/card.ts";
import { averagedSeries, saveCurves } from "../lib/train/curves.ts";
import { readMetrics, stepRng, trainLoop } from "../lib/train/loop.ts";
import { commandConfig } from "../lib/util/config.ts";
import { TRAINING } from "../lib/util/flags.ts";
import { imageGrid, lineFigure } from "../lib/viz/mod.ts";

export const CONFIG = {
  name: { default: "scenes_segmenter", help: "model name", meta: "<name>" },
  widths: { default: [16, 32, 64, 64], help: "encoder widths per resolution", integer: true, min: 1 },
  batch: { default: 32, help: "images per batch", integer: true, min: 1, max: 4096 },
  steps: {
    default: 900,
    help: "optimiser steps in all (a resumed run counts the steps already done)",
    integer: true,
    min: 0,
  },
  learningRate: { default: 0.002, help: "Adam learning rate", min: 0, max: 1 },
  seed: { default: 0, help: "seed of the initial weights and of the data draws", integer: true, min: 0 },
  evalScenes: { default: 1000, help: "held-out scenes of the evaluation", integer: true, min: 1 },
  ...TRAINING,
};

const config = commandConfig(CONFIG, {
  command: "deno task train:segmenter",
  summary: "Train the scenes segmenter (per-pixel scene classes), resumably.",
});

/** Training scenes are the seeds [0, TRAIN_SCENES); held-out ones start at SCENES_HELDOUT_OFFSET. */
const TRAIN_SCENES = 1_000_000;
const RESOLUTION = 64;

const runDir = join(config.runs, config.name);
const weightsPath = join(config.models, `${config.name}.safetensors`);
const info = await initBackend({ backend: config.backend as BackendName });

// Everything that shapes the model or the data stream; a checkpoint made with other values is not resumed.
const recipe = {
  widths: config.widths,
  batch: config.batch,
  learningRate: config.learningRate,
  seed: config.seed,
  resolution: RESOLUTION,
};
const model = createSegmenter(
  { channels: 3, classes: NUM_SCENE_CLASSES, widths: config.widths },
  { seed: config.seed },
);
const optimizer = tf.train.adam(config.learningRate);
const variables = Object.values(model.params);
const parameterCount = Object.values(segmenterShapes(model.config))
  .reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);

const heldout = Array.from({ length: config.evalScenes }, (_, i) => SCENES_HELDOUT_OFFSET + i);

/** 8 held-out scenes: images, true labels, predicted labels (one row each). */
async function saveSamples(net: Segmenter): Promise<void> {
  const seeds = heldout.slice(0, 8);
  const scenes = seeds.map((s) => renderScene(s, { size: RESOLUTION }));
  const { images, labels } = sceneBatch(seeds);
  const predicted = segment(net, images);
  const ids = Uint8Array.from(await predicted.data());
  tf.dispose([images, labels, predicted]);
  const size = { height: RESOLUTION, width: RESOLUTION };
  const pixels = RESOLUTION * RESOLUTION;
  await savePng(
    join(runDir, "samples.png"),
    imageGrid([
      ...scenes.map(sceneImage),
      ...scenes.map((s) => labelMapImage(s.labels, size)),
      ...seeds.map((_, i) => labelMapImage(ids.subarray(i * pixels, (i + 1) * pixels), size)),
    ], { cols: 8, scale: 2, rowLabels: ["scene", "truth", "predicted"] }),
  );
}

async function saveCurvesOfRun(png: boolean): Promise<void> {
  const fig = lineFigure([{ name: "loss", ...averagedSeries(await readMetrics(runDir), "loss") }], {
    title: `${config.name}: pixel cross-entropy (averaged)`,
    xTitle: "step",
    yTitle: "loss",
    logY: true,
  });
  await saveCurves(runDir, fig, { png });
}

/** Export float16 weights, score them (and the float32 model) on held-out scenes, write the model card. */
async function exportModel(steps: number, seconds: number): Promise<void> {
  await saveSegmenter(weightsPath, model, {
    dtype: "F16",
    metadata: { "ganatomy.card": `${config.name}.json` },
  });
  const shipped = await loadSegmenter(weightsPath, { scope: `${config.name}_f16_${steps}` });
  const t0 = performance.now();
  const metrics = await evaluateSegmenter(shipped, heldout);
  const evalSeconds = (performance.now() - t0) / 1000;
  const f32 = await evaluateSegmenter(model, heldout);
  await saveSamples(shipped);
  disposeSegmenter(shipped);
  await saveCurvesOfRun(false);
  const last = (await readMetrics(runDir)).slice(-50);
  await writeModelCard(config.models, {
    name: config.name,
    arch: "segmenter",
    architecture: {
      description:
        "U-Net: per level two 3x3 convs (stride-2 down from level 1), decoder = nearest 2x upsampling " +
        "+ skip concat + 3x3 conv, 1x1 head; ReLU; see lib/models/segmenter.ts",
      config: model.config,
      parameters: parameterCount,
      input: `[N, ${RESOLUTION}, ${RESOLUTION}, 3] in [-1, 1]`,
      output: `logits [N, ${RESOLUTION}, ${RESOLUTION}, ${NUM_SCENE_CLASSES}]`,
      classes: SCENE_CLASSES.map((c) => c.name),
    },
    data: {
      train:
        `procedural scenes (lib/data/scenes.ts) of seeds [0, ${TRAIN_SCENES}) with their true label maps, ` +
        `drawn by (seed, step)`,
      heldout: `${heldout.length} held-out scenes, seeds ${SCENES_HELDOUT_OFFSET} + [0, ${heldout.length})`,
    },
    training: {
      command: `deno task train:segmenter`,
      recipe,
      optimizer: "Adam (beta1 0.9, beta2 0.999), constant learning rate; mean per-pixel cross-entropy",
      steps,
      seconds,
      trainer: `ganatomy (tfjs ${info.backend}, ${info.threads} threads)`,
      images_seen: steps * config.batch,
      backend: info.backend,
      threads: info.threads,
      last_50_steps_loss: last.reduce((s, m) => s + m.loss, 0) / Math.max(1, last.length),
    },
    dtype: "F16",
    samples: join(runDir, "samples.png"),
    metrics: {
      heldout_scenes: heldout.length,
      weights: "F16 (as shipped)",
      pixel_accuracy: metrics.pixelAccuracy,
      mean_iou: metrics.meanIoU,
      per_class_iou: metrics.perClassIoU,
      f32_pixel_accuracy: f32.pixelAccuracy,
      f32_mean_iou: f32.meanIoU,
      eval_seconds: +evalSeconds.toFixed(1),
    },
  });
  console.error(
    `${config.name}: step ${steps}, held-out pixel accuracy ${metrics.pixelAccuracy.toFixed(4)} ` +
      `(F32 ${f32.pixelAccuracy.toFixed(4)}), mean IoU ${metrics.meanIoU.toFixed(4)}`,
  );
}

const result = await trainLoop({
  dir: runDir,
  steps: config.steps,
  parts: { params: model.params, optimizers: { adam: optimizer } },
  resume: config.resume,
  meta: recipe,
  label: `train ${config.name} (${info.backend}, ${info.threads} threads)`,
  checkpointSeconds: config.checkpointMinutes * 60,
  maxSeconds: config.maxMinutes > 0 ? config.maxMinutes * 60 : undefined,
  onCheckpoint: ({ steps, seconds }) => exportModel(steps, seconds),
  step: async (i) => {
    const rng = stepRng(config.seed, i);
    const { images, labels } = sceneBatch(Array.from({ length: config.batch }, () => rng.int(TRAIN_SCENES)));
    const loss = optimizer.minimize(() => segmentationLoss(forward(model, images), labels), true, variables)!;
    const value = (await loss.data())[0];
    tf.dispose([images, labels, loss]);
    return { loss: value };
  },
});
await saveCurvesOfRun(true);
console.log(JSON.stringify({ name: config.name, ...result }));
