/**
 * What the metric commands accept as an image set, and how each becomes features or statistics:
 * - a folder of PNGs (features computed by a {@link FeatureExtractor}, loaded only when needed);
 * - a feature file: safetensors (tensor `features` `[N, D]`, see `features.ts`), a `.npy` array `[N, D]`
 *   (float16/32/64), or a `.npz` holding `feats` (clean-fid's KID statistics) or `features` `[N, D]`;
 * - a statistics file (FID only): safetensors `mu` / `sigma` (written by `RunningMoments.save`, or by anyone,
 *   without the sample count), or a `.npz` with `mu` `[D]` and `sigma` `[D, D]`: pytorch-fid's `--save-stats`
 *   and clean-fid's `make_custom_stats` both write these two keys (`np.savez_compressed(…, mu=, sigma=)`;
 *   older pytorch-fid `np.savez`). Such files carry no sample count: `n_a` / `n_b` are then `null`.
 *
 * Feature spaces. Every input is in a named feature space (a folder: the extractor's name; a file: its
 * `ganatomy.features` metadata) or is unnamed (`.npy`, `.npz`, safetensors without the metadata). Two inputs
 * are compared only in one space ({@link featureSpace}): two named spaces must agree; two unnamed inputs are
 * taken as the same unnamed space ({@link UNNAMED_FEATURES}) with a one-line warning; `featuresName` names the
 * space of unnamed inputs (and must agree with the named ones). A named input against an unnamed one is an
 * error unless `featuresName` says what the unnamed one holds. pytorch-fid's statistics are not assumed to
 * be pytorch-fid's Inception space: pass `featuresName: "inception-v3-fid"` (`FID_INCEPTION`) to call
 * their distance "FID".
 *
 * Images. A network with an `inputShape` (the domain networks, through {@link loadDomainExtractor}) is
 * checked against the folder's image size before anything runs; `resize: true` resizes the images to it
 * bilinearly (`align_corners=False`, as the Inception / VGG extractors resize; no antialiasing). Grey images
 * are repeated to RGB for an RGB network, as pytorch-fid's `convert("RGB")`. Every error is one line naming
 * the folder or file and what is wrong.
 *
 * {@link fidOfInputs} and {@link prdcOfInputs} are the whole `fid` / `prdc` commands short of parsing their
 * arguments: they check both inputs up front (kinds, sample counts, feature spaces, dimensions) before any
 * network runs, and return the JSON the commands print.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fidOfInputs } from "./inputs.ts";
 * // pytorch-fid's --save-stats file against a .npy feature array, both unnamed: name their space.
 * const { report } = await fidOfInputs("tests/fixtures/npy/stats.npz", "tests/fixtures/npy/features_b.npy", {
 *   featuresName: "toy",
 * });
 * const { fd, ...rest } = report;
 * // n_a: null, a statistics file has no sample count
 * assert.deepEqual(rest, { metric: "FD (toy)", n_a: null, n_b: 30, features: "toy" });
 * assert.ok(Math.abs(fd! - 4.6045) < 1e-4); // "fd", or "fid" with Inception features
 * // A folder of PNGs with a domain network, resized to its input size:
 * //   fidOfInputs("out/images", "real.npz", { extractor: () => loadDomainExtractor(net), resize: true })
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { basename, extname } from "node:path";
import type { HostTensor } from "../io/dtype.ts";
import { readNpy } from "../io/npy.ts";
import { openNpzFile } from "../io/npz.ts";
import { listPngs } from "../io/png.ts";
import { readSafetensors, writeSafetensors } from "../io/safetensors.ts";
import type { ClassifierConfig } from "../models/classifier.ts";
import type { FeatureExtractor } from "../models/features.ts";
import { readParamFile } from "../models/param_file.ts";
import { RunningMoments } from "../stats/moments.ts";
import { resizeBilinear } from "../tensor/upsample.ts";
import { progress } from "../util/progress.ts";
import { loadDomainNet } from "./domain_net.ts";
import {
  extractFeatures,
  type ExtractOptions,
  type FeatureFile,
  FEATURES_KEY,
  frechetMetricName,
  frechetValueKey,
  pngBatches,
  UNNAMED_FEATURES,
  writeFeatures,
} from "./features.ts";
import {
  frechetDistance,
  type FrechetOptions,
  type FrechetResult,
  gaussianOf,
  type GaussianStats,
} from "./fid.ts";
import {
  checkNeighbourCount,
  percentile,
  precisionRecall,
  type PrecisionRecallOptions,
  type PrecisionRecallResult,
} from "./prdc.ts";

/** The kinds of input, see the module documentation. */
export type InputKind = "folder" | "features" | "statistics";

