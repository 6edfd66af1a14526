/**
 * `deno task demo`: the main job on the shipped scenes model — GAN Dissection of `layer4` with its tree-removal
 * and door-insertion interventions, then the automatic correction of the units that cause artifacts — gathered
 * in one report.
 *
 *     deno task demo [--checkpoint g.safetensors] [--out results/demo] [--quick] [--backend wasm] [--engine ort]
 *
 * It runs the two experiments as subprocesses at the demo's sizes ({@link SIZES}; their progress shows on
 * stderr) and writes under `<out>/`:
 * - `dissection/<model>/`: `experiments/dissect.ts`'s results (`layer4/units.json`, `interventions.json`,
 *   figures);
 * - `correction/scenes/`: `experiments/correct.ts`'s results (labels, classifier, Grad-CAM, defective scores,
 *   the table, figures);
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
import type { UnitsJson } from "../lib/dissect/unit_iou.ts";
import { writeFileAtomic } from "../lib/io/atomic.ts";
import { parseConfig } from "../lib/util/config.ts";
import { gitRevision, type RunMeta, RunRecorder } from "../lib/util/meta.ts";
import { formatDuration } from "../lib/util/progress.ts";
import { bestIouByConcept, interpretableCounts } from "../lib/viz/dissection.ts";

const ROOT = resolve(import.meta.dirname!, "..");
const SHIPPED = "data/models/scenes_pggan64.safetensors";
const LAYER = "layer4";

const config = parseConfig(
  {
    checkpoint: "", // a scenes-sized (64x64) generator checkpoint instead of the shipped one
    out: "results/demo",
    quick: false, // tiny sizes: the whole demo in about a minute (for tests)
    backend: "wasm", // passed to both experiments
    engine: "ort", // passed to both experiments
  },
  Deno.args,
  { description: "deno task demo [flags]: GAN Dissection and correction of the scenes model, one report" },
);

type Flags = Record<string, number | string | boolean | number[] | string[]>;

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
  quick: {
    dissect: {
      layers: [LAYER],
      samples: 32,
      heldout: 16,
      meansSamples: 32,
      aceSamples: 2,
      aceCandidates: 4,
      removeUnits: [0, 2, 4],
      curveUnits: [1, 2],
      insertUnits: 4,
      show: 4,
      topImages: 3,
    },
    correct: {
      labelSeeds: 160,
      realImages: 60,
      fitArtifacts: 16,
      evalArtifacts: 16,
      realReference: 100,
      fidSeeds: 64,
      fidTopK: 16,
      stop: 2,
      sweeps: false,
      show: 4,
      batch: 16,
    },
  },
};

// ---- Helpers ----

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** `{samples: 10, sweeps: false, layers: ["a"]}` → `["--samples", "10", "--no-sweeps", "--layers", "a"]`. */
function toArgs(flags: Flags): string[] {
  return Object.entries(flags).flatMap(([key, value]) => {
    if (typeof value === "boolean") return [value ? `--${kebab(key)}` : `--no-${kebab(key)}`];
    return [`--${kebab(key)}`, Array.isArray(value) ? value.join(",") : String(value)];
  });
}

const say = (line: string) => console.error(`[demo] ${line}`);

/**
 * Run `deno run -A <script> <args>` from the project root, its stderr (progress) shown, its stdout kept for the
 * error message; throws when it fails.
 */
async function runExperiment(script: string, args: string[]): Promise<void> {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    const out = new TextDecoder().decode(stdout).trim();
    throw new Error(
      `${script} exited with code ${code} (its errors are above)${out ? `; stdout:\n${out}` : ""}`,
    );
  }
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(path)) as T;
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
const pct = (v: number | null) => (v === null ? "n/a" : `${(100 * v).toFixed(1)}%`);
const signedPct = (v: number | null) => (v === null ? "n/a" : `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)}%`);
const seconds = (s: number) => `${formatDuration(s)} (${s.toFixed(0)} s)`;

/** A Markdown table: a header row and body rows. */
function mdTable(header: string[], rows: (string | number)[][]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

/** A plain-text table with padded columns, for the terminal. */
function textTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c ? cell.padStart(widths[c]) : cell.padEnd(widths[c])));
  const rule = widths.map((w) => "-".repeat(w));
  return [line(header), rule, ...rows.map(line)].map((r) => r.join("  ")).join("\n");
}

/**
 * Markdown for the figure `<dir>/<name>`: an image link to `<name>.png` when it exists, else a link to
 * `<name>.html` (plotly figures without Chromium), else a note. `name` may already end in `.png`.
 */
