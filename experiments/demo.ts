/**
 * `deno task demo`: the main job on the shipped scenes model — GAN Dissection of `layer4` (trees are removed there)
 * and `layer6` (doors are inserted there), the tree-removal and door-insertion interventions, then the automatic correction of the
 * units that cause artifacts — gathered in one report.
 *
 *     deno task demo [--checkpoint g.safetensors] [--out results/demo] [--quick] [--backend wasm] [--engine ort]
 *
 * It runs the two experiments as subprocesses at the demo's sizes ({@link SIZES}; their progress shows on
 * stderr) and writes under `<out>/`:
 * - `dissection/<model>/`: `experiments/dissect.ts`'s results (`layer4/units.json`, `interventions.json`,
 *   figures);
 * - `correction/scenes/`: `experiments/correct.ts`'s results (labels, classifier, Grad-CAM, defective scores,
 *   the table, figures);
 * - `samples_<generator>.png`: 32 samples of each shipped generator (scenes and fashion);
 * - `REPORT.md`: what ran (model, sizes, timings, git revision) and the results of both parts, figures linked;
 * - `meta.json`.
 *
 * Stdout ends with a summary: the correction table's FD and realism per method, and the tree removal.
 * About 5 minutes on a 2-core machine; `--quick` (tiny sizes, for the test) about a minute. The experiments
 * cache their steps, so a re-run with the same model is faster.
 *
 * @module
 */
import { basename, extname, join, relative, resolve } from "node:path";
import { writeFileAtomic } from "../lib/io/atomic.ts";
import { type BackendName, initBackend } from "../lib/backend/backend.ts";
import { generateImages } from "../lib/correct/domain.ts";
import type { CorrectionTable } from "../lib/correct/table.ts";
import { createGenerator, type EngineName } from "../lib/engine/select.ts";
import { savePng } from "../lib/io/png.ts";
import { loadGenerator } from "../lib/models/load.ts";
import { imageGrid } from "../lib/viz/grid.ts";
import { commandConfig } from "../lib/util/config.ts";
import { formatDuration } from "../lib/util/progress.ts";
import { gitRevision, type RunMeta, RunRecorder } from "../lib/util/meta.ts";
import {
  correctionSection,
  dissectionSection,
  type Flags,
  type Interventions,
  pct,
  QUICK_FLAGS,
  readJson,
  ROOT,
  runExperiment,
  seconds,
  textTable,
  toArgs,
} from "./report.ts";

const SHIPPED = "data/models/scenes_pggan64.safetensors";
const LAYER = "layer4";

export const CONFIG = {
  checkpoint: {
    default: "",
    help: "a scenes-sized (64x64) generator checkpoint instead of the shipped one",
    exists: true,
    meta: "<file>",
  },
  out: { default: "results/demo", help: "output folder", meta: "<dir>" },
  quick: { default: false, help: "tiny sizes: the whole demo in about a minute (for tests)" },
  backend: {
    default: "wasm",
    help: "tfjs backend of both experiments",
    choices: ["wasm", "cpu", "tensorflow"],
  },
  engine: { default: "ort", help: "forward-only engine of both experiments", choices: ["ort", "tfjs"] },
};

const config = commandConfig(CONFIG, {
  command: "deno task demo",
  summary: "Both methods on the shipped scenes model, gathered in one report (results/demo/REPORT.md).",
});

/**
 * Each experiment's flags at demo size and at `--quick` size (the others keep the experiments' defaults),
 * chosen so that the demo takes about 5 minutes on 2 cores (measured under load), resp. under a minute.
 */
const SIZES: Record<"full" | "quick", { dissect: Flags; correct: Flags }> = {
  full: {
    dissect: {
      layers: [LAYER],
      samples: 1000,
      heldout: 150,
      meansSamples: 300,
      aceSamples: 16,
      aceCandidates: 24,
      curveUnits: [1, 2, 4, 8, 12, 20],
    },
    correct: {
      labelSeeds: 1600,
      fitArtifacts: 100,
      evalArtifacts: 150,
      realReference: 1000,
      fidSeeds: 500,
      // Only the stopping layer is swept; n and λ stay at the table's values (their sweeps are one point).
      sweepN: [0.2],
      sweepLambda: [0.9],
      sweepStop: [2, 4, 6],
      sweepFit: 50,
    },
  },
  quick: QUICK_FLAGS,
};

const say = (line: string) => console.error(`[demo] ${line}`);

const run = new RunRecorder("demo", config);
const outDir = resolve(config.out);
const model = resolve(config.checkpoint || join(ROOT, SHIPPED));
const sizes = config.quick ? SIZES.quick : SIZES.full;
const common = { backend: config.backend, engine: config.engine };
const dissectFlags: Flags = { model, ...sizes.dissect, ...common, out: join(outDir, "dissection") };
const correctFlags: Flags = {
  ...(config.checkpoint ? { checkpoint: model } : {}),
  ...sizes.correct,
  ...common,
  out: join(outDir, "correction"),
};
const dissectDir = join(outDir, "dissection", basename(model, extname(model)));
const correctDir = join(outDir, "correction", "scenes");