/** How an input is stored. */
export type InputFormat = "folder" | "safetensors" | "npy" | "npz";

/** The file endings an input file may have (anything else must be a folder). */
export const INPUT_FILE_EXTENSIONS: readonly string[] = [".safetensors", ".npy", ".npz"];

/** Whether `path` names an input file (by its ending: `.safetensors`, `.npy`, `.npz`), not a folder. */
export function isInputFile(path: string): boolean {
  return INPUT_FILE_EXTENSIONS.includes(extname(path).toLowerCase());
}

/** Metadata key of the sample count in statistics files (as `RunningMoments.save` writes it). */
const COUNT_KEY = "ganatomy.count";

/** An input opened but not yet turned into features: what it is and how many samples it has. */
type OpenedInput =
  | { path: string; kind: "folder"; format: "folder"; files: string[] }
  | {
    path: string;
    kind: "features";
    format: InputFormat;
    data: Float32Array | Float64Array;
    count: number;
    dim: number;
    name?: string;
  }
  | {
    path: string;
    kind: "statistics";
    format: InputFormat;
    stats: GaussianStats;
    moments?: RunningMoments;
    dim: number;
    name?: string;
  };

/** A tensor's type and shape for messages: numpy's dtype string for `.npy` arrays (e.g. `<i4 [3,2]`). */
function describe(t: HostTensor & { descr?: string }): string {
  return `${t.descr ?? t.dtype} [${t.shape}]`;
}

/** A float `[N, D]` array (N ≥ 1) as features, or a one-line error naming `what`. */
function featureRows(
  t: HostTensor,
  what: string,
): { data: Float32Array | Float64Array; count: number; dim: number } {
  if (t.shape.length !== 2 || !(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
    throw new Error(`${what} must be a float feature array [N, D], got ${describe(t)}`);
  }
  const [count, dim] = t.shape;
  if (count < 1 || dim < 1) throw new Error(`${what} holds no features (shape [${t.shape}])`);
  return { data: t.data, count, dim };
}

/** Float `mu` `[D]` and `sigma` `[D, D]` as a Gaussian (float64), or a one-line error naming `path`. */
function gaussianOfArrays(mu: HostTensor, sigma: HostTensor, path: string, count?: number): GaussianStats {
  const d = mu.shape[0];
  if (
    mu.shape.length !== 1 || sigma.shape.length !== 2 || sigma.shape[0] !== d || sigma.shape[1] !== d || d < 1
  ) {
    throw new Error(
      `${path}: expected mu [D] and sigma [D, D], got mu [${mu.shape}] and sigma [${sigma.shape}]`,
    );
  }
  for (const [t, name] of [[mu, "mu"], [sigma, "sigma"]] as const) {
    if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
      throw new Error(`${path}: ${name} must be float, got ${describe(t)}`);
    }
    const bad = (t.data as Float64Array).findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new Error(`${path}: ${name} holds a non-finite value (${t.data[bad]} at index ${bad})`);
    }
  }
  return {
    mean: Float64Array.from(mu.data as Float64Array),
    cov: Float64Array.from(sigma.data as Float64Array),
    count,
  };
}

