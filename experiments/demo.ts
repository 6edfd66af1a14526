/**
 * `deno task demo`: the main job, end to end with what exists so far.
 *
 * Loads a generator (`--checkpoint`, else a Progressive GAN of GAN Dissection's 64x64 shape with seeded random
 * weights, until the project's trained scenes model ships), samples seeds, traces a layer, ablates its most active
 * units and writes to `results/demo/`: a before/after grid, a per-unit chart (HTML and PNG), `summary.json` and
 * `meta.json`.
 *
 * @module
 */
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, initBackend } from "../lib/backend/backend.ts";
import { ablate } from "../lib/engine/edits.ts";
import { createGenerator, type EngineName } from "../lib/engine/select.ts";
import { writeJsonAtomic } from "../lib/io/atomic.ts";
import { savePng } from "../lib/io/png.ts";
import { loadGenerator } from "../lib/models/load.ts";
import { PGGAN_SIZES, randomPggan } from "../lib/models/pggan.ts";
import { latents } from "../lib/tensor/rng.ts";
import { parseConfig } from "../lib/util/config.ts";
import { RunRecorder } from "../lib/util/meta.ts";
import { parseSeeds } from "../lib/util/seeds.ts";
import { barFigure, imageGrid, saveFigureHtml, saveFigurePng } from "../lib/viz/mod.ts";

const config = parseConfig(
  {
    checkpoint: "",
    seeds: "0-7",
    layer: "layer4",
    ablate: 8,
    backend: "wasm",
    engine: "ort",
    out: "results/demo",
    figurePng: true,
  },
  Deno.args,
  { description: "deno task demo [flags]: sample, trace a layer, ablate its most active units" },
);

const run = new RunRecorder("demo", config);
const info = await initBackend({ backend: config.backend as BackendName });
console.error(`tfjs backend: ${info.backend}, ${info.threads} thread(s)`);

const model = await run.time(
  "load",
  () =>
    config.checkpoint
      ? loadGenerator(config.checkpoint)
      : randomPggan(PGGAN_SIZES[64], { seed: 2019, biasStd: 0.2 }),
);
const gen = await createGenerator(model, { engine: config.engine as EngineName });
const seeds = parseSeeds(config.seeds);
const stage = model.stages.find((s) => s.name === config.layer);
if (!stage) {
  throw new Error(`--layer: no stage "${config.layer}"; stages: ${model.stages.map((s) => s.name)}`);
}

const z = latents(seeds, model.zDim);
const { before, traced } = await run.time("generate", async () => {
  const { output, traces } = await gen.run(z, { trace: [config.layer] });
  return { before: output, traced: traces[config.layer] };
});
// Mean activation of every unit over samples and positions: [C]
const unitMeans = tf.tidy(() => Array.from(tf.mean(traced, [0, 1, 2]).dataSync()));
const top = unitMeans.map((m, u) => [m, u]).sort((a, b) => b[0] - a[0]).slice(0, config.ablate).map(([, u]) =>
  u
);
const after = await run.time(
  "ablate",
  async () => (await gen.run(z, { edits: { [config.layer]: ablate(top, stage.channels) } })).output,
);
const change = tf.tidy(() => tf.mean(tf.abs(tf.sub(after, before))).dataSync()[0]);

await Deno.mkdir(config.out, { recursive: true });
const both = tf.concat([before, after]);
const grid = imageGrid(both, {
  rows: 2,
  cols: seeds.length,
  rowLabels: ["original", `-${top.length} units`],
  colLabels: seeds.map((s) => `seed ${s}`),
  scale: Math.max(1, Math.floor(96 / model.resolution)),
});
await savePng(join(config.out, "ablation_grid.png"), grid);
const fig = barFigure(unitMeans.map((_, u) => `${u}`), unitMeans, {
  title: `${config.layer}: mean activation per unit (ablated: ${top.join(", ")})`,
  xTitle: "unit",
  yTitle: "mean activation",
});
await saveFigureHtml(join(config.out, "unit_means.html"), fig);
if (config.figurePng) {
  await run.time("figure png", () => saveFigurePng(join(config.out, "unit_means.png"), fig));
}

const summary = {
  model: config.checkpoint || "random PGGAN 64x64 (GAN Dissection channel sizes, seed 2019)",
  layer: config.layer,
  units: stage.channels,
  ablated: top,
  mean_abs_pixel_change: change,
};
await writeJsonAtomic(join(config.out, "summary.json"), summary);
await run.write(config.out, { engine: gen.engine });
tf.dispose([z, before, traced, after, both]);
await gen.dispose();
console.log(
  `wrote ${config.out}/ablation_grid.png, unit_means.html${config.figurePng ? ", unit_means.png" : ""}`,
);
console.log(JSON.stringify(summary));
