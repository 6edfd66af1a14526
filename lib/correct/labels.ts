/**
 * Label files: which generator samples (named by latent seed) show an artifact.
 *
 * A label file is CSV with the header `seed,label` or `seed,label,source`, one row per seed:
 *
 * ```text
 * seed,label,source
 * 0,normal,manual
 * 1,artifact,manual
 * 7,skip,manual
 * 12,artifact,auto:fid
 * ```
 *
 * - `seed`: a non-negative integer, at most once per file;
 * - `label`: one of {@link LABELS} (`skip` means "looked at, could not decide");
 * - `source` (optional column): who gave the label, a word without spaces, commas or quotes such as `manual`
 *   or `auto:<criterion>`; {@link DEFAULT_SOURCE} when the column is absent.
 *
 * Blank lines, spaces around fields, a trailing newline, CRLF line ends and a UTF-8 byte-order mark are
 * accepted; fields are never quoted. Rows keep their order: {@link formatLabels} writes them in the order of
 * the set, which for the labelling page is the order of the answers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countLabels, parseLabels, seedsWith } from "./labels.ts";
 * const set = parseLabels("seed,label\n0,normal\n1,artifact\n2,skip\n", { file: "labels.csv" });
 * assert.deepEqual(seedsWith(set, "artifact"), [1]);
 * assert.deepEqual(countLabels(set), { normal: 1, artifact: 1, skip: 1 });
 * ```
 * @module
 */
import { readTextFileNamed } from "../io/read.ts";
import { writeFileAtomic } from "../io/atomic.ts";

/** The labels a sample can get. */
export const LABELS = ["normal", "artifact", "skip"] as const;

/** One of {@link LABELS}. */
export type Label = typeof LABELS[number];

/** The source of rows from a file without a `source` column, and of the labelling page's answers. */
export const DEFAULT_SOURCE = "manual";

/** The label of one seed and who gave it. */
export interface LabelEntry {
  label: Label;
  /** e.g. `manual` or `auto:<criterion>`. */
  source: string;
}

/** Labels by seed, in row (answer) order. */
export type LabelSet = Map<number, LabelEntry>;

/** Options of {@link parseLabels}. */
export interface ParseLabelsOptions {
  /** Name used in error messages; default `"labels"`. */
  file?: string;
}

const SOURCE_PATTERN = /^[^\s",]+$/;

/** `s` with control characters escaped and cut to 80 characters, to quote in a one-line error. */
function printable(s: string): string {
  const cut = s.length > 80 ? s.slice(0, 80) + "…" : s;
  return cut.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Whether `value` is one of {@link LABELS}. */
export function isLabel(value: unknown): value is Label {
  return (LABELS as readonly unknown[]).includes(value);
}

/** Why `source` is not a valid source, or undefined when it is. */
function sourceProblem(source: string): string | undefined {
  return SOURCE_PATTERN.test(source)
    ? undefined
    : `source "${printable(source)}" must be one word without spaces, commas or quotes`;
}

/** Why `text` is not a valid seed, or undefined when it is. */
function seedProblem(text: string): string | undefined {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    return `seed "${printable(text)}" is not a non-negative integer`;
  }
  return undefined;
}

/**
 * Parse label-file text (see the module documentation). Throws at the first problem with
 * `<file>:<line>: <what is wrong>`, e.g. `labels.csv:7: label "artfact" is not one of normal, artifact, skip`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLabels } from "./labels.ts";
 * const set = parseLabels("seed,label,source\r\n3,artifact,auto:iqr\r\n", { file: "auto.csv" });
 * assert.deepEqual(set.get(3), { label: "artifact", source: "auto:iqr" });
 * ```
 */
export function parseLabels(text: string, options: ParseLabelsOptions = {}): LabelSet {
  const file = options.file ?? "labels";
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const set: LabelSet = new Map();
  const lineOf = new Map<number, number>();
  let columns = 0; // 0 until the header is read
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    if (lines[i].trim() === "") continue;
    const fields = lines[i].split(",").map((f) => f.trim());
    const fail = (what: string): never => {
      throw new Error(`${file}:${line}: ${what}`);
    };
    if (columns === 0) {
      const header = fields.join(",");
      if (header !== "seed,label" && header !== "seed,label,source") {
        fail(`expected the header "seed,label" or "seed,label,source", got "${printable(lines[i].trim())}"`);
      }
      columns = fields.length;
      continue;
    }
    if (fields.length !== columns) {
      fail(
        `expected ${columns} columns (${
          columns === 2 ? "seed,label" : "seed,label,source"
        }), got ${fields.length}`,
      );
    }
    const [seedText, label, source = DEFAULT_SOURCE] = fields;
    const badSeed = seedProblem(seedText);
    if (badSeed) fail(badSeed);
    if (!isLabel(label)) fail(`label "${printable(label)}" is not one of ${LABELS.join(", ")}`);
    const badSource = sourceProblem(source);
    if (badSource) fail(badSource);
    const seed = Number(seedText);
    const first = lineOf.get(seed);
    if (first !== undefined) fail(`line ${line} repeats seed ${seed} from line ${first}`);
    lineOf.set(seed, line);
    set.set(seed, { label: label as Label, source });
  }
  if (columns === 0) throw new Error(`${file}: empty; expected the header "seed,label" on the first line`);
  return set;
}