/** Read what `path` is (a folder is listed, a file read whole) without running any network. */
async function openInput(path: string): Promise<OpenedInput> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    throw new Error(`${path}: no such file or folder`);
  }
  if (info.isDirectory) return { path, kind: "folder", format: "folder", files: await listPngs(path) };
  const ext = extname(path).toLowerCase();
  if (ext === ".npy") {
    const rows = featureRows(await readNpy(path), `${path}: a .npy input`);
    return { path, kind: "features", format: "npy", ...rows };
  }
  if (ext === ".npz") {
    const npz = await openNpzFile(path);
    if (npz.has("mu") && npz.has("sigma")) {
      const stats = gaussianOfArrays(npz.read("mu"), npz.read("sigma"), path);
      return { path, kind: "statistics", format: "npz", stats, dim: stats.mean.length };
    }
    const key = ["feats", "features"].find((k) => npz.has(k));
    if (key) {
      const rows = featureRows(npz.read(key), `${path}: array "${key}"`);
      return { path, kind: "features", format: "npz", ...rows };
    }
    throw new Error(
      `${path}: holds neither "mu"/"sigma" (pytorch-fid / clean-fid statistics) nor "feats"/"features" ` +
        `(a feature array [N, D]) (found: ${npz.names.join(", ") || "none"})`,
    );
  }
  if (ext !== ".safetensors") {
    throw new Error(
      `${path}: expected a folder of PNGs, or a feature / statistics file ending in ${
        INPUT_FILE_EXTENSIONS.join(", ")
      }`,
    );
  }
  const file = await readSafetensors(path);
  const name = file.metadata[FEATURES_KEY];
  const features = file.tensors.get("features");
  if (features) {
    const rows = featureRows(features, `${path}: tensor "features"`);
    return { path, kind: "features", format: "safetensors", ...rows, name };
  }
  const mu = file.tensors.get("mu"), sigma = file.tensors.get("sigma");
  if (mu && sigma) {
    if (file.metadata[COUNT_KEY] !== undefined) {
      const { moments } = await RunningMoments.loadWithMetadata(path);
      return {
        path,
        kind: "statistics",
        format: "safetensors",
        stats: gaussianOf(moments),
        moments,
        dim: moments.dim,
        name,
      };
    }
    const stats = gaussianOfArrays(mu, sigma, path);
    return { path, kind: "statistics", format: "safetensors", stats, dim: stats.mean.length, name };
  }
  throw new Error(
    `${path}: holds neither "features" nor "mu"/"sigma" (found: ${
      [...file.tensors.keys()].join(", ") || "none"
    })`,
  );
}

/** Which kind of input `path` is: a folder, or a file holding features or statistics (see the module doc). */
export async function inputKind(path: string): Promise<InputKind> {
  return (await openInput(path)).kind;
}

/** Options of {@link momentsOfInput}, {@link featuresOfInput} and the functions built on them. */
export interface InputOptions {
  /** Supplies the feature extractor for folders (called at most once per call); without it folders fail. */
  extractor?: () => Promise<FeatureExtractor>;
  /** Why folders need an extractor, for the error without one, e.g. "pass --inception <pth>". */
  extractorHint?: string;
  /** Images per forward pass; default 16. */
  batch?: number;
  /** Show a progress bar while extracting; default true. */
  showProgress?: boolean;
  /**
   * Resize the images of folders bilinearly to the extractor's `inputShape` when they differ; default false
   * (a size mismatch is an error naming the folder). No effect for extractors that resize themselves.
   */
  resize?: boolean;
  /**
   * The feature-space name of unnamed inputs (`.npy`, `.npz`, safetensors without one); default none (`""`
   * counts as none).
   */
  featuresName?: string;
  /** Where warnings go (one line each); default `console.warn` (stderr). */
  warn?: (message: string) => void;
}

async function folderExtractor(path: string, options: InputOptions): Promise<FeatureExtractor> {
  if (!options.extractor) {
    throw new Error(
      `${path} is a folder of images, so a feature extractor is needed: ${
        options.extractorHint ?? "none given"
      }`,
    );
  }
  return await options.extractor();
}

