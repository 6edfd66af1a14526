/**
 * pytorch-fid's Inception-v3 feature extractor (the network of every published FID) in tfjs, loaded from
 * pytorch-fid's weights file `pt_inception-2015-12-05-6726825d.pth` (it cannot be downloaded from here: pass
 * the file you have).
 *
 * The architecture is torchvision's Inception-v3 with pytorch-fid's FID-specific blocks, which reproduce the
 * original TensorFlow graph: `FIDInceptionA`, `FIDInceptionC` and `FIDInceptionE_1` average-pool without
 * counting the padding (`count_include_pad=False`, which is tfjs's `avgPool` with `"same"` padding), and
 * `FIDInceptionE_2` max-pools its pooling branch. Every `BasicConv2d` (convolution without bias, BatchNorm with
 * eps 1e-3, ReLU) is folded into one convolution with bias at load time. Input: images in [-1, 1], resized to
 * 299×299 bilinearly with `align_corners=False` (pytorch-fid's `resize_input`; its `normalize_input` maps
 * [0, 1] to [-1, 1], which our inputs already are). Output: the 2048-d average-pooled `Mixed_7c` ("pool3").
 *
 * Channel counts are read from the weights, so narrower networks of the same topology load too (the tests use
 * one); layer names, strides and paddings are fixed by the architecture.
 *
 * Verified against a PyTorch re-implementation with random weights (tests/fixtures/make_metric_fixtures.py):
 * full width and 16× narrower, outputs equal to 1e-4 relative.
 *
 * @example
 * ```ts ignore
 * import { loadFidInception } from "./inception.ts";
 * const inception = await loadFidInception("pt_inception-2015-12-05-6726825d.pth");
 * const features = inception.extract(images); // [N, 2048]; inception.name === "inception-v3-fid"
 * ```
 * @module
 */
import { readFileNamed } from "../io/read.ts";
import * as tf from "@tensorflow/tfjs-core";
import { basename } from "node:path";
import type { HostTensor } from "../io/dtype.ts";
import { sha256Hex } from "../io/hash.ts";
import { convWeightToHWIO } from "../io/layout.ts";
import { readPth } from "../io/pth.ts";
import { resizeBilinear } from "../tensor/upsample.ts";
import { type FeatureExtractor, toRgb } from "../models/features.ts";
import { FID_INCEPTION } from "./features.ts";

/** SHA-256 prefix of pytorch-fid's weights, as in its torch-hub file name `pt_inception-2015-12-05-6726825d.pth`. */
export const FID_WEIGHTS_SHA256_PREFIX = "6726825d";

/** Input size of the network. */
const INPUT_SIZE = 299;
/** torchvision's `BasicConv2d` BatchNorm epsilon. */
const BN_EPS = 0.001;

/** A convolution with its BatchNorm folded in, followed by ReLU. */
interface Conv {
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  stride: number;
  pad: "same" | "valid";
  outChannels: number;
}

type Weights = Map<string, HostTensor>;

function need(w: Weights, key: string, source: string): HostTensor {
  const t = w.get(key);
  if (!t) throw new Error(`${source}: missing "${key}": not a pytorch-fid Inception-v3 state dict`);
  if (!(t.data instanceof Float32Array)) throw new Error(`${source}: "${key}" must be float, got ${t.dtype}`);
  return t;
}

/** `prefix.conv.weight` and `prefix.bn.*` folded into one convolution: `w·γ/√(σ²+ε)`, `β − μ·γ/√(σ²+ε)`. */
function foldConv(
  w: Weights,
  prefix: string,
  source: string,
  stride = 1,
  pad: "same" | "valid" = "same",
): Conv {
  const weight = need(w, `${prefix}.conv.weight`, source);
  const [gamma, beta, mean, variance] = ["weight", "bias", "running_mean", "running_var"].map((k) =>
    need(w, `${prefix}.bn.${k}`, source).data as Float32Array
  );
  const outChannels = weight.shape[0];
  if (weight.shape.length !== 4 || [gamma, beta, mean, variance].some((v) => v.length !== outChannels)) {
    throw new Error(
      `${source}: "${prefix}" has a conv weight [${weight.shape}] that does not fit its BatchNorm`,
    );
  }
  const hwio = convWeightToHWIO(weight, { name: `${source}: ${prefix}.conv.weight` }); // [kH, kW, I, O]
  const scale = Float64Array.from(gamma, (g, o) => g / Math.sqrt(variance[o] + BN_EPS));
  const data = hwio.data as Float32Array;
  const folded = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) folded[i] = data[i] * scale[i % outChannels];
  const bias = Float32Array.from(beta, (b, o) => b - mean[o] * scale[o]);
  return {
    filter: tf.tensor4d(folded, hwio.shape as [number, number, number, number]),
    bias: tf.tensor1d(bias),
    stride,
    pad,
    outChannels,
  };
}