async function figure(outDir: string, dir: string, name: string, caption: string): Promise<string> {
  const base = name.replace(/\.png$/, "");
  const link = (file: string) => relative(outDir, join(dir, file)).split("\\").join("/");
  if (await exists(join(dir, `${base}.png`))) return `![${caption}](${link(`${base}.png`)})\n\n*${caption}*`;
  if (await exists(join(dir, `${base}.html`))) {
    return `[${caption} (interactive HTML)](${link(`${base}.html`)})`;
  }
  return `*${caption}: not written*`;
}

/** The few slowest steps of an experiment's meta.json timings, as one line. */
function slowest(meta: RunMeta, count = 5): string {
  return Object.entries(meta.timings).sort((a, b) => b[1] - a[1]).slice(0, count)
    .map(([step, s]) => `${step} ${s.toFixed(0)} s`).join(", ");
}

// ---- The JSON the experiments write (the fields used here) ----

interface Interventions {
  removal: Record<string, {
    layer: string;
    units: number;
    samples: number;
    before: number;
    after: number;
    others_relabelled: number | null;
    by_units: { units: number; fraction: number }[];
    ace: { samples: number; ace: number; std_err: number };
  }>;
  insertion: Record<string, {
    units: number[];
    box: number;
    min_share: number;
    detail: Record<string, { samples: number; before: number | null; after: number | null }>;
    [place: string]: unknown;
  }>;
  ace_vs_iou: { units: number[]; removed_by_iou_ranking: number[]; removed_by_ace_ranking: number[] };
}

interface ClassifierJson {
  backbone: string;
  heldout: {
    count: number;
    accuracy: number;
    confusion: number[][];
    perClassAccuracy: Record<string, number>;
  };
}

interface SweepsJson {
  fit: number;
  sweeps: Record<string, { value: number }[]>;
}

const SWEPT: Record<string, string> = { n: "units per layer n", lambda: "λ", stop: "the stopping layer" };

interface TableJson {
  metric: string;
  evalSeeds: number;
  rows: Record<string, { label: string; fid: number; realism: number }>;
}

// ---- Report sections ----

async function dissectionSection(outDir: string, dir: string, meta: RunMeta): Promise<string[]> {
  const units = await readJson<UnitsJson>(join(dir, LAYER, "units.json"));
  const iv = await readJson<Interventions>(join(dir, "interventions.json"));
  const counts = interpretableCounts(units);
  const best = bestIouByConcept(units);
  const interpretable = counts.reduce((a, b) => a + b, 0);
  const [removed, removal] = Object.entries(iv.removal)[0];
  const [inserted, insertion] = Object.entries(iv.insertion)[0];
  const places = Object.keys(insertion.detail);
  return [
    "## 1. GAN Dissection of `layer4`",
    "",
    `${units.units.length} units, ${units.samples} generated samples segmented by the scenes segmenter; a unit's ` +
    `activation is thresholded at its ${units.quantile} quantile and compared with each concept's pixels; the ` +
    `unit is interpretable when its best IoU is above ${units.iou_threshold}. ` +
    `**${interpretable} of ${units.units.length} units are interpretable.**`,
    "",
    ...mdTable(
      ["concept", "interpretable units", "best IoU of a unit labelled with it"],
      units.concepts.map((c, k) => [c, counts[k], best[k].toFixed(3)]),
    ),
    "",
    await figure(outDir, join(dir, LAYER), "unit_classes", "Interpretable units of layer4 per concept"),
    "",
    await figure(
      outDir,
      join(dir, LAYER),
      "top_units.png",
      "Top-activating images of the best units, thresholded unit overlaid",
    ),
    "",
    `### Removing ${removed}s`,
    "",
    `Ablating the ${removal.units} units of \`${removal.layer}\` with the best IoU for ${removed}, on ` +
    `${removal.samples} held-out samples: the ${removed} share of the pixels goes from ` +
    `**${pct(removal.before)} to ${pct(removal.after)}**; ACE (inserted − ablated, ${removal.ace.samples} ` +
    `samples) ${removal.ace.ace.toFixed(4)} ± ${removal.ace.std_err.toFixed(4)}; ` +
    `${pct(removal.others_relabelled)} of the other pixels change class.`,
    "",
    ...mdTable(
      ["units ablated", `${removed} pixels`],
      removal.by_units.map((s) => [s.units, pct(s.fraction)]),
    ),
    "",
    await figure(outDir, dir, `remove_${removed}s.png`, `Removing ${removed}s: more and more units ablated`),
    "",
    ...mdTable(
      ["units ablated", "removed, ranked by IoU", "removed, ranked by single-unit ACE"],
      iv.ace_vs_iou.units.map((n, i) => [
        n,
        pct(iv.ace_vs_iou.removed_by_iou_ranking[i]),
        pct(iv.ace_vs_iou.removed_by_ace_ranking[i]),
      ]),
    ),
    "",
    await figure(outDir, dir, "ace_vs_iou", `${removed} pixels removed vs units ablated, two rankings`),
    "",
    `### Inserting ${inserted}s`,
    "",
    `Forcing the ${insertion.units.length} best ${inserted} units (by IoU) on inside a ${insertion.box}-pixel box, ` +
    `where the ${meta.config.insertOn} is densest vs in the sky, over the held-out images whose box is at least ` +
    `${pct(insertion.min_share)} ${meta.config.insertOn} (resp. sky):`,
    "",
    ...mdTable(
      ["place", "images", `${inserted} in the box before`, "after", "added"],
      places.map((p) => {
        const d = insertion.detail[p];
        return [
          p.replace("_", " "),
          d.samples,
          pct(d.before),
          pct(d.after),
          signedPct(insertion[p] as number | null),
        ];
      }),
    ),
    "",
    await figure(
      outDir,
      dir,
      `insert_${inserted}s.png`,
      `Inserting ${inserted}s on a building vs in the sky`,
    ),
    "",
    `Slowest steps: ${slowest(meta)}.`,
  ];
}

