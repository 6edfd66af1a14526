/**
 * `deno task train:classifier`: train the feature/classification network of a data set
 * (lib/models/classifier.ts) on its real images; resumable.
 *
 *     GANATOMY_THREADS=1 deno task train:classifier --dataset fashion [--steps 1200] [--max-minutes 20] …
 *     GANATOMY_THREADS=1 deno task train:classifier --dataset scenes
 *
 * `fashion`: the 10 Fashion-MNIST classes (softmax cross-entropy), scored on the whole test split. `scenes`:
 * multi-label presence of each scene class ("has door", "has water", …, from the true label maps; binary
 * cross-entropy), scored on `--eval-count` held-out scenes. Batches derive from `(seed, step)`; Adam with a
 * cosine learning-rate decay to 0 over `--steps` (so the step count is part of the recipe: resume with the
 * same). Run folder `<runs>/<name>/`: checkpoint, `metrics.jsonl`, `curves.html/.png`. At every
 * checkpoint the weights are exported as float16 to `<models>/<name>.safetensors`, scored in float16 as shipped
 * and in float32, and described in the model card `<models>/<name>.json`.
 *
 * @module
 */
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, initBackend } from "../lib/backend/backend.ts";
import {
  type ClassifierConfig,
  classifierLoss,
  classifierShapes,
  createClassifier,
  disposeClassifier,
  forward,
  loadClassifier,
  saveClassifier,
} from "../lib/models/classifier.ts";
import { labelledData } from "../lib/models/classifier_data.ts";
import { evaluateClassifier } from "../lib/models/classifier_eval.ts";
import { writeModelCard } from "../lib/train/card.ts";
import { averagedSeries, saveCurves } from "../lib/train/curves.ts";
import { readMetrics, stepRng, trainLoop } from "../lib/train/loop.ts";
import { commandConfig } from "../lib/util/config.ts";
import { DATA_DIR, TRAINING } from "../lib/util/flags.ts";
import { lineFigure } from "../lib/viz/mod.ts";

/** Per data set defaults: stage widths and stem stride (scenes: 64x64 → stages at 32, 16, 8, 4). */
const PRESETS: Record<string, { widths: number[]; stemStride: number; steps: number; evalCount: number }> = {
  fashion: { widths: [16, 32, 64, 64], stemStride: 1, steps: 1200, evalCount: 10_000 }, // 32x32 grey: 32, 16, 8, 4
  scenes: { widths: [16, 32, 64, 64], stemStride: 2, steps: 1500, evalCount: 2000 },
};

export const CONFIG = {
  dataset: { default: "fashion", help: "data set", choices: ["fashion", "scenes"] },
  name: { default: "", help: "model name", meta: "<name>", defaultText: "<dataset>_<arch>" },
  widths: {
    default: [] as number[],
    help: "network widths per stage",
    integer: true,
    min: 1,
    defaultText: "the data set's preset",
    items: "number" as const,
  },
  stemStride: {
    default: 0,
    help: "stride of the first convolution (0: the data set's preset)",
    integer: true,
    min: 0,
  },
  blocksPerStage: { default: 1, help: "residual blocks per stage", integer: true, min: 1, max: 16 },
  batch: { default: 64, help: "images per batch", integer: true, min: 1, max: 4096 },
  steps: {
    default: 0,
    help: "optimiser steps in all (0: the data set's preset; a resumed run counts the steps already done)",
    integer: true,
    min: 0,
  },
  learningRate: { default: 0.002, help: "Adam learning rate", min: 0, max: 1 },
  schedule: { default: "cosine", help: "learning-rate schedule", choices: ["cosine", "constant"] },
  seed: { default: 0, help: "seed of the initial weights and of the data draws", integer: true, min: 0 },
  evalCount: { default: 0, help: "test images of the evaluation (0: all)", integer: true, min: 0 },
  ...TRAINING,
  data: DATA_DIR,
};

const config = commandConfig(CONFIG, {
  command: "deno task train:classifier",
  summary:
    "Train a domain network (the frozen feature extractor of FD and the artifact classifier), resumably.",
});

const preset = PRESETS[config.dataset];
if (!preset) {
  throw new Error(`--dataset must be one of ${Object.keys(PRESETS).join(", ")}, got "${config.dataset}"`);
}
if (config.schedule !== "cosine" && config.schedule !== "constant") {
  throw new Error(`--schedule must be cosine or constant, got "${config.schedule}"`);
}
const steps = config.steps || preset.steps;
const name = config.name || `${config.dataset}_net`;
const runDir = join(config.runs, name);
const weightsPath = join(config.models, `${name}.safetensors`);
const info = await initBackend({ backend: config.backend as BackendName });
const train = await labelledData(config.dataset, { split: "train", dir: config.data || undefined });
const test = await labelledData(config.dataset, { split: "test", dir: config.data || undefined });
const evalCount = Math.min(config.evalCount || preset.evalCount, test.size);
const evalIndices = Array.from({ length: evalCount }, (_, i) => i);

const modelConfig: ClassifierConfig = {
  resolution: train.resolution,
  channels: train.channels,
  widths: config.widths.length ? config.widths : preset.widths,
  blocksPerStage: config.blocksPerStage,
  stemStride: config.stemStride || preset.stemStride,
  outputs: train.outputs,
  kind: train.kind,
};
// Everything that shapes the model or the data stream; a checkpoint made with other values is not resumed.
const recipe = {
  dataset: config.dataset,
  model: modelConfig,
  batch: config.batch,
  learningRate: config.learningRate,
  schedule: config.schedule,
  steps, // the cosine schedule depends on it
  seed: config.seed,
};
const model = createClassifier(modelConfig, { seed: config.seed });
const optimizer = tf.train.adam(config.learningRate);
const variables = Object.values(model.params);

