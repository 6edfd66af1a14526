/**
 * A correction as a file: which units of which layers are rescaled, so that a corrected generator can be sampled
 * later (`deno task generate --correction correction.json`) without recomputing anything.
 *
 *     { "kind": "ganatomy.correction", "version": 1, "method": "sequential", "params": {…},
 *       "layers": [{ "layer": "layer1", "units": [12, 3], "scales": [0, 0.41] }, …] }
 *
 * Nothing in the generator changes: the file becomes per-unit `scale` edits (`lib/engine/edits.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomPggan } from "../models/pggan.ts";
 * import { correctionEdits, parseCorrection } from "./correction_file.ts";
 * const text = '{"kind":"ganatomy.correction","version":1,"method":"sequential","params":{},' +
 *   '"layers":[{"layer":"layer1","units":[2],"scales":[0.5]}]}';
 * const edits = correctionEdits(randomPggan([16, 16, 8]), parseCorrection(text));
 * assert.deepEqual(edits.layer1.scale, Float32Array.from({ length: 16 }, (_, u) => (u === 2 ? 0.5 : 1)));
 * ```
 * @module
 */
import { readTextFileNamed } from "../io/read.ts";
import { writeJsonAtomic } from "../io/atomic.ts";
import { type Edits, rescale } from "../engine/edits.ts";
import { type GeneratorDescription, stageIndex } from "../models/stages.ts";

/** One corrected layer. */
export interface CorrectedLayer {
  layer: string;
  units: number[];
  scales: number[];
}

/** A correction file's content. */
export interface CorrectionFile {
  kind: "ganatomy.correction";
  version: 1;
  /** How it was found, e.g. `"sequential"` or `"ds1 ablation"`. */
  method: string;
  /** The method's parameters (n, lambda, stopping layer, …), for the record. */
  params: Record<string, unknown>;
  layers: CorrectedLayer[];
}

/** A correction of `layers` found by `method` with `params`. */
export function makeCorrection(
  method: string,
  layers: readonly CorrectedLayer[],
  params: Record<string, unknown> = {},
): CorrectionFile {
  return { kind: "ganatomy.correction", version: 1, method, params, layers: layers.map((l) => ({ ...l })) };
}

/**
 * Largest scale magnitude accepted: 1e6. Scales multiply activations held in float32; a unit amplified a
 * million times is already far outside anything a correction does (scales lie in [0, 1] in practice), and
 * larger values head for float32's overflow (1e308 passes `isFinite` but is Infinity in float32).
 */
export const MAX_SCALE = 1e6;

/** The file each parsed correction came from, so that {@link correctionEdits} can name it. */
const sourceFile = new WeakMap<CorrectionFile, string>();

/** `s` with control characters escaped and cut to `max` characters, to quote in a one-line error. */
function printable(s: string, max = 80): string {
  const cut = s.length > max ? s.slice(0, max) + "…" : s;
  return cut.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Parse and check a correction file's text; errors name `file` and the bad entry. Units are integers ≥ 0
 * and scales finite numbers in [−{@link MAX_SCALE}, {@link MAX_SCALE}].
 */
export function parseCorrection(text: string, options: { file?: string } = {}): CorrectionFile {
  const file = options.file ?? "correction";
  let json: Partial<CorrectionFile>;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${printable((e as Error).message)})`);
  }
  if (json?.kind !== "ganatomy.correction" || json.version !== 1) {
    throw new Error(`${file}: not a ganatomy correction (kind "ganatomy.correction", version 1)`);
  }
  if (!Array.isArray(json.layers)) throw new Error(`${file}: "layers" must be a list`);
  json.layers.forEach((l, i) => {
    const ok = typeof l?.layer === "string" && Array.isArray(l.units) && Array.isArray(l.scales) &&
      l.units.length === l.scales.length && l.units.every((u) => Number.isSafeInteger(u) && u >= 0);
    if (!ok) {
      throw new Error(
        `${file}: layers[${i}] needs "layer", and "units" (integers ≥ 0) and "scales" of equal length`,
      );
    }
    const bad = l.scales.findIndex((s) => typeof s !== "number" || !(Math.abs(s) <= MAX_SCALE));
    if (bad >= 0) {
      const value = JSON.stringify(l.scales[bad]) ?? String(l.scales[bad]);
      throw new Error(
        `${file}: layers[${i}].scales[${bad}] is ${printable(value)}; scales must be finite numbers in ` +
          `[-${MAX_SCALE}, ${MAX_SCALE}]`,
      );
    }
  });
  const correction = json as CorrectionFile;
  sourceFile.set(correction, file);
  return correction;
}

/** Read and check a correction file. */
export async function readCorrection(path: string): Promise<CorrectionFile> {
  return parseCorrection(await readTextFileNamed(path), { file: path });
}

/** Write a correction file atomically. */
export function writeCorrection(path: string, correction: CorrectionFile): Promise<void> {
  return writeJsonAtomic(path, correction);
}

/**
 * The edits of a correction for a generator; throws naming the correction file (`options.file`, default the
 * file {@link parseCorrection} read it from) and the layer or unit that the generator lacks.
 */
export function correctionEdits(
  model: GeneratorDescription,
  correction: CorrectionFile,
  options: { file?: string } = {},
): Edits {
  const file = options.file ?? sourceFile.get(correction) ?? "correction";
  const edits: Edits = {};
  correction.layers.forEach(({ layer, units, scales }, i) => {
    try {
      const channels = model.stages[stageIndex(model, layer)].channels;
      edits[layer] = rescale(units, channels, scales);
    } catch (e) {
      const why = printable((e as Error).message, 400);
      throw new Error(`${file}: layers[${i}] ("${printable(layer)}"): ${why}`);
    }
  });
  return edits;
}
