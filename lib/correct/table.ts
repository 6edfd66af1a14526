/**
 * The paper's table: one row per method (None, Random, FID-based, DS (1), DS (2), Seq. Corr.), the metrics of
 * the corrected held-out artifact generations; `table.json` per model, and Markdown for one model or for every
 * model side by side (one column per model).
 *
 * The metric is called `fid` in the JSON (the issue's schema) whatever the features are; `metric` names it
 * honestly (`FD (scenes-net)`, or `FID` with Inception).
 *
 * {@link tableCorrections} makes the correction of every row: the single-layer rows ablate the top units of one
 * layer by their ranking (random, FID-based, DS (1), DS (2)); the sequential rows rescale the units Algorithm 1
 * chose, under each rescaling rule.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { combinedTableMarkdown } from "./table.ts";
 * const row = { label: "None", fid: 12.5, realism: 1.1, realism_median: 1, precision: 0.8, recall: 0.7 };
 * const md = combinedTableMarkdown([{
 *   model: "scenes", checkpoint: "g.safetensors", features: "scenes-net", metric: "FD (scenes-net)", evalSeeds: 10,
 *   rows: { none: row },
 * }]);
 * assert.ok(md.includes("| method | scenes: FD (scenes-net) ↓ / realism ↑ |"));
 * assert.ok(md.includes("| None | 12.500 / 1.100 |")); // the methods without a row show "—"
 * ```
 * @module
 */
import { join } from "node:path";
import { ablate, type Edits } from "../engine/edits.ts";
import { type GeneratorDescription, stageIndex } from "../models/stages.ts";
import { randomScores } from "./baselines.ts";
import { type CorrectedLayer, correctionEdits, makeCorrection } from "./correction_file.ts";
import { rankUnits, unitCount } from "./defective_score.ts";
import type { GenerationMetrics } from "./evaluate.ts";

/** The rows of the table, in order, and their short labels (the long ones say which layer and how many units). */
export const TABLE_ROWS: Record<string, string> = {
  none: "None",
  random: "Random",
  fid_based: "FID-based",
  ds1: "DS (1)",
  ds2: "DS (2)",
  seq: "Seq. Corr.",
  seq_gentle: "Seq. Corr. (1 − λ·DS)",
};

/** One row of `table.json`: the metrics, and the extras (e.g. `p_artifact`, `defect_fraction`) by name. */
export interface TableRow {
  label: string;
  fid: number;
  realism: number;
  realism_median: number;
  precision: number;
  recall: number;
  [extra: string]: number | string;
}

/** `table.json` of one model. */
export interface CorrectionTable {
  model: string;
  checkpoint: string;
  features: string;
  /** The name of `fid`: `FD (<features>)` or `FID`. */
  metric: string;
  /** Held-out artifact generations measured. */
  evalSeeds: number;
  rows: Record<string, TableRow>;
}

/** `table.json` from each row's label and metrics, on `evalSeeds` held-out artifact seeds of `domain`. */
export function correctionTable(
  domain: { name: string; checkpoint: string; features: { name: string } },
  rows: Record<string, { label: string }>,
  metrics: Record<string, GenerationMetrics>,
  evalSeeds: number,
): CorrectionTable {
  const entries = Object.entries(rows).map(([k, r]) => [k, tableRow(r.label, metrics[k])]);
  const { name: model, checkpoint, features } = domain;
  const metric = `FD (${features.name})`;
  return { model, checkpoint, features: features.name, metric, evalSeeds, rows: Object.fromEntries(entries) };
}

/** The note under a table: the reference, the features and the extra columns. */
export function tableNote(reference: number, features: string, defectMaps: boolean): string {
  return `Real reference: ${reference} held-out real images; features ${features} (not ` +
    "Inception: FD, not FID). p_artifact: the artifact classifier's probability" +
    (defectMaps ? "; defect_fraction: share of pixels the scene grammar cannot explain." : ".");
}

/** A table row from a method's label and metrics. */
export function tableRow(label: string, m: GenerationMetrics): TableRow {
  return {
    label,
    fid: m.fd,
    realism: m.realism,
    realism_median: m.realismMedian,
    precision: m.precision,
    recall: m.recall,
    ...m.extras,
  };
}