say(`model ${model}${config.quick ? " (--quick: tiny sizes)" : ""}; results under ${outDir}`);
// The shipped generators first: 32 samples of each (ORT, a second each).
const samplesOf: Record<string, string> = {};
await run.time("samples", async () => {
  await Deno.mkdir(outDir, { recursive: true });
  await initBackend({ backend: config.backend as BackendName });
  const generators = {
    scenes_pggan64: model,
    fashion_pggan32: join(ROOT, "data/models/fashion_pggan32.safetensors"),
  };
  for (const [name, path] of Object.entries(generators)) {
    const gen = await createGenerator(await loadGenerator(path), { engine: config.engine as EngineName });
    const images = await generateImages(gen, Array.from({ length: 32 }, (_, i) => i));
    samplesOf[name] = `samples_${name}.png`;
    await savePng(
      join(outDir, samplesOf[name]),
      imageGrid(images, { cols: 16, scale: images.shape[1] < 64 ? 2 : 1 }),
    );
    images.dispose();
    await gen.dispose();
  }
});
say("1/2 GAN Dissection of layer4 and the interventions (experiments/dissect.ts)");
await run.time("dissection", () => runExperiment("experiments/dissect.ts", toArgs(dissectFlags)));
say(`1/2 done in ${formatDuration(run.timings.dissection)}`);
say("2/2 correction of artifact units (experiments/correct.ts)");
await run.time("correction", () => runExperiment("experiments/correct.ts", toArgs(correctFlags)));
say(`2/2 done in ${formatDuration(run.timings.correction)}`);

const dissectMeta = await readJson<RunMeta>(join(dissectDir, "meta.json"));
const correctMeta = await readJson<RunMeta>(join(correctDir, "meta.json"));
const card = await readJson<{ training?: { steps: number; wall_seconds: number } }>(
  model.replace(/\.[^./]+$/, ".json"),
).catch(() => undefined);
const total = run.meta().seconds;
const sizeLine = (flags: Flags) => `\`${toArgs(flags).join(" ")}\``;
const threads = Deno.env.get("GANATOMY_THREADS");

const report = [
  "# ganatomy demo: GAN Dissection and correction of the scenes generator",
  "",
  `- **Model**: \`${model.startsWith(`${ROOT}/`) ? relative(ROOT, model) : model}\`` +
  (card?.training
    ? ` (trained ${card.training.steps} steps, ${formatDuration(card.training.wall_seconds)})`
    : "") +
  "; segmenter `data/models/scenes_segmenter.safetensors`; domain network `data/models/scenes_net.safetensors`.",
  `- **Run**: ${run.started.toISOString()}, git \`${gitRevision(ROOT)}\`, Deno ${Deno.version.deno}, ` +
  `backend ${config.backend}, engine ${config.engine}` + (threads ? `, GANATOMY_THREADS=${threads}` : "") +
  (config.quick ? ", **--quick** (tiny sizes: the numbers mean little)" : "") + ".",
  `- **Wall time**: ${seconds(total)} — dissection ${seconds(run.timings.dissection)}, correction ` +
  `${seconds(run.timings.correction)}.`,
  `- **Dissection** (\`experiments/dissect.ts\`): ${sizeLine(sizes.dissect)}; results in ` +
  `[\`${relative(outDir, dissectDir)}/\`](${relative(outDir, dissectDir)}/).`,
  `- **Correction** (\`experiments/correct.ts\`): ${sizeLine(sizes.correct)}; results in ` +
  `[\`${relative(outDir, correctDir)}/\`](${relative(outDir, correctDir)}/).`,
  "",
  "## The shipped generators",
  "",
  ...Object.entries(samplesOf).flatMap((
    [name, file],
  ) => [`![${name}, seeds 0–31](${file})`, "", `\`${name}\`, seeds 0–31.`, ""]),
  ...(await dissectionSection(outDir, dissectDir, { meta: dissectMeta, layer: LAYER })),
  "",
  ...(await correctionSection(outDir, correctDir, correctMeta)),
  "",
].join("\n");
await writeFileAtomic(join(outDir, "REPORT.md"), report);
await run.write(outDir, {
  backend: dissectMeta.backend,
  engine: config.engine,
  dissection: dissectDir,
  correction: correctDir,
});

// ---- Summary on stdout ----
const table = await readJson<CorrectionTable>(join(correctDir, "table.json"));
const iv = await readJson<Interventions>(join(dissectDir, "interventions.json"));
const [removed, removal] = Object.entries(iv.removal)[0];
console.log(`demo: ${join(config.out, "REPORT.md")} in ${formatDuration(total)}`);
console.log(`\nCorrection (${table.evalSeeds} held-out artifact generations):`);
console.log(textTable(
  ["method", `${table.metric} ↓`, "realism ↑"],
  Object.values(table.rows).map((r) => [r.label, r.fid.toFixed(3), r.realism.toFixed(3)]),
));
const ace = `ACE ${removal.ace.ace.toFixed(4)} ± ${removal.ace.std_err.toFixed(4)}`;
console.log(
  `\nDissection, ${removed} removal (${removal.units} units of ${removal.layer}, ${removal.samples} held-out ` +
    `samples): ${removed} pixels ${pct(removal.before)} → ${pct(removal.after)}, ${ace}`,
);