async function correctionSection(outDir: string, dir: string, meta: RunMeta): Promise<string[]> {
  const labels = meta.labels as { artifact: number; normal: number; skip: number };
  const classifier = await readJson<ClassifierJson>(join(dir, "classifier.json"));
  const camIou = await exists(join(dir, "cam_iou.json"))
    ? await readJson<Record<string, { iou: number; maskArea: number; truthArea: number }>>(
      join(dir, "cam_iou.json"),
    )
    : {};
  // table.md without its title: the table and its note.
  const table = (await Deno.readTextFile(join(dir, "table.md"))).split("\n").slice(1).join("\n").trim();
  const classes = Object.keys(classifier.heldout.perClassAccuracy);
  const accuracy = pct(classifier.heldout.accuracy);
  // The sweeps of two points or more (a one-point sweep only repeats the table's setting).
  const swept = await readJson<SweepsJson>(join(dir, "sweeps.json")).catch(() => ({ fit: 0, sweeps: {} }));
  const sweeps = await Promise.all(
    Object.entries(swept.sweeps).filter(([, points]) => points.length > 1).map(([name, points]) =>
      figure(
        outDir,
        dir,
        `sweep_${name}`,
        `Sequential correction (fit on ${swept.fit} seeds): FD vs ${SWEPT[name] ?? name} ` +
          `(${points.map((p) => p.value).join(", ")})`,
      )
    ),
  );
  return [
    "## 2. Correction of artifact units",
    "",
    `**Labels** (automatic labeller, defect-fraction criterion): ${labels.artifact} artifact, ${labels.normal} ` +
    `normal, ${labels.skip} skipped.`,
    "",
    await figure(outDir, dir, "labels.png", "Most and least flawed generations by the labeller"),
    "",
    `**Classifier** (artifact / normal / real on the frozen ${classifier.backbone} features): held-out accuracy ` +
    `**${accuracy}** on ${classifier.heldout.count} images. Confusion matrix (rows: true class, columns: ` +
    "predicted):",
    "",
    ...mdTable(
      ["true \\ predicted", ...classes],
      classifier.heldout.confusion.map((row, c) => [classes[c], ...row]),
    ),
    "",
    "**Grad-CAM masks vs the ground-truth defect maps** (mean IoU over the fit seeds):",
    "",
    ...mdTable(
      ["CAM", "IoU", "mask area", "defect area"],
      Object.entries(camIou).map(([m, v]) => [m, v.iou.toFixed(3), pct(v.maskArea), pct(v.truthArea)]),
    ),
    "",
    await figure(
      outDir,
      dir,
      "gradcam.png",
      "Generations, Grad-CAM of the artifact class, masks, defect maps",
    ),
    "",
    await figure(outDir, dir, "ds1_per_layer", "Defective scores (formula 1) per layer, units sorted"),
    "",
    await figure(outDir, dir, "ds2_per_layer", "Defective scores (formula 2) per layer, units sorted"),
    "",
    `**The table** (fit on ${meta.fitArtifacts} training artifact seeds, measured on ${meta.evalArtifacts} ` +
    "held-out ones):",
    "",
    table,
    "",
    await figure(outDir, dir, "corrected.png", "Held-out artifact generations: each row one correction"),
    "",
    await figure(outDir, dir, "failures.png", "Sequential correction's largest changes (failure cases)"),
    "",
    ...sweeps.flatMap((s) => [s, ""]),
    `Slowest steps: ${slowest(meta)}.`,
  ];
}

// ---- Main ----

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
  ...(await dissectionSection(outDir, dissectDir, dissectMeta)),
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
const table = await readJson<TableJson>(join(correctDir, "table.json"));
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