/** What the rows of the table correct (see {@link tableCorrections}). */
export interface TableCorrectionOptions {
  /** The layer of the single-layer rows. */
  layer: string;
  /** Units per layer: a fraction (< 1) or a count; the single-layer rows ablate this many of `layer`. */
  n: number;
  /** Seed of the random ranking; default 0. */
  seed?: number;
  /** Unit scores of `layer` (highest ablated first): the FID-based baseline, formulas (1) and (2). */
  scores: { fid_based: ArrayLike<number>; ds1: ArrayLike<number>; ds2: ArrayLike<number> };
  /** Sequential correction's layers (`seq`) and those of the other rescaling rule (`seq_gentle`). */
  sequential: { seq: readonly CorrectedLayer[]; seq_gentle: readonly CorrectedLayer[] };
  /** Sequential correction's stopping layer (a count) and scale, for the labels. */
  stop: number;
  lambda: number;
}

/** One row's correction: its long label (which layer, how many units) and its edits. */
export interface TableCorrection {
  label: string;
  edits: Edits;
}

/** The correction of every row of {@link TABLE_ROWS}, in order (`none` edits nothing). */
export function tableCorrections(
  model: GeneratorDescription,
  options: TableCorrectionOptions,
): Record<string, TableCorrection> {
  const { layer, n, scores, sequential, stop, lambda } = options;
  const units = model.stages[stageIndex(model, layer)].channels;
  const top = unitCount(n, units);
  const ablation = (name: string, ranking: ArrayLike<number>): TableCorrection => ({
    label: `${name} (${top} units of ${layer})`,
    edits: { [layer]: ablate(rankUnits(ranking).slice(0, top), units) },
  });
  const params = `(layer1…layer${stop}, n ${n}, λ ${lambda})`;
  const steps = (layers: readonly CorrectedLayer[]) =>
    correctionEdits(model, makeCorrection("sequential", layers));
  return {
    none: { label: "None", edits: {} },
    random: ablation("Random", randomScores(units, { seed: options.seed ?? 0 })),
    fid_based: ablation("FID-based", scores.fid_based),
    ds1: ablation("DS (1)", scores.ds1),
    ds2: ablation("DS (2)", scores.ds2),
    seq: { label: `Seq. Corr. ${params}`, edits: steps(sequential.seq) },
    seq_gentle: { label: `Seq. Corr., scale 1 − λ·DS ${params}`, edits: steps(sequential.seq_gentle) },
  };
}

/** The Markdown of one model's table: every metric and extra, one row per method, and `note` under it. */
export function tableMarkdown(table: CorrectionTable, options: { note?: string } = {}): string {
  const first = Object.values(table.rows)[0];
  const known = new Set(["label", "fid", "realism", "realism_median", "precision", "recall"]);
  const extras = first ? Object.keys(first).filter((k) => !known.has(k)) : [];
  const number = (v: number | string) => (typeof v === "number" ? v.toFixed(3) : v);
  return [
    `# Correction of ${table.model} (${table.evalSeeds} held-out artifact generations)`,
    "",
    `| method | ${table.metric} ↓ | realism ↑ | precision ↑ | recall ↑ |${
      extras.map((e) => ` ${e} ↓ |`).join("")
    }`,
    `|---|---|---|---|---|${extras.map(() => "---|").join("")}`,
    ...Object.values(table.rows).map((r) =>
      `| ${r.label} | ${number(r.fid)} | ${number(r.realism)} | ${number(r.precision)} | ${
        number(r.recall)
      } |` +
      extras.map((e) => ` ${number(r[e])} |`).join("")
    ),
    ...(options.note ? ["", options.note] : []),
  ].join("\n");
}

/** Every model side by side: one column per model (its metric and the realism), one row per method. */
export function combinedTableMarkdown(tables: readonly CorrectionTable[]): string {
  const sorted = [...tables].sort((a, b) => a.model.localeCompare(b.model));
  return [
    "# Correction of artifact generations: every model",
    "",
    `| method | ${sorted.map((t) => `${t.model}: ${t.metric} ↓ / realism ↑`).join(" | ")} |`,
    `|---|${sorted.map(() => "---").join("|")}|`,
    ...Object.entries(TABLE_ROWS).map(([name, label]) =>
      `| ${label} | ${
        sorted.map((t) => {
          const r = t.rows[name];
          return r ? `${r.fid.toFixed(3)} / ${r.realism.toFixed(3)}` : "—";
        }).join(" | ")
      } |`
    ),
  ].join("\n");
}

/** The `table.json` of every model folder under `dir` (folders without one are skipped). */
export async function readCorrectionTables(dir: string): Promise<CorrectionTable[]> {
  const tables: CorrectionTable[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isDirectory) continue;
    try {
      tables.push(JSON.parse(await Deno.readTextFile(join(dir, entry.name, "table.json"))));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new Error(`${join(dir, entry.name, "table.json")}: ${e}`);
      }
    }
  }
  return tables;
}