const channelWord = (c: number) => (c === 1 ? "grey" : c === 3 ? "RGB" : `${c}-channel`);

/**
 * The folder's image batches as `extractor` takes them: checked against its `inputShape`, resized to it if
 * `resize`, grey repeated to RGB for an RGB network. Each batch is disposed once the consumer asks for the
 * next one (`extractFeatures` reads its batches and does not dispose them).
 */
async function* folderBatches(
  path: string,
  files: readonly string[],
  extractor: FeatureExtractor,
  options: InputOptions,
  seen: { shape?: number[] },
): AsyncGenerator<tf.Tensor4D> {
  for await (const batch of pngBatches(files, { batch: options.batch })) {
    let x: tf.Tensor4D = batch;
    try {
      const [, h, w, c] = batch.shape;
      seen.shape ??= [h, w, c];
      const want = extractor.inputShape;
      if (want) {
        const [wh, ww, wc] = want;
        if (c !== wc && !(c === 1 && wc === 3)) {
          throw new Error(
            `${path}: the images are ${channelWord(c)} (${c} channel${
              c === 1 ? "" : "s"
            }), but ${extractor.name} ` +
              `takes ${channelWord(wc)} images (${wc} channel${wc === 1 ? "" : "s"})`,
          );
        }
        if ((h !== wh || w !== ww) && !options.resize) {
          throw new Error(
            `${path}: the images are ${h}×${w}, but ${extractor.name} takes ${wh}×${ww} images: ` +
              `resize them bilinearly with the resize option (--resize), or resize the PNGs`,
          );
        }
        x = tf.tidy(() => {
          let y: tf.Tensor4D = batch;
          if (c === 1 && wc === 3) y = tf.tile(y, [1, 1, 1, 3]);
          if (h !== wh || w !== ww) y = resizeBilinear(y, [wh, ww], { alignCorners: false });
          return y;
        });
      }
      yield x;
    } finally {
      if (x !== batch) x.dispose();
      batch.dispose();
    }
  }
}

/** Run `extractor` over a folder's PNGs (see {@link folderBatches}); errors name the folder. */
async function extractFolder(
  path: string,
  files: string[],
  extractor: FeatureExtractor,
  options: InputOptions,
  extract: Pick<ExtractOptions, "keep" | "onFeatures">,
) {
  const bar = options.showProgress === false
    ? undefined
    : progress(files.length, { label: `${extractor.name}: ${path}`, unit: "img" });
  const seen: { shape?: number[] } = {};
  try {
    const out = await extractFeatures(extractor, folderBatches(path, files, extractor, options, seen), {
      batch: options.batch,
      ...extract,
      onProgress: (n) => bar?.tick(n),
    });
    bar?.done();
    return out;
  } catch (e) {
    const message = (e as Error).message;
    if (message.startsWith(path) || files.some((f) => message.startsWith(f))) throw e;
    const size = seen.shape
      ? ` (${seen.shape[0]}×${seen.shape[1]} ${channelWord(seen.shape[2])} images)`
      : "";
    const hint = options.resize && !extractor.inputShape
      ? `; resize needs the extractor's inputShape (load domain networks with loadDomainExtractor)`
      : "";
    throw new Error(`${path}${size}: ${extractor.name} fails on them: ${message}${hint}`);
  }
}

/** An input's mean and covariance with the name of its feature space. */
export interface InputStatistics {
  path: string;
  kind: InputKind;
  format: InputFormat;
  /** Mean `[D]`, unbiased covariance `[D, D]`, and the sample count where it is known. */
  stats: GaussianStats;
  /** The accumulated statistic, where the count is known (not for pytorch-fid / clean-fid `.npz` files). */
  moments?: RunningMoments;
  /** The feature space: the extractor's or the file's name, or {@link UNNAMED_FEATURES}. */
  features: string;
  /** Whether the input names its space. */
  named: boolean;
}

