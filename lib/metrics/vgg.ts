/**
 * VGG-16 fc2 features (4096-d) in tfjs from a torchvision state dict (`vgg16-397923af.pth` layout:
 * `features.N.weight/bias` for the 3×3 convolutions, `classifier.0/3/6` for the fully connected layers): the
 * feature space of Kynkäänniemi et al.'s precision, recall and realism score.
 *
 * Input: images in [-1, 1] → [0, 1] → bilinear resize to 224×224 (`align_corners=False`) → ImageNet
 * normalisation (mean 0.485/0.456/0.406, std 0.229/0.224/0.225), as torchvision's VGG expects. The
 * convolution stack is read from the keys (a 2×2 max-pool follows each group, where the torchvision layer
 * index skips the pool); the `[C, 7, 7]` flattening of PyTorch is reproduced by permuting `classifier.0`'s
 * columns at load time. Output: `classifier.4`, the second fully connected layer after its ReLU (Keras's
 * `fc2`; the official precision–recall code takes its 4096-d fc2 activations); `relu: false` gives the
 * pre-activation.
 *
 * Verified against a PyTorch re-implementation with random weights (16× narrower convolutions).
 *
 * @example
 * ```ts ignore
 * import { loadVgg16 } from "./vgg.ts";
 * const vgg = await loadVgg16("vgg16-397923af.pth");
 * const features = vgg.extract(images); // [N, 4096]; vgg.name === "vgg16-fc2"
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { HostTensor } from "../io/dtype.ts";
import { convWeightToHWIO, linearWeightToIO, permute } from "../io/layout.ts";
import { readPth } from "../io/pth.ts";
import { resizeBilinear } from "../tensor/upsample.ts";
import { type FeatureExtractor, toRgb } from "../models/features.ts";

const INPUT_SIZE = 224;
/** Spatial size after the last pool at 224×224 input (torchvision's adaptive pool is then the identity). */
const GRID = 7;
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** Options of {@link vggFromStateDict}. */
export interface VggOptions {
  /** Take fc2 after its ReLU (default true) or before. */
  relu?: boolean;
  /** The extractor's name; default `vgg16-fc2` (`vgg16-fc2-prerelu` with `relu: false`). */
  name?: string;
  /** Name of the weights' source for error messages; default `"state dict"`. */
  source?: string;
}

type Weights = Map<string, HostTensor>;

function need(w: Weights, key: string, source: string): HostTensor {
  const t = w.get(key);
  if (!t) throw new Error(`${source}: missing "${key}": not a torchvision VGG state dict`);
  if (!(t.data instanceof Float32Array)) throw new Error(`${source}: "${key}" must be float, got ${t.dtype}`);
  return t;
}

/**
 * Build the VGG fc2 extractor from a torchvision VGG state dict (PyTorch layout, as `readPth` returns it). The
 * weights are uploaded to the current backend; `dispose()` frees them.
 */
export function vggFromStateDict(weights: Weights, options: VggOptions = {}): FeatureExtractor {
  const source = options.source ?? "state dict";
  const relu = options.relu ?? true;
  const indices = [...weights.keys()]
    .map((k) => /^features\.(\d+)\.weight$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (indices.length === 0) {
    throw new Error(`${source}: no "features.N.weight" keys: not a torchvision VGG state dict`);
  }
  // torchvision numbers conv, ReLU, conv, ReLU, pool, …: a pool sits where the next conv is 3 indices on.
  const convs = indices.map((i, n) => {
    const w = need(weights, `features.${i}.weight`, source);
    const hwio = convWeightToHWIO(w, { name: `${source}: features.${i}.weight` });
    return {
      filter: tf.tensor4d(hwio.data as Float32Array, hwio.shape as [number, number, number, number]),
      bias: tf.tensor1d(need(weights, `features.${i}.bias`, source).data as Float32Array),
      poolAfter: n === indices.length - 1 || indices[n + 1] - i === 3,
      channels: w.shape[0],
    };
  });
  const channels = convs[convs.length - 1].channels;
  const fc1 = need(weights, "classifier.0.weight", source);
  if (fc1.shape.length !== 2 || fc1.shape[1] !== channels * GRID * GRID) {
    throw new Error(
      `${source}: classifier.0.weight is [${fc1.shape}], expected [*, ${channels * GRID * GRID}]`,
    );
  }
  // PyTorch flattens [C, 7, 7]; the NHWC map flattens [7, 7, C]: reorder fc1's inputs once.
  const fc1Cols = permute({ ...fc1, shape: [fc1.shape[0], channels, GRID, GRID] }, [2, 3, 1, 0]); // [7, 7, C, O]
  const w1 = tf.tensor2d(fc1Cols.data as Float32Array, [GRID * GRID * channels, fc1.shape[0]]);
  const b1 = tf.tensor1d(need(weights, "classifier.0.bias", source).data as Float32Array);
  const fc2 = linearWeightToIO(need(weights, "classifier.3.weight", source), {
    name: `${source}: classifier.3.weight`,
  });
  const w2 = tf.tensor2d(fc2.data as Float32Array, fc2.shape as [number, number]);
  const b2 = tf.tensor1d(need(weights, "classifier.3.bias", source).data as Float32Array);
  const mean = tf.tensor1d(IMAGENET_MEAN);
  const std = tf.tensor1d(IMAGENET_STD);
  return {
    name: options.name ?? (relu ? "vgg16-fc2" : "vgg16-fc2-prerelu"),
    dim: fc2.shape[1],
    extract(images: tf.Tensor4D): tf.Tensor2D {
      return tf.tidy(() => {
        const unit = tf.div(tf.add(toRgb(images), 1), 2) as tf.Tensor4D; // [N, H, W, 3] in [0, 1]
        const sized = unit.shape[1] === INPUT_SIZE && unit.shape[2] === INPUT_SIZE
          ? unit
          : resizeBilinear(unit, INPUT_SIZE, { alignCorners: false }); // [N, 224, 224, 3]
        let x = tf.div(tf.sub(sized, mean), std) as tf.Tensor4D;
        for (const c of convs) {
          x = tf.fused.conv2d({
            x,
            filter: c.filter,
            strides: 1,
            pad: "same",
            bias: c.bias,
            activation: "relu",
          });
          if (c.poolAfter) x = tf.maxPool(x, 2, 2, "valid");
        }
        const n = x.shape[0];
        if (x.shape[1] !== GRID || x.shape[2] !== GRID) {
          throw new Error(`VGG: Expected a ${GRID}×${GRID} map after the last pool, got [${x.shape}]`);
        }
        const flat = tf.reshape(x, [n, GRID * GRID * channels]) as tf.Tensor2D; // [N, 7·7·C], HWC order
        const h = tf.fused.matMul({ a: flat, b: w1, bias: b1, activation: "relu" }); // [N, 4096]
        return tf.fused.matMul({
          a: h,
          b: w2,
          bias: b2,
          activation: relu ? "relu" : "linear",
        }) as tf.Tensor2D;
      });
    },
    dispose() {
      tf.dispose([...convs.flatMap((c) => [c.filter, c.bias]), w1, b1, w2, b2, mean, std]);
    },
  };
}

/** Load a torchvision VGG-16 `.pth` state dict (see {@link vggFromStateDict}). */
export async function loadVgg16(
  path: string,
  options: Omit<VggOptions, "source"> = {},
): Promise<FeatureExtractor> {
  return vggFromStateDict(await readPth(path), { ...options, source: path });
}
