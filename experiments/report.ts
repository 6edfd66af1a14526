/**
 * Shared by `deno task demo` and `deno task reproduce`: running an experiment as a subprocess, and the Markdown
 * sections of their reports, built from the experiments' result files (`units.json`, `interventions.json`,
 * `classifier.json`, `cam_iou.json`, `table.json`, `sweeps.json`, `meta.json`).
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { bestIouByConcept, interpretableCounts } from "../lib/dissect/figures.ts";
import type { UnitsJson } from "../lib/dissect/units_json.ts";
import type { RunMeta } from "../lib/util/meta.ts";
import { formatDuration } from "../lib/util/progress.ts";

/** The project's root (experiments run from there). */
export const ROOT = resolve(import.meta.dirname!, "..");

/** Flags of an experiment, by config key. */
export type Flags = Record<string, number | string | boolean | number[] | string[]>;

export const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** `{samples: 10, sweeps: false, layers: ["a"]}` → `["--samples", "10", "--no-sweeps", "--layers", "a"]`. */
export function toArgs(flags: Flags): string[] {
  return Object.entries(flags).flatMap(([key, value]) => {
    if (typeof value === "boolean") return [value ? `--${kebab(key)}` : `--no-${kebab(key)}`];
    return [`--${kebab(key)}`, Array.isArray(value) ? value.join(",") : String(value)];
  });
}

/**
 * Run `deno run -A <script> <args>` from the project root, its stderr (progress) shown, its stdout kept for the
 * error message; throws when it fails.
 */
export async function runExperiment(script: string, args: string[]): Promise<void> {
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

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(path)) as T;
}

export const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
export const pct = (v: number | null) => (v === null ? "n/a" : `${(100 * v).toFixed(1)}%`);
export const signedPct = (
  v: number | null,
) => (v === null ? "n/a" : `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)}%`);
export const seconds = (s: number) => `${formatDuration(s)} (${s.toFixed(0)} s)`;

