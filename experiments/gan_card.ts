/**
 * `deno task card:gan --name scenes_pggan64`: evaluate a shipped generator and complete its model card.
 *
 * Measures, for `samples` generations (seeds 0 … samples−1) against as many held-out real images, in the domain
 * network's features (`scenes_net` / `fashion_net`, so "FD (scenes-net)", not FID): the Fréchet distance,
 * precision, recall and the mean realism score; for scenes also the mean defect fraction of generations and of
 * real images (the share of pixels the scene grammar cannot explain, on the segmenter's labels). The same FD,
 * precision and recall at a small size (`checkSize` generations vs as many real images, over `checkRepeats`
 * disjoint sets of the seeds and real images above) give the spread a small fresh sample has, which
 * `tests/model_cards_test.ts` checks the weights against. Then writes, next to the weights in `data/models/`:
 * - `<name>.json`: the card, with an `evaluation` record holding these numbers and the sha256 of the weights they
 *   were measured on (the training script rewrites the card at every export; run this after training stops);
 * - `<name>_samples.png`: an 8x8 grid of seeds 0 … 63;
 * - `<name>.md`: the card for people: what the model is, how it was trained, the numbers and the grid.
 *
 * @module
 */
import { join } from "node:path";
import { type BackendName, initBackend } from "../lib/backend/backend.ts";
import {
  evaluateGenerations,
  generateImages,
  type GenerationMetrics,
  loadDomain,
  realReference,
} from "../lib/correct/mod.ts";
import { writeFileAtomic, writeJsonAtomic } from "../lib/io/atomic.ts";
import { sha256File } from "../lib/io/hash.ts";
import { savePng } from "../lib/io/png.ts";
import { commandConfig } from "../lib/util/config.ts";
import { progress } from "../lib/util/progress.ts";
import { imageGrid } from "../lib/viz/grid.ts";

export const CONFIG = {
  name: {
    default: "scenes_pggan64",
    help: "the shipped generator",
    choices: ["scenes_pggan64", "fashion_pggan32"],
  },
  samples: {
    default: 5000,
    help: "generations evaluated (against as many held-out real images)",
    integer: true,
    min: 10,
  },
  checkSize: {
    default: 1000,
    help: "spot check: generations (and real images) per set",
    integer: true,
    min: 10,
  },
  checkRepeats: { default: 5, help: "spot check: disjoint sets, within --samples", integer: true, min: 1 },
  models: { default: "data/models", help: "folder of the shipped models and their cards", meta: "<dir>" },
  batch: { default: 100, help: "images per batch", integer: true, min: 1, max: 4096 },
  backend: {
    default: "wasm",
    help: "tfjs backend for training, gradients and the tfjs engine",
    choices: ["wasm", "cpu", "tensorflow"],
  },
};

const config = commandConfig(CONFIG, {
  command: "deno task card:gan",
  summary:
    "Evaluate a shipped generator (FD, precision/recall, realism, spot checks) and complete its model card.",
});

const DOMAIN_OF: Record<string, string> = { scenes_pggan64: "scenes", fashion_pggan32: "fashion" };
const domainName = DOMAIN_OF[config.name];
if (!domainName) {
  throw new Error(`--name must be one of ${Object.keys(DOMAIN_OF).join(", ")}, got "${config.name}"`);
}
if (config.checkSize * config.checkRepeats > config.samples) {
  throw new Error(`--check-size × --check-repeats must not exceed --samples ${config.samples}`);
}
await initBackend({ backend: config.backend as BackendName });
const t0 = performance.now();
const cardPath = join(config.models, `${config.name}.json`);
const weightsPath = join(config.models, `${config.name}.safetensors`);
const card = JSON.parse(await Deno.readTextFile(cardPath));
const sha256 = await sha256File(weightsPath);
if (card.weights?.sha256 !== sha256) {
  throw new Error(
    `${cardPath}: its sha256 is not that of ${weightsPath}; let the training export finish first`,
  );
}
const domain = await loadDomain(domainName, { models: config.models });
const seeds = Array.from({ length: config.samples }, (_, i) => i);

// Real side: held-out real images in the domain network's features.
const real = await realReference(domain.realHeldout, domain.features, {
  count: config.samples,
  batch: config.batch,
});
const metrics = await evaluateGenerations(domain.gen, seeds, {
  extractor: domain.features,
  real,
  extras: domain.defectFraction ? { defect_fraction: domain.defectFraction } : {},
  batch: config.batch,
});
let realDefects: number | undefined;
if (domain.defectFraction) {
  const count = Math.min(1000, config.samples);
  const bar = progress(count, { label: "real defect fractions" });
  let sum = 0;
  for (let i = 0; i < count; i += config.batch) {
    const images = domain.realHeldout.sample(seeds.slice(i, Math.min(count, i + config.batch)));
    for (const v of await domain.defectFraction(images)) sum += v;
    bar.tick(images.shape[0]);
    images.dispose();
  }
  bar.done();
  realDefects = sum / count;
}