function conv(x: tf.Tensor4D, c: Conv): tf.Tensor4D {
  return tf.fused.conv2d({
    x,
    filter: c.filter,
    strides: c.stride,
    pad: c.pad,
    bias: c.bias,
    activation: "relu",
  });
}

/** 3×3 stride-1 pooling with padding 1: average without the padding (count_include_pad=False) or max. */
function pool3(x: tf.Tensor4D, kind: "avg" | "max"): tf.Tensor4D {
  return kind === "avg" ? tf.avgPool(x, 3, 1, "same") : tf.maxPool(x, 3, 1, "same");
}

/** The layers of one Inception block, by the branch names of pytorch-fid's modules. */
type Block = Record<string, Conv>;

function block(
  w: Weights,
  prefix: string,
  source: string,
  spec: Record<string, [number, "same" | "valid"]>,
): Block {
  const out: Block = {};
  for (const [name, [stride, pad]] of Object.entries(spec)) {
    out[name] = foldConv(w, `${prefix}.${name}`, source, stride, pad);
  }
  return out;
}

const S: [number, "same"] = [1, "same"];
const V2: [number, "valid"] = [2, "valid"];

/** Branch names (and stride, padding) of each block type. */
const SPECS = {
  A: {
    branch1x1: S,
    branch5x5_1: S,
    branch5x5_2: S,
    branch3x3dbl_1: S,
    branch3x3dbl_2: S,
    branch3x3dbl_3: S,
    branch_pool: S,
  },
  B: { branch3x3: V2, branch3x3dbl_1: S, branch3x3dbl_2: S, branch3x3dbl_3: V2 },
  C: {
    branch1x1: S,
    branch7x7_1: S,
    branch7x7_2: S,
    branch7x7_3: S,
    branch7x7dbl_1: S,
    branch7x7dbl_2: S,
    branch7x7dbl_3: S,
    branch7x7dbl_4: S,
    branch7x7dbl_5: S,
    branch_pool: S,
  },
  D: {
    branch3x3_1: S,
    branch3x3_2: V2,
    branch7x7x3_1: S,
    branch7x7x3_2: S,
    branch7x7x3_3: S,
    branch7x7x3_4: V2,
  },
  E: {
    branch1x1: S,
    branch3x3_1: S,
    branch3x3_2a: S,
    branch3x3_2b: S,
    branch3x3dbl_1: S,
    branch3x3dbl_2: S,
    branch3x3dbl_3a: S,
    branch3x3dbl_3b: S,
    branch_pool: S,
  },
} satisfies Record<string, Record<string, [number, "same" | "valid"]>>;

/** The stem convolutions: name, stride, padding (Conv2d_2b_3x3 pads by 1, the other 3×3 ones do not). */
const STEM: [string, number, "same" | "valid"][] = [
  ["Conv2d_1a_3x3", 2, "valid"],
  ["Conv2d_2a_3x3", 1, "valid"],
  ["Conv2d_2b_3x3", 1, "same"],
  ["Conv2d_3b_1x1", 1, "valid"],
  ["Conv2d_4a_3x3", 1, "valid"],
];

/** The mixed blocks in order, with their type. */
const MIXED: [string, keyof typeof SPECS][] = [
  ["Mixed_5b", "A"],
  ["Mixed_5c", "A"],
  ["Mixed_5d", "A"],
  ["Mixed_6a", "B"],
  ["Mixed_6b", "C"],
  ["Mixed_6c", "C"],
  ["Mixed_6d", "C"],
  ["Mixed_6e", "C"],
  ["Mixed_7a", "D"],
  ["Mixed_7b", "E"],
  ["Mixed_7c", "E"],
];

