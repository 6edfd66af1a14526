/**
 * Everything the correction method needs for one shipped model, loaded in one call: the generator, real images,
 * the frozen backbone of the artifact classifier, the feature space of the metrics, the automatic labelling
 * criterion and, for scenes, the ground-truth defect maps that CAM masks are measured against.
 *
 * | domain    | generator                | backbone and features  | labelling criterion          | truth masks        |
 * |-----------|--------------------------|------------------------|------------------------------|--------------------|
 * | `scenes`  | `scenes_pggan64`         | `scenes_net`           | scene defect fraction        | scene defect maps  |
 * | `fashion` | `fashion_pggan32`        | `fashion_net`          | 1 − fashion-net confidence   | —                  |
 *
 * A user checkpoint of the same image size can replace the generator (`checkpoint`). Any other PGGAN checkpoint
 * (e.g. GAN Dissection's LSUN models) runs through {@link loadCustomDomain}: the user brings real images (a folder
 * of PNGs), a backbone (torchvision's ResNet-18 weights) and labels (the labelling page); FD is measured in the
 * backbone's features, or in Inception's (FID) when pytorch-fid's weights are given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { loadDomain } from "./domain.ts";
 * await initBackend({ backend: "cpu" });
 * const domain = await loadDomain("scenes", { engine: "tfjs" }); // ORT is for the examples of lib/engine
 * const { gen, features, criterion } = domain;
 * assert.deepEqual([gen.model.resolution, features.name], [64, "scenes-net"]);
 * assert.equal(criterion.name, "defect-fraction");
 * await domain.dispose();
 * ```
 * @module
 */
