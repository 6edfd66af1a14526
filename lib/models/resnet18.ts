/**
 * ResNet-18 in torchvision's layout, for inference: the frozen feature extractor of the artifact classifier
 * (Tousi et al.), loaded from a user's torchvision weights (`resnet18-f37072fd.pth`) or any state dict with the
 * same keys.
 *
 * The network (He et al. 2016, as torchvision builds it; every convolution has no bias and is followed by a
 * batch norm):
 *
 * | layer           | what                                                         | map size, 224 input |
 * | --------------- | ------------------------------------------------------------ | ------------------- |
 * | `conv1`, `bn1`  | 7×7 conv, stride 2, pad 3, ReLU                              | 112                 |
 * | (maxpool)       | 3×3 max pool, stride 2, pad 1                                | 56                  |
 * | `layer1`        | 2 basic blocks, width 64                                     | 56                  |
 * | `layer2..4`     | 2 basic blocks each, widths 128, 256, 512; block 0 stride 2  | 28, 14, 7           |
 * | (avgpool), `fc` | global average pool → features `[N, 512]` → 1000 logits      | 1                   |
 *
 * A basic block `layerS.B` is `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))` with 3×3 convs (pad 1;
 * `conv1` has stride 2 in block 0 of layers 2–4) and `shortcut` the identity, or `downsample` (a 1×1 conv,
 * stride 2, pad 0, and a batch norm: keys `downsample.0`, `downsample.1`) in block 0 of layers 2–4.
 *
 * Loading: every batch norm (eval mode: running statistics, eps 1e-5) is folded into the convolution before it,
 * `w' = w·γ/√(σ²+ε)`, `b' = β − μ·γ/√(σ²+ε)`, so the forward pass is convolutions with bias. Weights are
 * converted from PyTorch's layouts (conv OIHW → HWIO, fc `[out, in]` → `[in, out]`) here only; inside, all
 * is NHWC. The stage widths are read from the weight shapes (torchvision's are 64, 128, 256, 512; narrower
 * networks with the same keys load too), and so is the number of classes.
 *
 * Padding: torchvision pads symmetrically (3 for the 7×7 stem, 1 for 3×3 convs and the max pool). tfjs's
 * `"same"` pads stride-2 layers asymmetrically (more at the end), so every layer here uses explicit pads.
 *
 * Input: images `[N, H, W, C]` in [-1, 1], C = 3 or 1 (grey is repeated to RGB), any size (a 64×64 input
 * gives a 2×2 last map); they are mapped to torchvision's ImageNet preprocessing: `x01 = (x + 1) / 2`, then
 * (optionally, `resize`) bilinear resizing as `F.interpolate(..., align_corners=False)`, then
 * `(x01 − mean) / std` with mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
 *
 * The model object has the vocabulary of `classifier.ts` (`featureMap`, `head`, `features`, `forward`), so
 * Grad-CAM and the correction code take either; {@link asFeatureExtractor} makes it a feature extractor for
 * the distribution metrics.
 *
 * Verified against a PyTorch re-implementation with random weights and batch-norm statistics
 * (`tests/fixtures/resnet18/make_resnet18.py`): narrow (widths 4–32) and full width, to 1e-4.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { randomResnet18 } from "./resnet18.ts";
 * await initBackend({ backend: "cpu" });
 * // Real weights: `await loadResnet18("resnet18-f37072fd.pth", { resize: 224 })`.
 * const net = randomResnet18({ widths: [4, 8, 16, 32], classes: 10 });
 * const images = tf.zeros([2, 64, 64, 3]) as tf.Tensor4D;
 * const map = net.featureMap(images); // stride 32
 * const logits = net.head(map);
 * assert.deepEqual([map.shape, logits.shape], [[2, 2, 2, 32], [2, 10]]);
 * tf.dispose([images, map, logits]);
 * net.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type HostTensor, toFloat32Array } from "../io/dtype.ts";
import { convWeightToHWIO, linearWeightToIO } from "../io/layout.ts";
import { readPth } from "../io/pth.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { type FeatureExtractor, toRgb } from "./features.ts";
import { Rng } from "../tensor/rng.ts";
import { assertImageBatch } from "../tensor/shape.ts";
import { resizeBilinear } from "../tensor/upsample.ts";

/** torchvision's stage widths; the last is the feature dimension. */
export const RESNET18_WIDTHS: readonly [number, number, number, number] = [64, 128, 256, 512];
/** Epsilon of torchvision's `BatchNorm2d`. */
const BN_EPS = 1e-5;
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
/** Batch-norm tensors folded into a conv (`num_batches_tracked`, a counter, is ignored). */
const BN_KEYS = ["weight", "bias", "running_mean", "running_var"] as const;

