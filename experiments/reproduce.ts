/**
 * `deno task reproduce`: every experiment for every shipped model, at full size, and `results/REPORT.md` linking
 * the paper-style figures and tables.
 *
 *     deno task reproduce [--models scenes,fashion] [--out results]
 *     deno task reproduce --checkpoint churchoutdoor_lsun.pth [--segmenter seg.safetensors] --real churches/ \
 *         --backbone resnet18.pth --backbone-size 224 --labels labels.csv [--inception pt_inception.pth]
 *
 * Steps (each a subprocess; its progress shows on stderr):
 * - `experiments/dissect.ts` on the scenes generator (layers 4 and 6, 2000 samples; unit class distributions,
 *   top-unit strips, removal of trees, insertion of doors, ACE-vs-IoU) → `<out>/dissection/`;
 * - `experiments/correct.ts` for each model (labels, classifier, Grad-CAM, defective scores per layer, the
 *   FD/realism table, sweeps over n, λ and l, corrected grids and failure cases) → `<out>/correction/<model>/`;
 * - with `--checkpoint`: the same on a user's PGGAN (dissection when `--segmenter` is given; correction with the
 *   user's real images, ResNet-18 weights and labels).
 *
 * Resumable: a step that finished with the same flags is skipped (`<out>/reproduce.json` records them), and the
 * experiments cache their own steps, so an interrupted run continues where it stopped.
 *
 * @module
 */
import { basename, extname, join, resolve } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../lib/io/atomic.ts";
import { hashKey } from "../lib/io/hash.ts";
import { commandConfig } from "../lib/util/config.ts";
import { gitRevision, type RunMeta, RunRecorder } from "../lib/util/meta.ts";
import { formatDuration } from "../lib/util/progress.ts";
import {
  correctionSection,
  dissectionSection,
  type Flags,
  QUICK_FLAGS,
  readJson,
  ROOT,
  runExperiment,
  toArgs,
} from "./report.ts";

export const CONFIG = {
  models: {
    default: ["scenes", "fashion"],
    help: "shipped models to correct (scenes is also dissected)",
    choices: ["scenes", "fashion"],
  },
  layers: {
    default: ["layer4", "layer6"],
    help: "dissected layers of the scenes generator",
    meta: "<layer,…>",
  },
  checkpoint: {
    default: "",
    help: "a user's generator checkpoint, in addition",
    exists: true,
    meta: "<file>",
  },
  segmenter: {
    default: "",
    help: "with --checkpoint: its segmenter (per-class labels; dissection runs only with one)",
    exists: true,
    meta: "<file>",
  },
  real: { default: "", help: "with --checkpoint: a folder of its real images", exists: true, meta: "<dir>" },
  backbone: {
    default: "",
    help: "with --checkpoint: torchvision ResNet-18 weights",
    exists: true,
    meta: "<file>",
  },
  backboneSize: {
    default: 0,
    help: "with --checkpoint: resize before the ResNet (0: the generator's size)",
    integer: true,
    min: 0,
    max: 1024,
  },
  labels: {
    default: "",
    help: "with --checkpoint: its labels (deno task label)",
    exists: true,
    meta: "<file>",
  },
  inception: {
    default: "",
    help: "with --checkpoint: pytorch-fid's Inception weights (FID instead of FD in ResNet features)",
    exists: true,
    meta: "<file>",
  },
  out: { default: "results", help: "output folder", meta: "<dir>" },
  quick: { default: false, help: "tiny sizes (for tests): every step in about a minute" },
  backend: {
    default: "wasm",
    help: "tfjs backend for training, gradients and the tfjs engine",
    choices: ["wasm", "cpu", "tensorflow"],
  },
  engine: {
    default: "ort",
    help: "engine of forward-only passes (ONNX Runtime, or the tfjs run loop)",
    choices: ["ort", "tfjs"],
  },
};

const config = commandConfig(CONFIG, {
  command: "deno task reproduce",
  summary:
    "Every experiment for every shipped model (and a user's checkpoint), with results/REPORT.md; resumable.",
});

const run = new RunRecorder("reproduce", config);
const out = resolve(config.out);
const say = (line: string) => console.error(`[reproduce] ${line}`);
const common: Flags = { backend: config.backend, engine: config.engine };
const quick = (kind: "dissect" | "correct"): Flags => (config.quick ? QUICK_FLAGS[kind] : {});

