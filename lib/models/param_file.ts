/**
 * One file format for the project's own networks: their parameters in a safetensors file, with the architecture's
 * name and its config (JSON) in the metadata, so a file says what it holds and rebuilds its model.
 *
 * Reading checks the config before any model code sees it: it must be JSON, an object, and for the known
 * architectures ({@link CONFIG_SCHEMAS}) every field must have the right type and lie within generous bounds
 * (a `blocksPerStage` of 10^9 would otherwise loop for seconds). Errors name the file and the field.
 *
 * @example
 * ```ts ignore
 * await saveParamFile("data/models/net.safetensors", "classifier", model.config, model.params, { dtype: "F16" });
 * const { config, tensors } = await readParamFile("data/models/net.safetensors", "classifier");
 * ```
 * @module
 */
import { readFileNamed } from "../io/read.ts";
import type * as tf from "@tensorflow/tfjs-core";
import type { HostTensor } from "../io/dtype.ts";
import { parseSafetensors, writeSafetensors } from "../io/safetensors.ts";

/** Metadata key naming the architecture (also written by `convertCheckpoint` for generators). */
export const ARCH_KEY = "ganatomy.arch";
/** Metadata key holding the architecture's config as JSON. */
export const CONFIG_KEY = "ganatomy.config";

/** Options of {@link saveParamFile}. */
export interface SaveParamOptions {
  /** Stored dtype of the float parameters; default `"F32"` (`"F16"` halves the file). */
  dtype?: "F32" | "F16";
  /** More metadata (e.g. the model card's name). */
  metadata?: Record<string, string>;
}

/** Save `params` (by name), the architecture name and its config to `path` atomically. */
export async function saveParamFile(
  path: string,
  arch: string,
  config: unknown,
  params: Record<string, tf.Tensor>,
  options: SaveParamOptions = {},
): Promise<void> {
  const tensors: Record<string, HostTensor> = {};
  for (const [name, v] of Object.entries(params)) {
    tensors[name] = { dtype: "F32", shape: v.shape, data: (await v.data()) as Float32Array };
  }
  await writeSafetensors(path, tensors, {
    dtype: options.dtype ?? "F32",
    metadata: { ...options.metadata, [ARCH_KEY]: arch, [CONFIG_KEY]: JSON.stringify(config) },
  });
}

/** What one config field must hold; `optional` fields may be absent. */
export type FieldSpec =
  | { kind: "int"; min: number; max: number; optional?: boolean }
  | { kind: "ints"; minItems: number; maxItems: number; min: number; max: number; optional?: boolean }
  | { kind: "string"; maxLength: number; optional?: boolean }
  | { kind: "strings"; minItems: number; maxItems: number; maxLength: number; optional?: boolean }
  | { kind: "enum"; values: readonly string[]; optional?: boolean };

/** The fields of a config by name; fields not listed are passed through unchecked. */
export type ConfigSchema = Readonly<Record<string, FieldSpec>>;

/** Widths of the stages of a network: 1 to 16 stages of 1 to 4096 channels. */
const WIDTHS: FieldSpec = { kind: "ints", minItems: 1, maxItems: 16, min: 1, max: 4096 };

/**
 * The configs of the architectures this project saves (classifier, segmenter, artifact head), with bounds far
 * beyond any network it trains: a file outside them is corrupt or hostile, not a bigger model.
 */
export const CONFIG_SCHEMAS: Readonly<Record<string, ConfigSchema>> = {
  classifier: {
    resolution: { kind: "int", min: 1, max: 4096 },
    channels: { kind: "int", min: 1, max: 4 },
    widths: WIDTHS,
    blocksPerStage: { kind: "int", min: 1, max: 64, optional: true },
    stemStride: { kind: "int", min: 1, max: 16, optional: true },
    outputs: { kind: "strings", minItems: 1, maxItems: 100_000, maxLength: 1000 },
    kind: { kind: "enum", values: ["multiclass", "multilabel"] },
  },
  segmenter: {
    channels: { kind: "int", min: 1, max: 4 },
    classes: { kind: "int", min: 1, max: 10_000 },
    widths: WIDTHS,
  },
  artifact_head: {
    backbone: { kind: "string", maxLength: 1000 },
    classes: { kind: "strings", minItems: 1, maxItems: 1000, maxLength: 1000, optional: true },
  },
};

/** Options of {@link readParamFile} and {@link parseParamFile}. */
export interface ReadParamOptions {
  /** The config's fields; default {@link CONFIG_SCHEMAS}`[arch]` (none: any JSON object will do). */
  schema?: ConfigSchema;
}