/** Options of the model: how images are brought to the network. */
export interface Resnet18Options {
  /**
   * Bilinearly resize the images to `resize`×`resize` first (e.g. 224, torchvision's ImageNet size);
   * default: none, the network runs at the input size.
   */
  resize?: number;
}

/** Options of {@link resnet18FromStateDict}. */
export interface Resnet18StateDictOptions extends Resnet18Options {
  /** Name of the weights' source in error messages (e.g. the file); default `"state dict"`. */
  source?: string;
}

/** Options of {@link randomResnet18}. */
export interface RandomResnet18Options extends Resnet18Options {
  /** Seed of the weights; default 0. */
  seed?: number;
  /** Widths of `layer1..4`; default torchvision's {@link RESNET18_WIDTHS}. */
  widths?: readonly [number, number, number, number];
  /** Number of logits; default 1000 (ImageNet). */
  classes?: number;
}

/**
 * A ResNet-18 with its weights on the current backend. Every method computes in `tf.tidy` and is
 * differentiable; the caller disposes the returned tensors.
 */
export interface Resnet18 {
  /** Widths of `layer1..4`; the last is the feature dimension `D`. */
  readonly widths: readonly [number, number, number, number];
  /** Number of logits `K`. */
  readonly classes: number;
  /** The input size the images are resized to, or undefined (run at the input size). */
  readonly resize: number | undefined;
  /**
   * The last conv map `[N, h, w, D]` (after `layer4`'s final ReLU) of images `[N, H, W, C]` in [-1, 1],
   * C = 1 or 3; `h = ⌈H/32⌉` for the usual sizes (2 for 64, 7 for 224). This is the map Grad-CAM weighs.
   */
  featureMap(images: tf.Tensor4D): tf.Tensor4D;
  /** The logits `[N, K]` of a last conv map `[N, h, w, D]`: global average pool, then `fc`. */
  head(map: tf.Tensor4D): tf.Tensor2D;
  /** The penultimate features `[N, D]` (the globally averaged last conv map). */
  features(images: tf.Tensor4D): tf.Tensor2D;
  /** The logits `[N, K]` of images `[N, H, W, C]` in [-1, 1]. */
  forward(images: tf.Tensor4D): tf.Tensor2D;
  /** Free the weights. */
  dispose(): void;
}

/**
 * The tensors of a ResNet-18 state dict and their PyTorch shapes, in torchvision's order (without the
 * `num_batches_tracked` counters, which inference does not need).
 *
 * @param widths Widths of `layer1..4` (torchvision: 64, 128, 256, 512; the stem has `widths[0]`).
 * @param classes Outputs of `fc` (torchvision: 1000).
 */
export function resnet18Shapes(
  widths: readonly number[] = RESNET18_WIDTHS,
  classes = 1000,
): Map<string, number[]> {
  if (widths.length !== 4 || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new Error(`resnet18: widths must be 4 positive integers, got [${widths}]`);
  }
  if (!Number.isInteger(classes) || classes < 1) {
    throw new Error(`resnet18: classes must be a positive integer, got ${classes}`);
  }
  const shapes = new Map<string, number[]>();
  const convBn = (conv: string, bn: string, cin: number, cout: number, k: number) => {
    shapes.set(`${conv}.weight`, [cout, cin, k, k]);
    for (const key of BN_KEYS) shapes.set(`${bn}.${key}`, [cout]);
  };
  convBn("conv1", "bn1", 3, widths[0], 7);
  let cin = widths[0];
  widths.forEach((w, s) => {
    for (let b = 0; b < 2; b++) {
      const block = `layer${s + 1}.${b}`;
      convBn(`${block}.conv1`, `${block}.bn1`, cin, w, 3);
      convBn(`${block}.conv2`, `${block}.bn2`, w, w, 3);
      if (s > 0 && b === 0) convBn(`${block}.downsample.0`, `${block}.downsample.1`, cin, w, 1);
      cin = w;
    }
  });
  shapes.set("fc.weight", [classes, cin]);
  shapes.set("fc.bias", [classes]);
  return shapes;
}