const checks: GenerationMetrics[] = [];
const checkBar = progress(config.checkRepeats, { label: `spot checks of ${config.checkSize}` });
for (let r = 0; r < config.checkRepeats; r++) {
  const offset = r * config.checkSize;
  const realSet = await realReference(domain.realHeldout, domain.features, {
    count: config.checkSize,
    offset,
    batch: config.batch,
  });
  checks.push(
    await evaluateGenerations(domain.gen, seeds.slice(offset, offset + config.checkSize), {
      extractor: domain.features,
      real: realSet,
      batch: config.batch,
      progress: false,
    }).finally(() => realSet.dispose()),
  );
  checkBar.tick(1);
}
checkBar.done();
/** Mean and standard deviation (n − 1) of a measure over the spot checks. */
const spread = (pick: (m: GenerationMetrics) => number) => {
  const v = checks.map(pick);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, v.length - 1)) };
};

const grid = await generateImages(domain.gen, seeds.slice(0, 64));
const gridFile = `${config.name}_samples.png`;
await savePng(join(config.models, gridFile), imageGrid(grid, { cols: 8, scale: grid.shape[1] < 64 ? 2 : 1 }));
grid.dispose();
real.dispose();
await domain.dispose();

const metric = `FD (${metrics.features})`;
const evaluation = {
  weights_sha256: sha256,
  samples: config.samples,
  real: `${config.samples} held-out real images (${domain.realHeldout.description})`,
  features: metrics.features,
  metric,
  fd: metrics.fd,
  precision: metrics.precision,
  recall: metrics.recall,
  realism_mean: metrics.realism,
  realism_median: metrics.realismMedian,
  ...(realDefects !== undefined
    ? { defect_fraction: metrics.extras.defect_fraction, defect_fraction_real: realDefects }
    : {}),
  spot_check: {
    size: config.checkSize,
    repeats: config.checkRepeats,
    sets:
      `seeds r·${config.checkSize} … (r+1)·${config.checkSize}−1 vs held-out real images at the same indices`,
    fd: spread((m) => m.fd),
    precision: spread((m) => m.precision),
    recall: spread((m) => m.recall),
  },
  grid: gridFile,
  seconds: Math.round((performance.now() - t0) / 1000),
};
await writeJsonAtomic(cardPath, { ...card, evaluation });

const t = card.training;
const lines = [
  `# ${config.name}`,
  "",
  `A Progressive-GAN-shaped generator (stages ${
    card.stages.map((s: { name: string }) => s.name).join(", ")
  }; ` +
  `widths ${card.sizes.join(", ")}) trained by the project on ${card.data}.`,
  "",
  `![64 samples, seeds 0–63](${gridFile})`,
  "",
  "## Evaluation",
  "",
  `${config.samples} generations (seeds 0 … ${
    config.samples - 1
  }) against ${config.samples} held-out real images, ` +
  `in the features of the project's ${metrics.features} (so ${metric}, not FID).`,
  "",
  "| measure | value |",
  "|---|---|",
  `| ${metric} ↓ | ${metrics.fd.toFixed(2)} |`,
  `| precision ↑ | ${metrics.precision.toFixed(3)} |`,
  `| recall ↑ | ${metrics.recall.toFixed(3)} |`,
  `| mean realism score ↑ | ${metrics.realism.toFixed(3)} |`,
  ...(realDefects !== undefined
    ? [
      `| defect fraction (generated / real) | ${metrics.extras.defect_fraction.toFixed(4)} / ${
        realDefects.toFixed(4)
      } |`,
    ]
    : []),
  "",
  `At ${config.checkSize} generations vs ${config.checkSize} real images (${config.checkRepeats} disjoint sets), ` +
  `the size \`tests/model_cards_test.ts\` re-measures on fresh seeds: ${metric} ` +
  `${evaluation.spot_check.fd.mean.toFixed(2)} ± ${evaluation.spot_check.fd.std.toFixed(2)}, precision ` +
  `${evaluation.spot_check.precision.mean.toFixed(3)} ± ${
    evaluation.spot_check.precision.std.toFixed(3)
  }, recall ` +
  `${evaluation.spot_check.recall.mean.toFixed(3)} ± ${evaluation.spot_check.recall.std.toFixed(3)} ` +
  "(mean ± standard deviation).",
  "",
  "## Training",
  "",
  `\`${t.command}\`: ${t.steps} steps (${
    (t.wall_seconds / 3600).toFixed(1)
  } h of wall time on ${t.backend}, ` +
  `${t.threads} thread(s)), batch ${t.recipe.batch}, learning rate ${t.recipe.learningRate}, R1 γ ${t.recipe.r1Gamma}, ` +
  `EMA β ${t.recipe.emaBeta}; ${t.loss}. Weights: \`${card.weights.file}\` (float16, sha256 ${
    sha256.slice(0, 16)
  }…).`,
  "",
  "Imperfect on purpose: the correction method needs a real share of flawed generations.",
];
await writeFileAtomic(join(config.models, `${config.name}.md`), lines.join("\n") + "\n");
console.log(JSON.stringify({ name: config.name, ...evaluation }));
