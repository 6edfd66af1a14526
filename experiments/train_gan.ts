/**
 * `deno task train:gan`: train one of the project's generators adversarially, resumably, on this machine.
 *
 *     deno task train:gan --dataset scenes [--steps 20000] [--max-minutes 150] [--resume false] …
 *
 * The generator is a Progressive GAN in GAN Dissection's stage layout (so every method runs on it unchanged),
 * trained at its full resolution from the start with the non-saturating loss, lazy R1 and an exponential moving
 * average of its weights (StyleGAN2's recipe; progressive growing's fade-in needs a to-RGB layer per resolution,
 * which the stage layout of GAN Dissection's checkpoints does not keep). Run folder `<runs>/<name>/`: checkpoint,
 * `metrics.jsonl`, `samples.png` (8x8, fixed seeds, averaged generator), `curves.html/.png`. At every checkpoint
 * the averaged generator is exported to `<models>/<name>.safetensors` with its model card `<models>/<name>.json`.
 *
 * @module
 */
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, initBackend } from "../lib/backend/backend.ts";
import { runStages } from "../lib/engine/tfjs.ts";
import { savePng } from "../lib/io/png.ts";
import { writeSafetensors } from "../lib/io/safetensors.ts";
import { imageSource } from "../lib/data/source.ts";
import { createDiscriminator } from "../lib/models/discriminator.ts";
import { LAYOUT_KEY } from "../lib/models/load.ts";
import { ARCH_KEY } from "../lib/models/param_file.ts";
import { pgganFromWeights, pgganResolution, randomPgganWeights } from "../lib/models/pggan.ts";
import { latents } from "../lib/tensor/rng.ts";
import { writeModelCard } from "../lib/train/card.ts";
import { createGanTrainer } from "../lib/train/gan.ts";
import { averagedSeries, saveCurves } from "../lib/train/curves.ts";
import { readMetrics, stepRng, trainLoop } from "../lib/train/loop.ts";
import { commandConfig } from "../lib/util/config.ts";
import { DATA_DIR, TRAINING } from "../lib/util/flags.ts";
import { imageGrid, lineFigure } from "../lib/viz/mod.ts";

/**
 * Per data set defaults: generator sizes `[z, 4x4, 8x8, …]`, discriminator widths from the top down, and the R1
 * weight. Scenes need the stronger R1: with gamma 0.1 the discriminator separated real from fake within ~400 steps
 * (losses 0.07 / 0.04) and the generator collapsed to one sky-over-grass picture.
 */
const PRESETS: Record<string, { sizes: number[]; widths: number[]; r1Gamma: number }> = {
  scenes: { sizes: [128, 128, 128, 64, 32, 16], widths: [16, 32, 64, 128], r1Gamma: 1 }, // 64x64 RGB
  fashion: { sizes: [128, 128, 128, 64, 32], widths: [32, 64, 128], r1Gamma: 0.1 }, // 32x32 grey
};

export const CONFIG = {
  dataset: { default: "scenes", help: "data set", choices: ["scenes", "fashion"] },
  name: { default: "", help: "model name", meta: "<name>", defaultText: "<dataset>_<arch>" },
  sizes: {
    default: [] as number[],
    help: "generator channels [z, 4x4, 8x8, …]",
    integer: true,
    min: 1,
    defaultText: "the data set's preset",
    items: "number" as const,
  },
  widths: {
    default: [] as number[],
    help: "discriminator widths from the full resolution down",
    integer: true,
    min: 1,
    defaultText: "the data set's preset",
    items: "number" as const,
  },
  batch: { default: 32, help: "images per batch", integer: true, min: 1, max: 4096 },
  steps: {
    default: 20000,
    help: "optimiser steps in all (a resumed run counts the steps already done)",
    integer: true,
    min: 0,
  },
  learningRate: { default: 0.002, help: "Adam learning rate", min: 0, max: 1 },
  r1Gamma: { default: -1, help: "R1 weight gamma (negative: the data set's preset)" },
  r1Every: {
    default: 4,
    help: "apply R1 every this many steps (lazy regularisation)",
    integer: true,
    min: 1,
  },
  emaBeta: { default: 0.998, help: "decay of the generator's weight average per step", min: 0, max: 1 },
  seed: {
    default: 0,
    help: "seed of the initial weights and of the data and latent draws",
    integer: true,
    min: 0,
  },
  ...TRAINING,
  data: DATA_DIR,
};

const config = commandConfig(CONFIG, {
  command: "deno task train:gan",
  summary: "Train a generator adversarially (tfjs), resumably; checkpoints and exports every few minutes.",
});

const preset = PRESETS[config.dataset];
if (!preset) {
  throw new Error(`--dataset must be one of ${Object.keys(PRESETS).join(", ")}, got "${config.dataset}"`);
}
const sizes = config.sizes.length ? config.sizes : preset.sizes;
const widths = config.widths.length ? config.widths : preset.widths;
const r1Gamma = config.r1Gamma >= 0 ? config.r1Gamma : preset.r1Gamma;
const name = config.name || `${config.dataset}_pggan${pgganResolution(sizes)}`;
const runDir = join(config.runs, name);
const info = await initBackend({ backend: config.backend as BackendName });
const source = await imageSource(config.dataset, { dir: config.data || undefined });
if (source.resolution !== pgganResolution(sizes)) {
  throw new Error(
    `--sizes make ${pgganResolution(sizes)}px images, but ${source.name} is ${source.resolution}px`,
  );
}