/** A convolution with its batch norm folded in: filter `[k, k, I, O]`, bias `[O]`, symmetric padding. */
interface Conv {
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  stride: number;
  pad: number;
}

/** A basic block; `downsample` only where the shortcut changes width and size. */
interface Block {
  conv1: Conv;
  conv2: Conv;
  downsample?: Conv;
}

/** The weights of a state dict, checked against the shapes of {@link resnet18Shapes} as they are read. */
class CheckedWeights {
  constructor(
    private readonly weights: Map<string, HostTensor>,
    private readonly shapes: Map<string, number[]>,
    private readonly source: string,
  ) {}

  /** The float32 values of `key` in PyTorch's layout; throws naming the key if it is missing or misshapen. */
  get(key: string): HostTensor & { data: Float32Array } {
    const t = this.weights.get(key);
    if (!t) throw new Error(`${this.source}: missing "${key}": not a torchvision ResNet-18 state dict`);
    if (!t.dtype.startsWith("F") && t.dtype !== "BF16") {
      throw new Error(`${this.source}: "${key}" must be float, got ${t.dtype}`);
    }
    const expected = this.shapes.get(key)!;
    if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
      throw new Error(`${this.source}: "${key}" has shape [${t.shape}], expected [${expected}]`);
    }
    return { dtype: "F32", shape: t.shape, data: toFloat32Array(t) };
  }

  /** `convKey.weight` with the batch norm `bnKey.*` folded in, in tfjs's layout. */
  foldedConv(convKey: string, bnKey: string, stride: number, pad: number): Conv {
    const weight = this.get(`${convKey}.weight`); // [O, I, k, k]
    const [gamma, beta, mean, variance] = BN_KEYS.map((k) => this.get(`${bnKey}.${k}`).data);
    const scale = Float64Array.from(gamma, (g, o) => g / Math.sqrt(variance[o] + BN_EPS));
    const hwio = convWeightToHWIO(weight, { name: `${this.source}: ${convKey}.weight` }); // [k, k, I, O]
    const out = weight.shape[0];
    const folded = Float32Array.from(hwio.data as Float32Array, (v, i) => v * scale[i % out]); // O is last
    return {
      filter: tf.tensor4d(folded, hwio.shape as [number, number, number, number]),
      bias: tf.tensor1d(Float32Array.from(beta, (b, o) => b - mean[o] * scale[o])),
      stride,
      pad,
    };
  }
}

/** The state dict without a `module.` prefix on every key (what `nn.DataParallel` saves). */
function withoutModulePrefix(weights: Map<string, HostTensor>): Map<string, HostTensor> {
  const keys = [...weights.keys()];
  if (keys.length === 0 || !keys.every((k) => k.startsWith("module."))) return weights;
  return new Map(keys.map((k) => [k.slice("module.".length), weights.get(k)!]));
}

/** The widths of `layer1..4`, read from the output channels of each stage's first conv. */
function inferWidths(weights: Map<string, HostTensor>, source: string): [number, number, number, number] {
  return [1, 2, 3, 4].map((s) => {
    const key = `layer${s}.0.conv1.weight`;
    const t = weights.get(key);
    if (!t) throw new Error(`${source}: missing "${key}": not a torchvision ResNet-18 state dict`);
    if (t.shape.length !== 4) {
      throw new Error(`${source}: "${key}" has shape [${t.shape}], expected [O,I,3,3]`);
    }
    return t.shape[0];
  }) as [number, number, number, number];
}

/**
 * Build a ResNet-18 from a torchvision state dict in PyTorch's layout (as `readPth` or `readSafetensors`
 * return it): keys `conv1.weight`, `bn1.*`, `layer{1..4}.{0,1}.{conv1,bn1,conv2,bn2}.*`,
 * `layer{2..4}.0.downsample.{0,1}.*`, `fc.weight`, `fc.bias`. A `module.` prefix on every key is dropped;
 * `num_batches_tracked` is ignored. Widths and classes are read from the shapes. The weights are uploaded to
 * the current backend; `dispose()` frees them.
 *
 * @throws Error naming the source and the key for a missing key, a wrong shape, a non-float tensor or a key
 *   that a ResNet-18 does not have (e.g. `layer1.2.conv1.weight` of a ResNet-34).
 */