/** The learning rate of step `i`: cosine decay from `--learning-rate` to 0 over the run, or constant. */
function learningRate(i: number): number {
  return config.schedule === "cosine"
    ? config.learningRate * 0.5 * (1 + Math.cos((Math.PI * i) / steps))
    : config.learningRate;
}
const parameterCount = Object.values(classifierShapes(modelConfig))
  .reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);

async function saveCurvesOfRun(png: boolean): Promise<void> {
  const fig = lineFigure([{ name: "loss", ...averagedSeries(await readMetrics(runDir), "loss") }], {
    title: `${name}: training loss (averaged)`,
    xTitle: "step",
    yTitle: train.kind === "multiclass" ? "cross-entropy" : "binary cross-entropy",
    logY: true,
  });
  await saveCurves(runDir, fig, { png });
}

/** Export float16 weights, score them (and the float32 model) on held-out data, write the model card. */
async function exportModel(done: number, seconds: number): Promise<void> {
  await saveClassifier(weightsPath, model, { dtype: "F16", metadata: { "ganatomy.card": `${name}.json` } });
  const shipped = await loadClassifier(weightsPath, { scope: `${name}_f16_${done}` });
  const t0 = performance.now();
  const metrics = await evaluateClassifier(shipped, { data: test, indices: evalIndices });
  const evalSeconds = (performance.now() - t0) / 1000;
  disposeClassifier(shipped);
  const f32 = await evaluateClassifier(model, { data: test, indices: evalIndices });
  await saveCurvesOfRun(false);
  const last = (await readMetrics(runDir)).slice(-50);
  const map = modelConfig.resolution / ((modelConfig.stemStride ?? 1) * 2 ** (modelConfig.widths.length - 1));
  const d = modelConfig.widths[modelConfig.widths.length - 1];
  await writeModelCard(config.models, {
    name,
    arch: "classifier",
    architecture: {
      description:
        "ResNet-like: 3x3 conv stem, one stage per width of residual blocks (3x3 convs, SkipInit gain, " +
        "1x1 shortcut where the shape changes; stride 2 from stage 1), global average pool, fc; " +
        "see lib/models/classifier.ts",
      config: modelConfig,
      parameters: parameterCount,
      input: `[N, ${modelConfig.resolution}, ${modelConfig.resolution}, ${modelConfig.channels}] in [-1, 1]`,
      features: `[N, ${d}] (features(): global average of the last conv map)`,
      last_conv_map: `[N, ${map}, ${map}, ${d}] (featureMap(), for Grad-CAM)`,
      output: modelConfig.kind === "multiclass"
        ? `${modelConfig.outputs.length} class logits (softmax)`
        : `${modelConfig.outputs.length} attribute logits (independent sigmoids)`,
    },
    data: { train: train.description, heldout: `${test.description}; first ${evalCount} samples` },
    training: {
      command: `deno task train:classifier --dataset ${config.dataset}`,
      recipe,
      optimizer: `Adam (beta1 0.9, beta2 0.999), ${config.schedule} learning rate; ` +
        (modelConfig.kind === "multiclass" ? "softmax cross-entropy" : "mean binary cross-entropy"),
      steps: done,
      seconds,
      trainer: `ganatomy (tfjs ${info.backend}, ${info.threads} threads)`,
      images_seen: done * config.batch,
      backend: info.backend,
      threads: info.threads,
      last_50_steps_loss: last.reduce((s, m) => s + m.loss, 0) / Math.max(1, last.length),
    },
    dtype: "F16",
    metrics: {
      weights: "F16 (as shipped)",
      ...metrics,
      f32_accuracy: f32.accuracy,
      ...(f32.meanF1 !== undefined ? { f32_mean_f1: f32.meanF1 } : {}),
      eval_seconds: +evalSeconds.toFixed(1),
    },
  });
  console.error(
    `${name}: step ${done}/${steps}, held-out ${
      train.kind === "multiclass" ? "accuracy" : "mean attribute accuracy"
    } ` +
      `${metrics.accuracy.toFixed(4)} (F32 ${f32.accuracy.toFixed(4)})` +
      (metrics.meanF1 !== undefined ? `, mean F1 ${metrics.meanF1.toFixed(4)}` : ""),
  );
}

const result = await trainLoop({
  dir: runDir,
  steps,
  parts: { params: model.params, optimizers: { adam: optimizer } },
  resume: config.resume,
  meta: recipe,
  label: `train ${name} (${info.backend}, ${info.threads} threads)`,
  checkpointSeconds: config.checkpointMinutes * 60,
  maxSeconds: config.maxMinutes > 0 ? config.maxMinutes * 60 : undefined,
  onCheckpoint: ({ steps: done, seconds }) => exportModel(done, seconds),
  step: async (i) => {
    // tfjs's Adam reads its learning rate at every step but has no public setter.
    (optimizer as unknown as { learningRate: number }).learningRate = learningRate(i);
    const rng = stepRng(config.seed, i);
    const { images, targets } = train.batch(Array.from({ length: config.batch }, () => rng.int(train.size)));
    const loss = optimizer.minimize(
      () => classifierLoss(model, forward(model, images), targets),
      true,
      variables,
    )!;
    const value = (await loss.data())[0];
    tf.dispose([images, targets, loss]);
    return { loss: value, lr: learningRate(i) };
  },
});
await saveCurvesOfRun(true);
console.log(JSON.stringify({ name, ...result }));
