/**
 * What the metric commands accept as an image set, and how each becomes features or statistics:
 * - a folder of PNGs (features computed by a {@link FeatureExtractor}, loaded only when needed);
 * - a feature file (safetensors, tensor `features` `[N, D]`, see `features.ts`);
 * - a statistics file (safetensors `mu` / `sigma`, written by `RunningMoments.save`): FID only.
 *
 * @example
 * ```ts ignore
 * import { momentsOfInput } from "./inputs.ts";
 * const { moments, features } = await momentsOfInput("out/images", { extractor: () => loadFidInception(pth) });
 * ```
 * @module
 */
import { readSafetensors } from "../io/safetensors.ts";
import { RunningMoments } from "../stats/moments.ts";
import { progress } from "../util/progress.ts";
import {
  extractFeatures,
  type FeatureExtractor,
  type FeatureFile,
  FEATURES_KEY,
  listPngs,
  pngBatches,
  readFeatures,
} from "./features.ts";

/** The kinds of input, see the module documentation. */
export type InputKind = "folder" | "features" | "statistics";

/** Which kind of input `path` is: a folder, or a safetensors file holding `features` or `mu`/`sigma`. */
export async function inputKind(path: string): Promise<InputKind> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    throw new Error(`${path}: no such file or folder`);
  }
  if (info.isDirectory) return "folder";
  if (!path.toLowerCase().endsWith(".safetensors")) {
    throw new Error(`${path}: expected a folder of PNGs or a .safetensors feature / statistics file`);
  }
  const names = [...(await readSafetensors(path)).tensors.keys()];
  if (names.includes("features")) return "features";
  if (names.includes("mu") && names.includes("sigma")) return "statistics";
  throw new Error(
    `${path}: holds neither "features" nor "mu"/"sigma" (found: ${names.join(", ") || "none"})`,
  );
}

/** Options of {@link momentsOfInput} and {@link featuresOfInput}. */
export interface InputOptions {
  /** Supplies the feature extractor for folders (called at most once per call); without it folders fail. */
  extractor?: () => Promise<FeatureExtractor>;
  /** Why folders need an extractor, for the error without one, e.g. "pass --inception <pth>". */
  extractorHint?: string;
  /** Images per forward pass; default 16. */
  batch?: number;
  /** Show a progress bar while extracting; default true. */
  showProgress?: boolean;
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

/** A statistic with the name of its feature space. */
export interface NamedMoments {
  moments: RunningMoments;
  /** The feature extractor's name. */
  features: string;
}

/**
 * Mean and covariance of an input: extracted and accumulated batch by batch for a folder (features are not
 * kept), accumulated from a feature file, or read from a statistics file.
 */
export async function momentsOfInput(path: string, options: InputOptions = {}): Promise<NamedMoments> {
  const kind = await inputKind(path);
  if (kind === "statistics") {
    const { moments, metadata } = await RunningMoments.loadWithMetadata(path);
    return { moments, features: metadata[FEATURES_KEY] ?? `unknown features (${path})` };
  }
  if (kind === "features") {
    const file = await readFeatures(path);
    const moments = new RunningMoments(file.dim);
    moments.add(file.data);
    return { moments, features: file.name };
  }
  const files = await listPngs(path);
  const extractor = await folderExtractor(path, options);
  const moments = new RunningMoments(extractor.dim);
  const bar = options.showProgress === false
    ? undefined
    : progress(files.length, { label: `${extractor.name}: ${path}`, unit: "img" });
  await extractFeatures(extractor, pngBatches(files, { batch: options.batch }), {
    batch: options.batch,
    keep: false,
    onFeatures: (rows) => moments.add(rows),
    onProgress: (n) => bar?.tick(n),
  });
  bar?.done();
  return { moments, features: extractor.name };
}

/** All features of an input (a folder or a feature file), with the image file names for a folder. */
export async function featuresOfInput(
  path: string,
  options: InputOptions = {},
): Promise<FeatureFile & { files?: string[] }> {
  const kind = await inputKind(path);
  if (kind === "statistics") {
    throw new Error(`${path} holds statistics (mu, sigma), but per-sample features are needed`);
  }
  if (kind === "features") return await readFeatures(path);
  const files = await listPngs(path);
  const extractor = await folderExtractor(path, options);
  const bar = options.showProgress === false
    ? undefined
    : progress(files.length, { label: `${extractor.name}: ${path}`, unit: "img" });
  const out = await extractFeatures(extractor, pngBatches(files, { batch: options.batch }), {
    batch: options.batch,
    onProgress: (n) => bar?.tick(n),
  });
  bar?.done();
  return { ...out, name: extractor.name, files };
}