export function resnet18FromStateDict(
  weights: Map<string, HostTensor>,
  options: Resnet18StateDictOptions = {},
): Resnet18 {
  const source = options.source ?? "state dict";
  const sd = withoutModulePrefix(weights);
  const widths = inferWidths(sd, source);
  const fc = sd.get("fc.weight");
  if (!fc) throw new Error(`${source}: missing "fc.weight": not a torchvision ResNet-18 state dict`);
  const shapes = resnet18Shapes(widths, fc.shape[0]);
  const unexpected = [...sd.keys()].filter((k) => !shapes.has(k) && !k.endsWith(".num_batches_tracked"));
  if (unexpected.length > 0) {
    const more = unexpected.length > 3 ? ` and ${unexpected.length - 3} more` : "";
    throw new Error(
      `${source}: unexpected ${unexpected.slice(0, 3).map((k) => `"${k}"`).join(", ")}${more}: ` +
        `a ResNet-18 has no such tensors`,
    );
  }
  if (options.resize !== undefined && (!Number.isInteger(options.resize) || options.resize < 1)) {
    throw new Error(`resnet18: resize must be a positive integer, got ${options.resize}`);
  }

  const w = new CheckedWeights(sd, shapes, source);
  const made: tf.Tensor[] = []; // every tensor uploaded so far, freed if a later key fails
  const track = (c: Conv): Conv => {
    made.push(c.filter, c.bias);
    return c;
  };
  try {
    const stem = track(w.foldedConv("conv1", "bn1", 2, 3));
    const blocks: Block[] = [];
    for (let s = 1; s <= 4; s++) {
      for (let b = 0; b < 2; b++) {
        const name = `layer${s}.${b}`;
        const stride = s > 1 && b === 0 ? 2 : 1;
        blocks.push({
          conv1: track(w.foldedConv(`${name}.conv1`, `${name}.bn1`, stride, 1)),
          conv2: track(w.foldedConv(`${name}.conv2`, `${name}.bn2`, 1, 1)),
          downsample: stride === 2
            ? track(w.foldedConv(`${name}.downsample.0`, `${name}.downsample.1`, 2, 0))
            : undefined,
        });
      }
    }
    const fcIO = linearWeightToIO(w.get("fc.weight"), { name: `${source}: fc.weight` }); // [D, K]
    const fcWeight = tf.tensor2d(fcIO.data as Float32Array, fcIO.shape as [number, number]);
    made.push(fcWeight);
    const fcBias = tf.tensor1d(w.get("fc.bias").data);
    made.push(fcBias);
    return new Resnet18Net({ widths, stem, blocks, fcWeight, fcBias, resize: options.resize, made });
  } catch (e) {
    tf.dispose(made);
    throw e;
  }
}

/** Load a ResNet-18 from a `.pth` (torch.save of a state dict) or `.safetensors` file; see {@link resnet18FromStateDict}. */
export async function loadResnet18(path: string, options: Resnet18Options = {}): Promise<Resnet18> {
  const weights = path.toLowerCase().endsWith(".safetensors")
    ? (await readSafetensors(path)).tensors
    : await readPth(path); // unwraps a {'state_dict': …} wrapper
  return resnet18FromStateDict(weights, { ...options, source: path });
}

/**
 * A ResNet-18 with seeded random weights, initialised as torchvision initialises an untrained one
 * (He-normal convs with fan-out, batch norms at γ = 1, β = 0, mean 0, variance 1; `fc` uniform in ±1/√D), for
 * tests, demos and benchmarks. It goes through {@link resnet18FromStateDict} like real weights.
 */
export function randomResnet18(options: RandomResnet18Options = {}): Resnet18 {
  const rng = new Rng(options.seed ?? 0);
  const widths = options.widths ?? RESNET18_WIDTHS;
  const weights = new Map<string, HostTensor>();
  for (const [key, shape] of resnet18Shapes(widths, options.classes ?? 1000)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (shape.length === 4) {
      const std = Math.sqrt(2 / (shape[0] * shape[2] * shape[3])); // fan-out = O·k·k
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    } else if (key.startsWith("fc.")) {
      const bound = 1 / Math.sqrt(widths[3]);
      for (let i = 0; i < data.length; i++) data[i] = (2 * rng.uniform() - 1) * bound;
    } else if (key.endsWith(".weight") || key.endsWith(".running_var")) {
      data.fill(1);
    }
    weights.set(key, { dtype: "F32", shape, data });
  }
  return resnet18FromStateDict(weights, { resize: options.resize, source: "randomResnet18" });
}

/** Options of {@link asFeatureExtractor}. */
export interface Resnet18ExtractorOptions {
  /** The extractor's name, which travels with every metric result; default `"resnet18"`. */
  name?: string;
}

