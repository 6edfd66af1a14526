/**
 * The paper's table: one row per method (None, Random, FID-based, DS (1), DS (2), Seq. Corr.), the metrics of
 * the corrected held-out artifact generations; `table.json` per model, and Markdown for one model or for every
 * model side by side (one column per model).
 *
 * The metric is called `fid` in the JSON (the issue's schema) whatever the features are; `metric` names it
 * honestly (`FD (scenes-net)`, or `FID` with Inception).
 *
 * @example
 * ```ts
 * import { combinedTableMarkdown } from "./table.ts";
 * const row = { label: "None", fid: 12.5, realism: 1.1, realism_median: 1, precision: 0.8, recall: 0.7 };
 * console.log(combinedTableMarkdown([{
 *   model: "scenes", checkpoint: "g.safetensors", features: "scenes-net", metric: "FD (scenes-net)", evalSeeds: 10,
 *   rows: { none: row },
 * }]));
 * ```
 * @module
 */
import { join } from "node:path";
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