function forwardBlock(type: keyof typeof SPECS, b: Block, x: tf.Tensor4D, last: boolean): tf.Tensor4D {
  const c = (name: string, input: tf.Tensor4D) => conv(input, b[name]);
  switch (type) {
    case "A":
      return tf.concat([
        c("branch1x1", x),
        c("branch5x5_2", c("branch5x5_1", x)),
        c("branch3x3dbl_3", c("branch3x3dbl_2", c("branch3x3dbl_1", x))),
        c("branch_pool", pool3(x, "avg")),
      ], 3);
    case "B":
      return tf.concat([
        c("branch3x3", x),
        c("branch3x3dbl_3", c("branch3x3dbl_2", c("branch3x3dbl_1", x))),
        tf.maxPool(x, 3, 2, "valid"),
      ], 3);
    case "C": {
      let dbl = c("branch7x7dbl_1", x);
      for (const k of [2, 3, 4, 5]) dbl = c(`branch7x7dbl_${k}`, dbl);
      return tf.concat([
        c("branch1x1", x),
        c("branch7x7_3", c("branch7x7_2", c("branch7x7_1", x))),
        dbl,
        c("branch_pool", pool3(x, "avg")),
      ], 3);
    }
    case "D":
      return tf.concat([
        c("branch3x3_2", c("branch3x3_1", x)),
        c("branch7x7x3_4", c("branch7x7x3_3", c("branch7x7x3_2", c("branch7x7x3_1", x)))),
        tf.maxPool(x, 3, 2, "valid"),
      ], 3);
    case "E": {
      const b3 = c("branch3x3_1", x);
      const dbl = c("branch3x3dbl_2", c("branch3x3dbl_1", x));
      return tf.concat([
        c("branch1x1", x),
        c("branch3x3_2a", b3),
        c("branch3x3_2b", b3),
        c("branch3x3dbl_3a", dbl),
        c("branch3x3dbl_3b", dbl),
        // FIDInceptionE_1 (Mixed_7b) average-pools, FIDInceptionE_2 (Mixed_7c) max-pools.
        c("branch_pool", pool3(x, last ? "max" : "avg")),
      ], 3);
    }
  }
}

/** Options of {@link fidInceptionFromStateDict}. */
export interface InceptionOptions {
  /** The extractor's name; default {@link FID_INCEPTION} (only right for pytorch-fid's weights). */
  name?: string;
  /** Name of the weights' source for error messages; default `"state dict"`. */
  source?: string;
}

/**
 * Build the FID Inception extractor from a state dict in PyTorch layout (as `readPth` returns it; `fc.*`,
 * `num_batches_tracked` and other extra keys are ignored). The weights are uploaded to the current backend;
 * `dispose()` frees them.
 *
 * @throws Error naming the missing key if the state dict is not a pytorch-fid Inception.
 */
export function fidInceptionFromStateDict(
  weights: Weights,
  options: InceptionOptions = {},
): FeatureExtractor {
  const source = options.source ?? "state dict";
  const stem = STEM.map(([name, stride, pad]) => foldConv(weights, name, source, stride, pad));
  const blocks = MIXED.map(([name, type]) => block(weights, name, source, SPECS[type]));
  const lastBlock = blocks[blocks.length - 1];
  const e = lastBlock as Record<keyof typeof SPECS.E, Conv>;
  const dim = e.branch1x1.outChannels + e.branch3x3_2a.outChannels + e.branch3x3_2b.outChannels +
    e.branch3x3dbl_3a.outChannels + e.branch3x3dbl_3b.outChannels + e.branch_pool.outChannels;
  const name = options.name ?? FID_INCEPTION;
  return {
    name,
    dim,
    extract(images: tf.Tensor4D): tf.Tensor2D {
      return tf.tidy(() => {
        const rgb = toRgb(images);
        let x = rgb.shape[1] === INPUT_SIZE && rgb.shape[2] === INPUT_SIZE
          ? rgb
          : resizeBilinear(rgb, INPUT_SIZE, { alignCorners: false }); // [N, 299, 299, 3]
        x = conv(conv(conv(x, stem[0]), stem[1]), stem[2]); // [N, 147, 147, 64]
        x = tf.maxPool(x, 3, 2, "valid"); // [N, 73, 73, 64]
        x = conv(conv(x, stem[3]), stem[4]); // [N, 71, 71, 192]
        x = tf.maxPool(x, 3, 2, "valid"); // [N, 35, 35, 192]
        blocks.forEach((b, i) => (x = forwardBlock(MIXED[i][1], b, x, i === blocks.length - 1))); // [N, 8, 8, 2048]
        return tf.mean(x, [1, 2]) as tf.Tensor2D; // [N, 2048]
      });
    },
    dispose() {
      for (const c of [...stem, ...blocks.flatMap((b) => Object.values(b))]) tf.dispose([c.filter, c.bias]);
    },
  };
}

/**
 * Load pytorch-fid's Inception weights file. The extractor is named {@link FID_INCEPTION} only when the file's
 * SHA-256 starts with {@link FID_WEIGHTS_SHA256_PREFIX} (pytorch-fid's file); any other Inception-shaped
 * weights are named `inception-v3 (<file name>)`, so their distances are reported as `FD (…)`, not FID.
 */
export async function loadFidInception(path: string): Promise<FeatureExtractor> {
  const bytes = await readFileNamed(path);
  const official = (await sha256Hex(bytes)).startsWith(FID_WEIGHTS_SHA256_PREFIX);
  const weights = await readPth(bytes, { name: path });
  return fidInceptionFromStateDict(weights, {
    name: official ? FID_INCEPTION : `inception-v3 (${basename(path)})`,
    source: path,
  });
}