// Everything that shapes the model or the data stream; a checkpoint made with other values is not resumed.
const recipe = {
  dataset: config.dataset,
  sizes,
  widths,
  channels: source.channels,
  batch: config.batch,
  learningRate: config.learningRate,
  r1Gamma,
  r1Every: config.r1Every,
  emaBeta: config.emaBeta,
  seed: config.seed,
};

const weights = randomPgganWeights(sizes, { seed: config.seed });
if (source.channels !== 3) adaptOutputChannels(weights, sizes, source.channels);
const generator = pgganFromWeights(weights, { fold: false });
const discriminator = createDiscriminator({
  resolution: source.resolution,
  channels: source.channels,
  widths,
  seed: config.seed + 1,
});
const gan = createGanTrainer(generator, discriminator, {
  learningRate: config.learningRate,
  r1Gamma,
  r1Every: config.r1Every,
  emaBeta: config.emaBeta,
});

/** PGGAN's output stage is RGB; a grey data set trains a 1-channel output stage instead. */
function adaptOutputChannels(w: ReturnType<typeof randomPgganWeights>, s: number[], channels: number): void {
  const r = pgganResolution(s);
  const key = `output_${r}x${r}`;
  const cin = s[s.length - 1];
  const rng = stepRng(config.seed, 999_999);
  w[`${key}.conv.weight`] = {
    shape: [1, 1, cin, channels],
    data: Float32Array.from({ length: cin * channels }, () => rng.normal()),
  };
  w[`${key}.wscale.b`] = { shape: [channels], data: new Float32Array(channels) };
}

const sampleSeeds = Array.from({ length: 64 }, (_, i) => i);

async function exportModel(steps: number, seconds: number): Promise<void> {
  const ema = await gan.emaWeights();
  const path = join(config.models, `${name}.safetensors`);
  const tensors = Object.fromEntries(
    Object.entries(ema).map(([k, w]) => [k, { dtype: "F32" as const, ...w }]),
  );
  await writeSafetensors(path, tensors, {
    metadata: { [LAYOUT_KEY]: "nhwc", [ARCH_KEY]: "pggan" },
    dtype: "F16",
  });

  const z = latents(sampleSeeds, sizes[0]);
  const { output } = runStages(generator, gan.gEma, z, { clamp: true });
  await savePng(
    join(runDir, "samples.png"),
    imageGrid(output, { cols: 8, scale: source.resolution < 64 ? 2 : 1 }),
  );
  tf.dispose([z, output]);

  const metrics = await readMetrics(runDir);
  const fig = lineFigure(
    ["d_loss", "g_loss", "r1"].map((key) => ({ name: key, ...averagedSeries(metrics, key) })),
    { title: `${name}: losses (averaged)`, xTitle: "step", yTitle: "loss" },
  );
  await saveCurves(runDir, fig);

  await writeModelCard(config.models, {
    name,
    arch: "pggan",
    fields: {
      sizes,
      resolution: source.resolution,
      channels: source.channels,
      stages: generator.stages.map((s) => ({ name: s.name, size: s.size, units: s.channels })),
    },
    data: source.description,
    training: {
      command: `deno task train:gan --dataset ${config.dataset}`,
      recipe,
      loss: "non-saturating logistic loss, lazy R1 on reals; weights averaged (EMA) for export",
      why:
        "R1 works here (second-order gradients run on every backend) and is what StyleGAN2 uses; WGAN-GP needs the same machinery and more steps",
      discriminator: { widths, minibatchStd: true },
      steps,
      seconds,
      trainer: `ganatomy (tfjs ${info.backend}, ${info.threads} threads)`,
      backend: info.backend,
      threads: info.threads,
    },
    dtype: "F16",
    samples: join(runDir, "samples.png"),
    metrics: {
      last_100_steps: Object.fromEntries(
        ["d_loss", "g_loss", "r1"].map((k) => {
          const ys = metrics.slice(-100).map((m) => m[k]).filter((v) => v !== undefined) as number[];
          return [k, ys.reduce((a, b) => a + b, 0) / Math.max(1, ys.length)];
        }),
      ),
    },
  });
}

const result = await trainLoop({
  dir: runDir,
  steps: config.steps,
  parts: { params: gan.allParams(), optimizers: gan.optimizers },
  resume: config.resume,
  meta: recipe,
  label: `train ${name} (${info.backend}, ${info.threads} threads)`,
  checkpointSeconds: config.checkpointMinutes * 60,
  maxSeconds: config.maxMinutes > 0 ? config.maxMinutes * 60 : undefined,
  onCheckpoint: ({ steps, seconds }) => exportModel(steps, seconds),
  step: (i) => {
    const rng = stepRng(config.seed, i);
    const real = source.sample(Array.from({ length: config.batch }, () => rng.int(source.size)));
    const z = latents(Array.from({ length: 2 * config.batch }, () => rng.int(2 ** 31)), sizes[0]);
    const metrics = gan.step(real, z, i);
    tf.dispose([real, z]);
    return metrics;
  },
});
console.log(JSON.stringify({ name, ...result }));