/** A Markdown table: a header row and body rows. */
export function mdTable(header: string[], rows: (string | number)[][]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

/** A plain-text table with padded columns, for the terminal. */
export function textTable(header: string[], rows: string[][]): string {
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
export async function figure(outDir: string, dir: string, name: string, caption: string): Promise<string> {
  const base = name.replace(/\.png$/, "");
  const link = (file: string) => relative(outDir, join(dir, file)).split("\\").join("/");
  if (await exists(join(dir, `${base}.png`))) return `![${caption}](${link(`${base}.png`)})\n\n*${caption}*`;
  if (await exists(join(dir, `${base}.html`))) {
    return `[${caption} (interactive HTML)](${link(`${base}.html`)})`;
  }
  return `*${caption}: not written*`;
}

/** The few slowest steps of an experiment's meta.json timings, as one line. */
export function slowest(meta: RunMeta, count = 5): string {
  return Object.entries(meta.timings).sort((a, b) => b[1] - a[1]).slice(0, count)
    .map(([step, s]) => `${step} ${s.toFixed(0)} s`).join(", ");
}

// ---- The JSON the experiments write (the fields used here) ----

export interface Interventions {
  removal: Record<string, {
    layer: string;
    /** How the units were ranked: causal (optimised α), iou, ace. */
    ranking: string;
    units: number;
    samples: number;
    before: number;
    after: number;
    others_relabelled: number | null;
    by_units: { units: number; fraction: number }[];
    ace: { samples: number; ace: number; std_err: number };
    random_control: { after: number; others_relabelled: number | null };
  }>;
  insertion: Record<string, {
    units: number[];
    box: number;
    min_share: number;
    detail: Record<string, { samples: number; before: number | null; after: number | null }>;
    [place: string]: unknown;
  }>;
  ace_vs_iou: {
    units: number[];
    removed_by_iou_ranking: number[];
    removed_by_ace_ranking: number[];
    removed_by_causal_ranking: number[];
  };
}

export interface ClassifierJson {
  backbone: string;
  heldout: {
    count: number;
    accuracy: number;
    confusion: number[][];
    perClassAccuracy: Record<string, number>;
  };
}

export interface SweepsJson {
  fit: number;
  sweeps: Record<string, { value: number }[]>;
}

const SWEPT: Record<string, string> = { n: "units per layer n", lambda: "λ", stop: "the stopping layer" };

/** Tiny sizes of both experiments (the whole pipeline in about a minute): `--quick` of demo and reproduce. */
export const QUICK_FLAGS: { dissect: Flags; correct: Flags } = {
  dissect: {
    layers: ["layer4"],
    samples: 32,
    heldout: 16,
    meansSamples: 32,
    aceSamples: 2,
    aceCandidates: 4,
    removeUnits: [0, 2, 4],
    curveUnits: [1, 2],
    insertUnits: 4,
    causalSamples: 8,
    causalEpochs: 2,
    show: 4,
    topImages: 3,
  },
  correct: {
    labelSeeds: 160,
    thresholdSeeds: 64,
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
};

// ---- Report sections ----

/** How `interventions.json`'s `removal.ranking` chose the units, as a phrase. */
const RANKED_BY: Record<string, string> = {
  causal: "of the optimised causal set (largest α)",
  iou: "with the best IoU",
  ace: "with the largest single-unit ACE",
};

/**
 * The Markdown of one dissected layer (unit classes, top units) and, with `interventions` (default true), of the
 * removal and insertion experiments of the dissection folder `dir`; figures linked relative to `outDir`.
 */
export async function dissectionSection(
  outDir: string,
  dir: string,
  options: { meta: RunMeta; layer?: string; interventions?: boolean },
): Promise<string[]> {
  const { meta, layer = "layer4" } = options;
  const units = await readJson<UnitsJson>(join(dir, layer, "units.json"));
  const iv = await readJson<Interventions>(join(dir, "interventions.json"));
  const counts = interpretableCounts(units);
  const best = bestIouByConcept(units);
  const interpretable = counts.reduce((a, b) => a + b, 0);
  const [removed, removal] = Object.entries(iv.removal)[0];
  const [inserted, insertion] = Object.entries(iv.insertion)[0];
  const places = Object.keys(insertion.detail);
  const layerPart = [
    `## GAN Dissection of \`${layer}\``,
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
    await figure(outDir, join(dir, layer), "unit_classes", `Interpretable units of ${layer} per concept`),
    "",
    await figure(
      outDir,
      join(dir, layer),
      "top_units.png",
      "Top-activating images of the best units, thresholded unit overlaid",
    ),
    "",
  ];
  if (options.interventions === false) return layerPart;
  return [
    ...layerPart,
    `### Removing ${removed}s`,
    "",
    `Ablating the ${removal.units} units of \`${removal.layer}\` ${
      RANKED_BY[removal.ranking] ?? removal.ranking
    }, ` +
    `on ${removal.samples} held-out samples: the ${removed} share of the pixels goes from ` +
    `**${pct(removal.before)} to ${pct(removal.after)}** ` +
    `(${
      pct(1 - removal.after / removal.before)
    } of the ${removed} pixels removed); ACE (inserted − ablated, ` +
    `${removal.ace.samples} samples) ${removal.ace.ace.toFixed(4)} ± ${removal.ace.std_err.toFixed(4)}; ` +
    `${
      pct(removal.others_relabelled)
    } of the other pixels change class. The control, ${removal.units} random ` +
    `units of the layer ablated: ${removed} ${pct(removal.random_control.after)}, ` +
    `${pct(removal.random_control.others_relabelled)} of the other pixels change class.`,
    "",
    ...mdTable(
      ["units ablated", `${removed} pixels`],
      removal.by_units.map((s) => [s.units, pct(s.fraction)]),
    ),
    "",
    await figure(outDir, dir, `remove_${removed}s.png`, `Removing ${removed}s: more and more units ablated`),
    "",
    ...mdTable(
      [
        "units ablated",
        "removed, ranked by IoU",
        "removed, ranked by single-unit ACE",
        "removed, causal set",
      ],
      iv.ace_vs_iou.units.map((n, i) => [
        n,
        pct(iv.ace_vs_iou.removed_by_iou_ranking[i]),
        pct(iv.ace_vs_iou.removed_by_ace_ranking[i]),
        pct(iv.ace_vs_iou.removed_by_causal_ranking[i]),
      ]),
    ),
    "",
    `(Share of the image that stops being ${removed}; the ${removed} share before is ${
      pct(removal.before)
    }.)`,
    "",
    await figure(outDir, dir, "ace_vs_iou", `${removed} pixels removed vs units ablated, three rankings`),
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

/** The Markdown of one correction folder `dir` (labels, classifier, CAM IoU, the table, figures, sweeps). */
export async function correctionSection(outDir: string, dir: string, meta: RunMeta): Promise<string[]> {
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
    "## Correction of artifact units",
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