/**
 * The text of a label file for `set`: header `seed,label,source`, one row per seed in the set's order, a
 * trailing newline. Throws for an entry that {@link parseLabels} would not read back.
 */
export function formatLabels(set: LabelSet): string {
  const rows = ["seed,label,source"];
  for (const [seed, { label, source }] of set) {
    const problem = seedProblem(String(seed)) ??
      (isLabel(label)
        ? sourceProblem(source)
        : `label "${printable(String(label))}" is not one of ${LABELS.join(", ")}`);
    if (problem) throw new Error(`formatLabels: seed ${seed}: ${problem}`);
    rows.push(`${seed},${label},${source}`);
  }
  return rows.join("\n") + "\n";
}

/**
 * Read and validate a label file; errors name `path` and the line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readLabels, writeLabels } from "./labels.ts";
 * await writeLabels("/tmp/ganatomy_example/labels.csv", new Map([[4, { label: "normal", source: "manual" }]]));
 * const set = await readLabels("/tmp/ganatomy_example/labels.csv");
 * assert.deepEqual(set.get(4), { label: "normal", source: "manual" });
 * ```
 */
export async function readLabels(path: string): Promise<LabelSet> {
  return parseLabels(await readTextFileNamed(path), { file: path });
}

/** Write `set` to `path` (see {@link formatLabels}) atomically: readers see the old or the new file, whole. */
export async function writeLabels(path: string, set: LabelSet): Promise<void> {
  await writeFileAtomic(path, formatLabels(set));
}

/** The seeds labelled `label`, in the set's order. */
export function seedsWith(set: LabelSet, label: Label): number[] {
  return [...set].filter(([, entry]) => entry.label === label).map(([seed]) => seed);
}

/** How many seeds have each label. */
export function countLabels(set: LabelSet): Record<Label, number> {
  const counts: Record<Label, number> = { normal: 0, artifact: 0, skip: 0 };
  for (const { label } of set.values()) counts[label]++;
  return counts;
}

/** Throws when fewer than `min` seeds are labelled artifact or normal (`hint` ends the message). */
export function checkLabelCounts(
  counts: Record<Label, number>,
  options: { min: number; hint?: string },
): void {
  const { min, hint = "" } = options;
  if (counts.artifact < min || counts.normal < min) {
    throw new Error(
      `labels: need at least ${min} artifact and ${min} normal seeds, got ${counts.artifact} and ${counts.normal}` +
        hint,
    );
  }
}