/**
 * The model as a feature extractor of the distribution metrics (FD, KID, precision/recall): its penultimate
 * features `[N, D]` (D = 512 for torchvision's widths). The extractor owns the model: its `dispose()`
 * disposes the model.
 */
export function asFeatureExtractor(
  model: Resnet18,
  options: Resnet18ExtractorOptions = {},
): FeatureExtractor {
  return {
    name: options.name ?? "resnet18",
    dim: model.widths[3],
    extract: (images) => model.features(images),
    dispose: () => model.dispose(),
  };
}

/** The explicit NHWC padding of `pad` on each side of both spatial axes: torchvision's symmetric padding. */
function symmetricPad(pad: number): [[0, 0], [number, number], [number, number], [0, 0]] {
  return [[0, 0], [pad, pad], [pad, pad], [0, 0]];
}

function conv(x: tf.Tensor4D, c: Conv, activation: "relu" | "linear"): tf.Tensor4D {
  return tf.fused.conv2d({
    x,
    filter: c.filter,
    strides: c.stride,
    pad: symmetricPad(c.pad),
    bias: c.bias,
    activation,
  });
}

/** The parts {@link resnet18FromStateDict} builds. */
interface Resnet18Parts {
  widths: [number, number, number, number];
  stem: Conv;
  blocks: Block[];
  fcWeight: tf.Tensor2D;
  fcBias: tf.Tensor1D;
  resize: number | undefined;
  /** Every tensor above, for `dispose`. */
  made: tf.Tensor[];
}

class Resnet18Net implements Resnet18 {
  readonly widths: readonly [number, number, number, number];
  readonly classes: number;
  readonly resize: number | undefined;
  readonly #parts: Resnet18Parts;
  readonly #mean = tf.tensor1d(IMAGENET_MEAN);
  readonly #std = tf.tensor1d(IMAGENET_STD);

  constructor(parts: Resnet18Parts) {
    this.#parts = parts;
    this.widths = parts.widths;
    this.classes = parts.fcBias.shape[0];
    this.resize = parts.resize;
  }

  /** Images in [-1, 1] → torchvision's normalised input `[N, H', W', 3]`. */
  #input(images: tf.Tensor4D): tf.Tensor4D {
    const unit = tf.div(tf.add(toRgb(images), 1), 2) as tf.Tensor4D; // [N, H, W, 3] in [0, 1]
    const size = this.resize;
    const sized = size === undefined || (unit.shape[1] === size && unit.shape[2] === size)
      ? unit
      : resizeBilinear(unit, size, { alignCorners: false }); // [N, size, size, 3]
    return tf.div(tf.sub(sized, this.#mean), this.#std) as tf.Tensor4D;
  }

  featureMap(images: tf.Tensor4D): tf.Tensor4D {
    assertImageBatch(images, "images");
    return tf.tidy(() => {
      const { stem, blocks } = this.#parts;
      let x = conv(this.#input(images), stem, "relu"); // [N, H/2, W/2, widths[0]]
      // Max pool 3×3, stride 2, pad 1. PyTorch pads with −∞; padding with 0 is the same here because x is
      // post-ReLU (≥ 0) and every window holds at least one real pixel, whose value is ≥ 0.
      x = tf.maxPool(tf.pad(x, symmetricPad(1)), 3, 2, "valid"); // [N, H/4, W/4, widths[0]]
      for (const block of blocks) {
        const branch = conv(conv(x, block.conv1, "relu"), block.conv2, "linear");
        const shortcut = block.downsample ? conv(x, block.downsample, "linear") : x;
        x = tf.relu(tf.add(branch, shortcut));
      }
      return x; // [N, h, w, widths[3]]
    });
  }

  head(map: tf.Tensor4D): tf.Tensor2D {
    assertImageBatch(map, "map", { channels: this.widths[3] });
    return tf.tidy(() => {
      const pooled = tf.mean(map, [1, 2]) as tf.Tensor2D; // [N, D]
      return tf.add(tf.matMul(pooled, this.#parts.fcWeight), this.#parts.fcBias) as tf.Tensor2D; // [N, K]
    });
  }

  features(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.mean(this.featureMap(images), [1, 2]) as tf.Tensor2D);
  }

  forward(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.head(this.featureMap(images)));
  }

  dispose(): void {
    tf.dispose([...this.#parts.made, this.#mean, this.#std]);
  }
}