import { basename, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { defectMapBatch } from "../data/defects.ts";
import { type ImageSource, imageSource, pngFolderSource } from "../data/source.ts";
import type { Edits } from "../engine/edits.ts";
import { createGenerator, type EngineName, type GeneratorRunner } from "../engine/select.ts";
import type { FeatureExtractor } from "../models/features.ts";
import { loadFidInception } from "../metrics/inception.ts";
import { asFeatureExtractor, loadResnet18 } from "../models/resnet18.ts";
import { disposeClassifier, features, loadClassifier } from "../models/classifier.ts";
import { loadGenerator } from "../models/load.ts";
import { withOutputChannels } from "../models/output_channels.ts";
import type { GeneratorDescription } from "../models/stages.ts";
import { disposeSegmenter, loadSegmenter, segment } from "../models/segmenter.ts";
import { latents } from "../tensor/rng.ts";
import { hashKey, sha256File } from "../io/hash.ts";
import { confidenceCriterion, type LabelCriterion, sceneDefectCriterion } from "./auto_label.ts";
import {
  ARTIFACT,
  type ArtifactClassifier,
  classifierBackbone,
  type FrozenBackbone,
} from "./artifact_classifier.ts";
import type { ArtifactMaskFn } from "./defective_score.ts";
import { cam, type CamMethodName } from "../gradcam/methods.ts";
import { camMasks } from "../gradcam/masks.ts";

/** The shipped domains. */
export const DOMAINS = ["scenes", "fashion"] as const;

/** One domain's models and data (see the module documentation); `dispose()` frees them all. */
export interface CorrectionDomain {
  name: string;
  /** The generator (ONNX Runtime by default). */
  gen: GeneratorRunner;
  /** Where the generator came from. */
  checkpoint: string;
  /** Real images, training split (classifier training) … */
  real: ImageSource;
  /** … and held-out split (the reference of the metrics). */
  realHeldout: ImageSource;
  /** The frozen backbone of the artifact classifier. */
  backbone: FrozenBackbone;
  /** The feature space of FD, realism, precision and recall. */
  features: FeatureExtractor;
  /** The automatic labelling criterion (none for a custom domain: label with the labelling page). */
  criterion?: LabelCriterion;
  /** Scenes: binary ground-truth defect maps `[N, H, W]` of images (the segmenter's labels, the scene grammar). */
  truthMasks?: (images: tf.Tensor4D) => tf.Tensor3D;
  /** Scenes: the mean of each image's truth mask, `[N]` (the scene criterion's score). */
  defectFraction?: (images: tf.Tensor4D) => Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** A shipped domain: it has an automatic labelling criterion. */
export type ShippedDomain = CorrectionDomain & { criterion: LabelCriterion };

/** Options of {@link loadDomain}. */
export interface LoadDomainOptions {
  /** Folder of the shipped models; default `data/models`. */
  models?: string;
  /** A generator checkpoint instead of the shipped one (same image size and channels). */
  checkpoint?: string;
  /** Engine of the generator; default ORT (see `createGenerator`). */
  engine?: EngineName;
  /** Fashion-MNIST's folder; default Debian's. */
  data?: string;
}

/**
 * `model` drawing the domain's channels: a generator saved in GAN Dissection's RGB format for a grey domain
 * (or the other way round) is converted exactly in its output layer ({@link withOutputChannels}), with one line
 * saying so; any other mismatch is refused, saying what to do.
 */
export function matchChannels(
  model: GeneratorDescription,
  channels: number,
  checkpoint: string,
  domain: string,
): GeneratorDescription {
  if (model.outputChannels === channels) return model;
  const how = channels === 1 ? "grey = the mean of R, G and B" : "R = G = B = the grey channel";
  if ((model.outputChannels === 3 && channels === 1) || (model.outputChannels === 1 && channels === 3)) {
    console.warn(
      `note: ${checkpoint} draws ${model.outputChannels} channel(s), the ${domain} domain ${channels}: ` +
        `converted in its output layer (${how})`,
    );
    return withOutputChannels(model, channels);
  }
  throw new Error(
    `${checkpoint}: draws ${model.outputChannels} channels, but the ${domain} domain has ${channels}; ` +
      `give a generator of ${channels} (or ${channels === 1 ? 3 : 1}) channels`,
  );
}

/** Load one of {@link DOMAINS}. */
export async function loadDomain(name: string, options: LoadDomainOptions = {}): Promise<ShippedDomain> {
  const models = options.models ?? "data/models";
  const shipped = { scenes: "scenes_pggan64", fashion: "fashion_pggan32" }[name];
  const netName = { scenes: "scenes_net", fashion: "fashion_net" }[name];
  if (!shipped || !netName) throw new Error(`unknown domain "${name}"; known: ${DOMAINS.join(", ")}`);
  const checkpoint = options.checkpoint ?? join(models, `${shipped}.safetensors`);
  const real = await imageSource(name, { dir: options.data });
  const realHeldout = await imageSource(name, { split: "heldout", dir: options.data });
  const description = matchChannels(await loadGenerator(checkpoint), real.channels, checkpoint, name);
  if (description.resolution !== real.resolution) {
    throw new Error(
      `${checkpoint}: makes ${description.resolution}px images, but the ${name} domain is ${real.resolution}px`,
    );
  }
  const net = await loadClassifier(join(models, `${netName}.safetensors`));
  const featureName = netName.replace("_", "-");
  const segmenter = name === "scenes"
    ? await loadSegmenter(join(models, "scenes_segmenter.safetensors"))
    : undefined;
  const gen = await createGenerator(description, { engine: options.engine });
  const defects = segmenter && sceneDefectCriterion(segmenter);
  return {
    name,
    gen,
    checkpoint,
    real,
    realHeldout,
    backbone: classifierBackbone(net, featureName),
    features: {
      name: featureName,
      dim: net.params["fc.weight"].shape[0],
      extract: (images) => features(net, images),
      dispose: () => {},
    },
    criterion: defects ?? confidenceCriterion(net, featureName),
    defectFraction: defects?.score,
    truthMasks: segmenter && ((images) => {
      const labels = segment(segmenter, images);
      const { score, binary } = defectMapBatch(images, labels);
      tf.dispose([labels, score]);
      return binary;
    }),
    async dispose() {
      await gen.dispose();
      disposeClassifier(net);
      if (segmenter) disposeSegmenter(segmenter);
    },
  };
}

/** Options of {@link loadCustomDomain}. */
export interface CustomDomainOptions {
  /** The generator: any checkpoint `loadGenerator` reads (GAN Dissection's PGGAN `.pth`, safetensors). */
  checkpoint: string;
  /** A folder of real PNGs; the first half trains the classifier, the second half is the metrics' reference. */
  real: string;
  /** The frozen backbone: torchvision ResNet-18 weights (`.pth` or safetensors). */
  backbone: string;
  /** Resize images to this size before the ResNet (e.g. 224); default: run at the generator's size. */
  backboneSize?: number;
  /** pytorch-fid's Inception weights: FD becomes FID; default: the backbone's features. */
  inception?: string;
  /** Engine of the generator; default ORT. */
  engine?: EngineName;
  /** At most this many real PNGs are read; default 4000. */
  limit?: number;
}

/** A user's model and data as a correction domain (see the module documentation). */
export async function loadCustomDomain(options: CustomDomainOptions): Promise<CorrectionDomain> {
  const description = matchChannels(await loadGenerator(options.checkpoint), 3, options.checkpoint, "RGB");
  const source = { resolution: description.resolution, channels: 3 as const, limit: options.limit };
  const real = await pngFolderSource(options.real, source);
  const realHeldout = await pngFolderSource(options.real, { ...source, split: "heldout" });
  const resnet = await loadResnet18(options.backbone, { resize: options.backboneSize });
  const inception = options.inception ? await loadFidInception(options.inception) : undefined;
  const gen = await createGenerator(description, { engine: options.engine });
  return {
    name: basename(options.checkpoint).replace(/\.[^.]*$/, ""),
    gen,
    checkpoint: options.checkpoint,
    real,
    realHeldout,
    backbone: { name: "resnet18", featureMap: (images) => resnet.featureMap(images) },
    features: inception ?? { ...asFeatureExtractor(resnet), dispose: () => {} },
    async dispose() {
      await gen.dispose();
      resnet.dispose();
      inception?.dispose();
    },
  };
}

/** Where a correction run's model comes from: a shipped domain's name, or a user's checkpoint and its data. */
export interface DomainSource extends Partial<Omit<CustomDomainOptions, "checkpoint">> {
  /** A shipped domain ({@link DOMAINS}) or a generator checkpoint (then `real`, `backbone` and `labels`). */
  model: string;
  /** For a shipped domain: a checkpoint of its image size instead of the shipped generator. */
  checkpoint?: string;
  /** The label file a user's checkpoint needs (only checked for presence here). */
  labels?: string;
}

/**
 * {@link loadDomain} for a shipped domain's name, else {@link loadCustomDomain}; a checkpoint without its real
 * images, backbone or labels is refused with the command that makes the labels.
 */
export function openDomain(source: DomainSource): Promise<CorrectionDomain> {
  const { model, checkpoint, real, backbone, labels, engine } = source;
  if ((DOMAINS as readonly string[]).includes(model)) {
    return loadDomain(model, { checkpoint: checkpoint || undefined, engine });
  }
  if (!(real && backbone && labels)) {
    throw new Error(
      `--model ${model} is not a shipped domain (${DOMAINS.join(", ")}), so it is a generator ` +
        "checkpoint: it needs --real <folder of real PNGs>, --backbone <resnet18.pth> and --labels <labels.csv> " +
        `(label its samples with: deno task label --checkpoint ${model} --out labels.csv)`,
    );
  }
  return loadCustomDomain({
    ...source,
    checkpoint: model,
    real,
    backbone,
    backboneSize: source.backboneSize || undefined,
    inception: source.inception || undefined,
  });
}

/**
 * A cache key of everything a correction step depends on besides its options: the generator's weights, the
 * domain and its feature network, and the user's files (by content).
 */
export async function domainKey(
  domain: CorrectionDomain,
  extra: { backboneSize?: number; real?: string; files?: readonly string[] } = {},
): Promise<string> {
  const files = await Promise.all((extra.files ?? []).map((f) => (f ? sha256File(f) : Promise.resolve(""))));
  return hashKey({
    generator: hashKey(domain.gen.model),
    domain: [domain.name, domain.features.name, extra.backboneSize ?? 0, extra.real ?? ""],
    files,
  });
}

/** What is wrong with a run's `layer` and stopping layers for `gen` (undefined: nothing). */
export function layerProblem(
  domain: CorrectionDomain,
  layer: string,
  stops: readonly number[],
): string | undefined {
  const layers = domain.gen.model.stages.slice(0, -1).map((s) => s.name);
  return !layers.includes(layer)
    ? `--layer ${layer}: ${domain.name}'s generator has ${layers[0]} … ${layers.at(-1)}`
    : stops.some((k) => k > layers.length)
    ? `--stop/--sweep-stop: ${domain.name}'s generator has ${layers.length} layers, got ${Math.max(...stops)}`
    : undefined;
}

/** Options of {@link artifactMasks}. */
export interface ArtifactMaskOptions {
  /** CAM method; default `"gradcam"`. */
  method?: CamMethodName;
  /** A pixel is in the mask when its normalised CAM exceeds this; default 0.5. */
  threshold?: number;
  /** Instead of `threshold`, the top fraction of each image's pixels. */
  topFraction?: number;
}

/**
 * The artifact masks of the correction method: the CAM of the artifact class of the classifier, normalised,
 * upsampled to the image size and thresholded.
 */
export function artifactMasks(
  classifier: ArtifactClassifier,
  options: ArtifactMaskOptions = {},
): ArtifactMaskFn {
  return (images) => {
    const { cams, logits } = cam(classifier, images, {
      method: options.method ?? "gradcam",
      target: ARTIFACT,
    });
    try {
      return camMasks(
        cams,
        options.topFraction !== undefined
          ? { topFraction: options.topFraction }
          : { threshold: options.threshold ?? 0.5 },
      );
    } finally {
      tf.dispose([cams, logits]);
    }
  };
}

/** Generate the images of `seeds` (clamped to [-1, 1], with optional edits); the caller disposes them. */
export async function generateImages(
  gen: GeneratorRunner,
  seeds: readonly number[],
  options: { edits?: Edits } = {},
): Promise<tf.Tensor4D> {
  const z = latents(seeds, gen.model.zDim);
  try {
    return (await gen.run(z, { clamp: true, edits: options.edits })).output;
  } finally {
    z.dispose();
  }
}
