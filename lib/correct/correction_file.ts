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
 * import { randomPggan } from "../models/pggan.ts";
 * import { correctionEdits, parseCorrection } from "./correction_file.ts";
 * const text = '{"kind":"ganatomy.correction","version":1,"method":"sequential","params":{},' +
 *   '"layers":[{"layer":"layer1","units":[2],"scales":[0.5]}]}';
 * const edits = correctionEdits(randomPggan([16, 16, 8]), parseCorrection(text));
 * console.log(edits.layer1.scale); // Float32Array of 16: 0.5 at unit 2, 1 elsewhere
 * ```
 * @module
 */
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

/** Parse and check a correction file's text; errors name `file` and the bad entry. */
export function parseCorrection(text: string, options: { file?: string } = {}): CorrectionFile {
  const file = options.file ?? "correction";
  let json: Partial<CorrectionFile>;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message})`);
  }
  if (json?.kind !== "ganatomy.correction" || json.version !== 1) {
    throw new Error(`${file}: not a ganatomy correction (kind "ganatomy.correction", version 1)`);
  }
  if (!Array.isArray(json.layers)) throw new Error(`${file}: "layers" must be a list`);
  json.layers.forEach((l, i) => {
    const ok = typeof l?.layer === "string" && Array.isArray(l.units) && Array.isArray(l.scales) &&
      l.units.length === l.scales.length && l.units.every((u) => Number.isInteger(u) && u >= 0) &&
      l.scales.every((s) => Number.isFinite(s));
    if (!ok) {
      throw new Error(
        `${file}: layers[${i}] needs "layer", and "units" (integers ≥ 0) and "scales" of equal length`,
      );
    }
  });
  return json as CorrectionFile;
}

/** Read and check a correction file. */
export async function readCorrection(path: string): Promise<CorrectionFile> {
  return parseCorrection(await Deno.readTextFile(path), { file: path });
}

/** Write a correction file atomically. */
export function writeCorrection(path: string, correction: CorrectionFile): Promise<void> {
  return writeJsonAtomic(path, correction);
}

/** The edits of a correction for a generator; throws naming the layer or unit that the generator lacks. */
export function correctionEdits(model: GeneratorDescription, correction: CorrectionFile): Edits {
  const edits: Edits = {};
  for (const { layer, units, scales } of correction.layers) {
    const channels = model.stages[stageIndex(model, layer)].channels;
    edits[layer] = rescale(units, channels, scales);
  }
  return edits;
}