/** A statistic with the name of its feature space. */
export interface NamedMoments {
  moments: RunningMoments;
  /** The feature extractor's name, or {@link UNNAMED_FEATURES}. */
  features: string;
  /** Whether the input names its feature space. */
  named: boolean;
}

async function statisticsOfOpened(
  input: OpenedInput,
  options: InputOptions,
  extractor?: FeatureExtractor,
): Promise<InputStatistics> {
  const { path } = input;
  const base = { path, kind: input.kind, format: input.format };
  if (input.kind === "statistics") {
    return { ...base, stats: input.stats, moments: input.moments, ...space(input.name) };
  }
  const minimum = (count: number, what: string) => {
    if (count < 2) throw new Error(`${path}: ${count} ${what}; a covariance needs at least 2`);
  };
  if (input.kind === "features") {
    minimum(input.count, input.count === 1 ? "feature row" : "feature rows");
    const moments = new RunningMoments(input.dim);
    try {
      moments.add(input.data);
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`);
    }
    return { ...base, stats: gaussianOf(moments), moments, ...space(input.name) };
  }
  minimum(input.files.length, input.files.length === 1 ? "PNG image" : "PNG images");
  extractor ??= await folderExtractor(path, options);
  const moments = new RunningMoments(extractor.dim);
  await extractFolder(path, input.files, extractor, options, {
    keep: false,
    onFeatures: (rows) => moments.add(rows),
  });
  return { ...base, stats: gaussianOf(moments), moments, features: extractor.name, named: true };
}

function space(name: string | undefined): { features: string; named: boolean } {
  return { features: name ?? UNNAMED_FEATURES, named: name !== undefined };
}

/**
 * Mean and covariance of an input: extracted and accumulated batch by batch for a folder (features are not
 * kept), accumulated from a feature file, or read from a statistics file (`.npz` ones without a count).
 */
export async function statisticsOfInput(path: string, options: InputOptions = {}): Promise<InputStatistics> {
  return await statisticsOfOpened(await openInput(path), options);
}

/**
 * {@link statisticsOfInput} as a {@link RunningMoments}; throws for statistics files without a sample count
 * (pytorch-fid / clean-fid `.npz`, whose statistic cannot be rebuilt).
 */
export async function momentsOfInput(path: string, options: InputOptions = {}): Promise<NamedMoments> {
  const s = await statisticsOfInput(path, options);
  if (!s.moments) {
    throw new Error(
      `${path}: statistics without a sample count (mu, sigma only) cannot be a RunningMoments; ` +
        `use statisticsOfInput`,
    );
  }
  return { moments: s.moments, features: s.features, named: s.named };
}

/** An input's features: {@link FeatureFile} with where they come from, and the image file names of a folder. */
export interface InputFeatures extends FeatureFile {
  path: string;
  kind: InputKind;
  format: InputFormat;
  /** The PNG files of a folder, in order (the rows' order). */
  files?: string[];
}

async function featuresOfOpened(
  input: OpenedInput,
  options: InputOptions,
  extractor?: FeatureExtractor,
): Promise<InputFeatures> {
  const { path } = input;
  const base = { path, kind: input.kind, format: input.format };
  if (input.kind === "statistics") {
    throw new Error(`${path} holds statistics (mu, sigma), but per-sample features are needed`);
  }
  if (input.kind === "features") {
    const data = input.data instanceof Float32Array ? input.data : Float32Array.from(input.data);
    const { features: name, named } = space(input.name);
    return { ...base, data, count: input.count, dim: input.dim, name, named };
  }
  extractor ??= await folderExtractor(path, options);
  const out = await extractFolder(path, input.files, extractor, options, {});
  return { ...base, ...out, name: extractor.name, named: true, files: input.files };
}

/** All features of an input (a folder or a feature file), with the image file names for a folder. */
export async function featuresOfInput(path: string, options: InputOptions = {}): Promise<InputFeatures> {
  return await featuresOfOpened(await openInput(path), options);
}

/** An input's feature space, for {@link featureSpace}. */
export interface SpaceOfInput {
  path: string;
  features: string;
  named: boolean;
}

/**
 * The one feature space of `inputs` (see the module documentation): their common name; `featuresName` for
 * unnamed inputs; or {@link UNNAMED_FEATURES} for inputs that are all unnamed, with a one-line warning.
 *
 * @throws Error (one line, naming the inputs) when named spaces differ, when `featuresName` contradicts a
 *   named input, or when named and unnamed inputs meet without `featuresName`.
 */
export function featureSpace(
  inputs: readonly SpaceOfInput[],
  options: Pick<InputOptions, "featuresName" | "warn"> = {},
): { features: string; named: boolean } {
  const named = inputs.filter((i) => i.named);
  const unnamed = inputs.filter((i) => !i.named);
  const given = options.featuresName || undefined; // "" (a flag's default) is not given
  if (given !== undefined) {
    if (given.trim() === "") throw new Error(`featuresName (--features-name) must not be empty`);
    const other = named.find((i) => i.features !== given);
    if (other) {
      throw new Error(
        `${other.path} holds "${other.features}" features, but featuresName (--features-name) says "${given}"`,
      );
    }
    return { features: given, named: true };
  }
  const first = named[0];
  const other = named.find((i) => i.features !== first.features);
  if (other) {
    throw new Error(
      `the inputs are in different feature spaces (${first.path}: "${first.features}", ${other.path}: ` +
        `"${other.features}"); a distance between them means nothing`,
    );
  }
  if (first && unnamed.length) {
    throw new Error(
      `${unnamed[0].path} names no feature space but ${first.path} holds "${first.features}" features; if ` +
        `${
          unnamed[0].path
        } holds "${first.features}" features too, say so with featuresName (--features-name ` +
        `"${first.features}")`,
    );
  }
  if (first) return { features: first.features, named: true };
  (options.warn ?? console.warn)(
    `warning: ${
      inputs.map((i) => i.path).join(" and ")
    } name no feature space; they are taken to be in the ` +
      `same unnamed space (name it with featuresName / --features-name)`,
  );
  return { features: UNNAMED_FEATURES, named: false };
}

/** The feature space of an opened input before any network runs (a folder's is its extractor's). */
function openedSpace(input: OpenedInput, extractor?: FeatureExtractor): SpaceOfInput {
  if (input.kind === "folder") return { path: input.path, features: extractor!.name, named: true };
  return { path: input.path, ...space(input.name) };
}

/** Load the extractor if a folder needs it, and check the feature spaces and dimensions of two inputs. */
async function matchPair(
  inputs: readonly [OpenedInput, OpenedInput],
  options: InputOptions,
): Promise<{ extractor?: FeatureExtractor; space: { features: string; named: boolean } }> {
  const folder = inputs.find((i) => i.kind === "folder");
  const extractor = folder ? await folderExtractor(folder.path, options) : undefined;
  const space = featureSpace(inputs.map((i) => openedSpace(i, extractor)), options);
  const dims = inputs.map((i) => (i.kind === "folder" ? extractor!.dim : i.dim));
  if (dims[0] !== dims[1]) {
    const what = (i: number) => (inputs[i].kind === "folder" ? `${extractor!.name} gives` : "holds");
    throw new Error(
      `${inputs[1].path} ${what(1)} ${dims[1]}-d features, but ${inputs[0].path} ${what(0)} ${
        dims[0]
      }-d ones`,
    );
  }
  return { extractor, space };
}

/** Write an input's statistics to `path` (safetensors `mu`, `sigma`; the count and space name where known). */
export async function saveStatistics(
  path: string,
  s: InputStatistics,
  space: { features: string; named: boolean } = s,
): Promise<void> {
  const metadata: Record<string, string> = space.named ? { [FEATURES_KEY]: space.features } : {};
  if (s.moments) return await s.moments.save(path, { metadata });
  const d = s.stats.mean.length;
  await writeSafetensors(path, {
    mu: { dtype: "F64", shape: [d], data: Float64Array.from(s.stats.mean) },
    sigma: { dtype: "F64", shape: [d, d], data: Float64Array.from(s.stats.cov) },
  }, { metadata });
}

/**
 * The JSON result of a Fréchet distance: `{ metric, fid | fd, n_a, n_b, features }`. The value's key is `fid`
 * only for pytorch-fid's Inception features ({@link frechetValueKey}); `n_a` / `n_b` are `null` when a
 * statistics file carries no sample count.
 */
export type FrechetReport =
  & { metric: string; n_a: number | null; n_b: number | null; features: string }
  & ({ fid: number; fd?: never } | { fd: number; fid?: never });

/** Build a {@link FrechetReport}. */
export function frechetReport(value: number, features: string, nA?: number, nB?: number): FrechetReport {
  const metric = frechetMetricName(features);
  const rest = { n_a: nA ?? null, n_b: nB ?? null, features };
  return frechetValueKey(features) === "fid"
    ? { metric, fid: value, ...rest }
    : { metric, fd: value, ...rest };
}

/** Options of {@link fidOfInputs}. */
export interface FidOfInputsOptions extends InputOptions {
  /** Write the statistics of the first / second input here (safetensors); default none. */
  saveA?: string;
  saveB?: string;
  /** Options of the distance (`eps`; `warn` defaults to {@link InputOptions.warn}). */
  frechet?: FrechetOptions;
}

/** The result of {@link fidOfInputs}. */
export interface FidOfInputs {
  /** What the `fid` command prints. */
  report: FrechetReport;
  result: FrechetResult;
  a: InputStatistics;
  b: InputStatistics;
  /** The common feature space. */
  features: string;
}

/**
 * The `fid` command short of its argument parsing: the Fréchet distance between inputs `a` and `b` (folders,
 * feature or statistics files), after checking both up front — sample counts (at least 2), one feature
 * space ({@link featureSpace}), equal dimensions — before any network runs.
 */
export async function fidOfInputs(
  a: string,
  b: string,
  options: FidOfInputsOptions = {},
): Promise<FidOfInputs> {
  const inputs: [OpenedInput, OpenedInput] = [await openInput(a), await openInput(b)];
  for (const input of inputs) {
    const n = input.kind === "folder" ? input.files.length : input.kind === "features" ? input.count : 2;
    if (n < 2) {
      throw new Error(
        `${input.path}: ${n} ${
          input.kind === "folder" ? "PNG image" : "feature row"
        }; a covariance needs at least 2`,
      );
    }
  }
  const { extractor, space } = await matchPair(inputs, options);
  const sa = await statisticsOfOpened(inputs[0], options, extractor);
  const sb = await statisticsOfOpened(inputs[1], options, extractor);
  for (const [file, s] of [[options.saveA, sa], [options.saveB, sb]] as const) {
    if (file) await saveStatistics(file, s, space);
  }
  const result = frechetDistance(sa.stats, sb.stats, { warn: options.warn, ...options.frechet });
  return {
    report: frechetReport(result.value, space.features, sa.stats.count, sb.stats.count),
    result,
    a: { ...sa, ...space },
    b: { ...sb, ...space },
    features: space.features,
  };
}

/** What the `prdc` command prints. */
export interface PrdcReport {
  precision: number;
  recall: number;
  density: number;
  coverage: number;
  realism: { mean: number; median: number; min: number; max: number };
  n_real: number;
  n_fake: number;
  k: number;
  features: string;
}

/** The per-sample scores the `prdc` command writes with `--out`. */
export interface PrdcScores {
  features: string;
  k: number;
  /** The fake input's path. */
  fake: string;
  /** The fake folder's PNG names (base names), in row order; null for a feature file. */
  files: string[] | null;
  realism: number[];
  in_real_manifold: number[];
}

/** Options of {@link prdcOfInputs}. */
export interface PrdcOfInputsOptions extends InputOptions, PrecisionRecallOptions {
  /** Write the features of the real / fake input here (safetensors); default none. */
  saveReal?: string;
  saveFake?: string;
}

/** The result of {@link prdcOfInputs}. */
export interface PrdcOfInputs {
  report: PrdcReport;
  scores: PrdcScores;
  result: PrecisionRecallResult;
  real: InputFeatures;
  fake: InputFeatures;
  features: string;
}

/**
 * The `prdc` command short of its argument parsing: k-NN precision, recall, density, coverage and realism of
 * `fake` against `real` (folders or feature files), after checking both up front — more than `k` samples in
 * each (k-NN needs them), one feature space, equal dimensions — before any network runs.
 */
export async function prdcOfInputs(
  real: string,
  fake: string,
  options: PrdcOfInputsOptions = {},
): Promise<PrdcOfInputs> {
  const k = options.k ?? 3;
  const opened: [OpenedInput, OpenedInput] = [await openInput(real), await openInput(fake)];
  for (const input of opened) {
    if (input.kind === "statistics") {
      throw new Error(`${input.path} holds statistics (mu, sigma), but per-sample features are needed`);
    }
    const n = input.kind === "folder" ? input.files.length : input.count;
    const what = input.kind === "folder" ? `${input.path} (a folder of PNGs)` : input.path;
    checkNeighbourCount(n, k, what);
  }
  const { extractor, space } = await matchPair(opened, options);
  const r = await featuresOfOpened(opened[0], options, extractor);
  const f = await featuresOfOpened(opened[1], options, extractor);
  const name = space.named ? space.features : undefined;
  for (const [file, x] of [[options.saveReal, r], [options.saveFake, f]] as const) {
    if (file) await writeFeatures(file, x.data, { dim: x.dim, name });
  }
  const realT = tf.tensor2d(r.data, [r.count, r.dim]);
  const fakeT = tf.tensor2d(f.data, [f.count, f.dim]);
  let result: PrecisionRecallResult;
  try {
    result = await precisionRecall(realT, fakeT, { ...options, k });
  } finally {
    tf.dispose([realT, fakeT]);
  }
  const realism = [...result.realism];
  const report: PrdcReport = {
    precision: result.precision,
    recall: result.recall,
    density: result.density,
    coverage: result.coverage,
    realism: {
      mean: realism.reduce((s, v) => s + v, 0) / realism.length,
      median: percentile(realism, 50),
      min: realism.reduce((m, v) => Math.min(m, v), Infinity),
      max: realism.reduce((m, v) => Math.max(m, v), -Infinity),
    },
    n_real: result.nReal,
    n_fake: result.nFake,
    k,
    features: space.features,
  };
  const scores: PrdcScores = {
    features: space.features,
    k,
    fake,
    files: f.files?.map((file) => basename(file)) ?? null,
    realism,
    in_real_manifold: [...result.inRealManifold],
  };
  const named = { name: space.features, named: space.named };
  return {
    report,
    scores,
    result,
    real: { ...r, ...named },
    fake: { ...f, ...named },
    features: space.features,
  };
}

/**
 * `extractor` with the image size it takes ({@link FeatureExtractor.inputShape}); the same network, disposed
 * with the result.
 */
export function withInputShape(
  extractor: FeatureExtractor,
  inputShape: readonly [number, number, number],
): FeatureExtractor {
  return {
    name: extractor.name,
    dim: extractor.dim,
    inputShape,
    extract: (images) => extractor.extract(images),
    dispose: () => extractor.dispose(),
  };
}

/**
 * A domain network as `domain_net.ts`'s `loadDomainNet` loads it, with its input size (`[R, R, C]` from the
 * file's config) so that folders are checked against it, and resized to it with `resize`.
 */
export async function loadDomainExtractor(path: string): Promise<FeatureExtractor> {
  const { config } = await readParamFile<ClassifierConfig>(path, "classifier");
  const net = await loadDomainNet(path);
  return withInputShape(net, [config.resolution, config.resolution, config.channels]);
}