interface Step {
  name: string;
  script: string;
  flags: Flags;
}
const steps: Step[] = [];
const shippedScenes = join(ROOT, "data/models/scenes_pggan64.safetensors");
if (config.models.includes("scenes")) {
  steps.push({
    name: "dissection of scenes_pggan64",
    script: "experiments/dissect.ts",
    flags: {
      model: shippedScenes,
      ...quick("dissect"),
      layers: config.layers,
      out: join(out, "dissection"),
      ...common,
    },
  });
}
for (const model of config.models) {
  steps.push({
    name: `correction of ${model}`,
    script: "experiments/correct.ts",
    flags: { model, ...quick("correct"), out: join(out, "correction"), ...common },
  });
}
if (config.checkpoint) {
  const checkpoint = resolve(config.checkpoint);
  if (config.segmenter) {
    steps.push({
      name: `dissection of ${basename(checkpoint)}`,
      script: "experiments/dissect.ts",
      flags: {
        model: checkpoint,
        segmenter: resolve(config.segmenter),
        out: join(out, "dissection"),
        ...common,
      },
    });
  }
  const own: Flags = {
    model: checkpoint,
    ...quick("correct"),
    real: resolve(config.real),
    backbone: resolve(config.backbone),
    labels: resolve(config.labels),
    out: join(out, "correction"),
    ...common,
  };
  if (config.backboneSize) own.backboneSize = config.backboneSize;
  if (config.inception) own.inception = resolve(config.inception);
  steps.push({ name: `correction of ${basename(checkpoint)}`, script: "experiments/correct.ts", flags: own });
}

// Finished steps, by name: the hash of their flags and of the weights they read.
const statePath = join(out, "reproduce.json");
const state: Record<string, { hash: string; seconds: number }> = await readJson<typeof state>(statePath)
  .catch(() => ({}));
const fileHash = async (path: string) => {
  const stat = await Deno.stat(path).catch(() => null);
  return stat ? `${stat.size}:${stat.mtime?.getTime()}` : "missing";
};
for (const [i, step] of steps.entries()) {
  const weights = [shippedScenes, join(ROOT, "data/models/fashion_pggan32.safetensors"), config.checkpoint]
    .filter(Boolean);
  const hash = hashKey({ flags: step.flags, weights: await Promise.all(weights.map(fileHash)) });
  if (state[step.name]?.hash === hash) {
    say(`${i + 1}/${steps.length} ${step.name}: done before (${formatDuration(state[step.name].seconds)})`);
    continue;
  }
  say(`${i + 1}/${steps.length} ${step.name}`);
  const t = performance.now();
  await run.time(step.name, () => runExperiment(step.script, toArgs(step.flags)));
  state[step.name] = { hash, seconds: (performance.now() - t) / 1000 };
  await writeJsonAtomic(statePath, state);
  say(`${i + 1}/${steps.length} ${step.name}: ${formatDuration(state[step.name].seconds)}`);
}

// The report: every dissection and correction result under <out>.
const report = [
  "# ganatomy: reproduced results",
  "",
  `Git \`${gitRevision(ROOT)}\`, ${
    new Date().toISOString()
  }. Each section comes from one experiment's folder; ` +
  "re-run with `deno task reproduce` (finished steps are skipped).",
  "",
];
const dissections = steps.filter((s) => s.script.endsWith("dissect.ts"));
for (const step of dissections) {
  const model = String(step.flags.model);
  const dir = join(out, "dissection", basename(model, extname(model)));
  const meta = await readJson<RunMeta>(join(dir, "meta.json"));
  report.push(`# ${step.name}`, "");
  for (const [i, layer] of config.layers.entries()) {
    // The interventions run on the first layer only.
    report.push(...await dissectionSection(out, dir, { meta, layer, interventions: i === 0 }), "");
  }
}
for (const step of steps.filter((s) => s.script.endsWith("correct.ts"))) {
  const model = String(step.flags.model);
  const name = config.models.includes(model) ? model : basename(model, extname(model));
  const dir = join(out, "correction", name);
  const meta = await readJson<RunMeta>(join(dir, "meta.json"));
  report.push(`# ${step.name}`, "", ...(await correctionSection(out, dir, meta)), "");
}
report.push(
  "# Every model side by side",
  "",
  (await Deno.readTextFile(join(out, "correction", "table.md"))).split("\n").slice(1).join("\n").trim(),
  "",
  `Wall time of this run: ${formatDuration(run.meta().seconds)}; per step: ` +
    Object.entries(state).map(([name, s]) => `${name} ${formatDuration(s.seconds)}`).join(", ") + ".",
);
await writeFileAtomic(join(out, "REPORT.md"), report.join("\n") + "\n");
await run.write(join(out, "reproduce"));
say(`done: ${join(out, "REPORT.md")}`);