/** A value for an error message: JSON, on one line, cut to 60 characters. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? text.slice(0, 60) + "…" : text;
}

/** `s` with control characters escaped and cut to 120 characters, to quote in a one-line error. */
function printable(s: string): string {
  const cut = s.length > 120 ? s.slice(0, 120) + "…" : s;
  return cut.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Why `value` does not satisfy `spec`, or undefined if it does. */
function fieldProblem(value: unknown, spec: FieldSpec): string | undefined {
  const isInt = (v: unknown, min: number, max: number) =>
    Number.isInteger(v) && min <= (v as number) && (v as number) <= max;
  const list = (v: unknown, min: number, max: number): v is unknown[] =>
    Array.isArray(v) && min <= v.length && v.length <= max;
  switch (spec.kind) {
    case "int":
      return isInt(value, spec.min, spec.max)
        ? undefined
        : `must be an integer in [${spec.min}, ${spec.max}]`;
    case "ints":
      return list(value, spec.minItems, spec.maxItems) && value.every((v) => isInt(v, spec.min, spec.max))
        ? undefined
        : `must be a list of ${spec.minItems} to ${spec.maxItems} integers in [${spec.min}, ${spec.max}]`;
    case "string":
      return typeof value === "string" && value.length <= spec.maxLength
        ? undefined
        : `must be a string of at most ${spec.maxLength} characters`;
    case "strings":
      return list(value, spec.minItems, spec.maxItems) &&
          value.every((v) => typeof v === "string" && v.length <= spec.maxLength)
        ? undefined
        : `must be a list of ${spec.minItems} to ${spec.maxItems} strings of at most ${spec.maxLength} ` +
          `characters`;
    case "enum":
      return spec.values.includes(value as string)
        ? undefined
        : `must be one of ${spec.values.map((v) => JSON.stringify(v)).join(", ")}`;
  }
}

/**
 * Check the config text of a file (`path`, for messages) holding an `arch`: JSON, an object, and the
 * fields of `schema`. Returns the parsed config; throws `<path>: <what is wrong>` naming the field.
 */
function parseConfig(text: string | undefined, path: string, arch: string, schema?: ConfigSchema): unknown {
  if (text === undefined || text.trim() === "") {
    throw new Error(`${path}: metadata ${CONFIG_KEY} (the ${arch}'s config) is missing or empty`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: metadata ${CONFIG_KEY} is not valid JSON: ${printable((e as Error).message)}`);
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new Error(`${path}: metadata ${CONFIG_KEY} must be a JSON object, got ${shown(config)}`);
  }
  for (const [field, spec] of Object.entries(schema ?? {})) {
    const value = Object.hasOwn(config, field) ? (config as Record<string, unknown>)[field] : undefined;
    if (value === undefined) {
      if (spec.optional) continue;
      throw new Error(`${path}: ${CONFIG_KEY} of the ${arch} lacks the field "${field}"`);
    }
    const problem = fieldProblem(value, spec);
    if (problem) throw new Error(`${path}: ${CONFIG_KEY} field "${field}" ${problem}, got ${shown(value)}`);
  }
  return config;
}

/**
 * {@link readParamFile} on bytes in memory; `name` is used in error messages (default `"<bytes>"`).
 */
export function parseParamFile<C>(
  bytes: Uint8Array,
  arch: string,
  options: ReadParamOptions & { name?: string } = {},
): { config: C; tensors: Map<string, HostTensor> } {
  const path = options.name ?? "<bytes>";
  const file = parseSafetensors(bytes, { name: path });
  if (file.metadata[ARCH_KEY] !== arch) {
    throw new Error(`${path}: not a ${arch} (metadata ${ARCH_KEY} is ${shown(file.metadata[ARCH_KEY])})`);
  }
  const config = parseConfig(file.metadata[CONFIG_KEY], path, arch, options.schema ?? CONFIG_SCHEMAS[arch]);
  return { config: config as C, tensors: file.tensors };
}

/**
 * Read a file written by {@link saveParamFile} for `arch`; throws naming the file when it holds something
 * else or when its config is not JSON, lacks a field, or has a field of the wrong type or out of bounds (see
 * {@link CONFIG_SCHEMAS}).
 */
export async function readParamFile<C>(
  path: string,
  arch: string,
  options: ReadParamOptions = {},
): Promise<{ config: C; tensors: Map<string, HostTensor> }> {
  return parseParamFile<C>(await readFileNamed(path), arch, { ...options, name: path });
}
