/**
 * Flags that many commands share, declared once so that their meaning, choices and defaults read the same in
 * every `--help`.
 *
 * @example
 * ```ts
 * import { strict as assert } from "node:assert";
 * import { parseConfig } from "./config.ts";
 * import { BACKEND, ENGINE } from "./flags.ts";
 * const cfg = parseConfig({ backend: BACKEND, engine: ENGINE }, ["--engine", "tfjs"], { command: "x", summary: "x" });
 * assert.deepEqual([cfg.backend, cfg.engine], ["", "tfjs"]);
 * ```
 * @module
 */
import type { Flag } from "./config.ts";
import { parseSeeds } from "./seeds.ts";

/** tfjs backend (training, gradients, the tfjs engine); empty: `GANATOMY_BACKEND`, else wasm. */
export const BACKEND: Flag<string> = {
  default: "",
  help: "tfjs backend for training, gradients and the tfjs engine",
  choices: ["wasm", "cpu", "tensorflow"],
  defaultText: "GANATOMY_BACKEND, else wasm",
};

/** The tfjs backend of scripts that pass it on to other steps: wasm unless given. */
export const BACKEND_WASM: Flag<string> = { ...BACKEND, default: "wasm", defaultText: undefined };

/** Folder of a data set's files; empty: Debian's (Fashion-MNIST). */
export const DATA_DIR: Flag<string> = {
  default: "",
  help: "folder of the data set's files",
  meta: "<dir>",
  defaultText: "Debian's, for Fashion-MNIST",
};

/** Forward-only engine; empty: ONNX Runtime, tfjs where ORT cannot load. */
export const ENGINE: Flag<string> = {
  default: "",
  help: "engine of forward-only passes (ONNX Runtime, or the tfjs run loop)",
  choices: ["ort", "tfjs"],
  defaultText: "ort, tfjs where ONNX Runtime cannot load",
};

/** ONNX Runtime's device. */
export const DEVICE: Flag<string> = {
  default: "cpu",
  help: "ONNX Runtime device (cuda needs ONNX Runtime's CUDA provider)",
  choices: ["cpu", "cuda"],
};

/** A whole-number flag of at least `min` (default 1), at most `max` when given. */
export function intFlag(n: number, help: string, min = 1, max?: number): Flag<number> {
  return { default: n, help, integer: true, min, ...(max === undefined ? {} : { max }) };
}

/** A string flag that takes one of `choices`; `value` is the default. */
export function choiceFlag(value: string, help: string, choices: string[]): Flag<string> {
  return { default: value, help, choices };
}

/** A number flag in `[min, max]`. */
export function numFlag(value: number, help: string, min: number, max?: number): Flag<number> {
  return { default: value, help, min, ...(max === undefined ? {} : { max }) };
}

/** A flag naming a file (or folder) that must exist; empty (none) unless `value` is given. */
export function fileFlag(help: string, value = "", meta = "<file>"): Flag<string> {
  return { default: value, help, exists: true, meta };
}

/** Images per forward pass. */
export function batchFlag(n: number): Flag<number> {
  return intFlag(n, "images per forward pass", 1, 4096);
}

/** Render plotly figures to PNG as well as HTML (needs Chromium). */
export const FIGURE_PNG: Flag<boolean> = {
  default: true,
  help: "also render figures to PNG (needs Debian's chromium; skipped with a note when missing)",
};

/** A check for seed-list flags (`0-15`, `3,7,9`). */
export function seedsCheck(text: string): string | undefined {
  try {
    parseSeeds(text);
    return undefined;
  } catch (e) {
    return (e as Error).message.replace(/^seeds: /, "");
  }
}

/** A required generator checkpoint that must exist. */
export const CHECKPOINT: Flag<string> = {
  default: "",
  help: "generator checkpoint (.pth or .safetensors)",
  required: true,
  exists: true,
  meta: "<file>",
};

/** The flags every resumable trainer shares (run folder, time limits, checkpoints, where models go). */
export const TRAINING = {
  maxMinutes: {
    default: 0,
    help: "stop after this many minutes (0: no limit; the run resumes later)",
    min: 0,
  },
  checkpointMinutes: { default: 5, help: "minutes between checkpoints (and exports)", min: 0.1 },
  resume: { default: true, help: "resume from the run folder's checkpoint when there is one" },
  backend: BACKEND_WASM,
  runs: {
    default: "data/train",
    help: "folder of the training runs (checkpoints, metrics, samples)",
    meta: "<dir>",
  },
  models: { default: "data/models", help: "folder of the shipped models and their cards", meta: "<dir>" },
};
