/**
 * Progressive GAN generators exactly as GAN Dissection's checkpoints define them (Karras et al. 2018, as
 * converted by Bau et al.; the reference is `netdissect/proggan.py`).
 *
 * z (dimension `sizes[0]`) is viewed as a 1x1 map. Each stage `layerK` is
 * PixelNorm (eps 1e-8) → [nearest 2x upsample on layers 3, 5, 7, …] → bias-free conv (layer1: 4x4, padding 3;
 * others 3x3, padding 1) → equalised-lr scale `gain / sqrt(fan_in)` with `gain = sqrt(2) / kernel_size` and
 * `fan_in = in_channels` → + bias (`wscale.b`) → LeakyReLU 0.2. The output stage `output_RxR` is PixelNorm → 1x1
 * conv → scale `1 / sqrt(in_channels)` → bias, unclamped (runs take `clamp: true` for consumers that need
 * [-1, 1]); it is RGB, or as many channels as its weight has (the project's grey Fashion-MNIST generator). Channel sizes come from the weights: `sizes = [z, 4x4, 8x8, 16x16, …]`.
 *
 * Scales are folded into the weights here, so a description's conv weights are ready to use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PGGAN_SIZES, randomPggan } from "./pggan.ts";
 * const model = randomPggan(PGGAN_SIZES[256]); // GAN Dissection's 256x256 shape: [512, 512, 512, 512, 256, 128, 64, 32]
 * assert.deepEqual([model.resolution, model.stages.at(-1)!.name], [256, "output_256x256"]);
 * ```
 * @module
 */
import { Rng } from "../tensor/rng.ts";
import type { GeneratorDescription, Stage, Weight } from "./stages.ts";
import { validateDescription } from "./stages.ts";

/** PGGAN weights by checkpoint key, in NHWC/HWIO layout (as the checkpoint readers return them). */
export type PgganWeights = Record<string, Weight>;

const LEAKY = { kind: "leaky_relu", alpha: 0.2 } as const;

/** Whether a set of keys looks like a PGGAN generator (new or old key names). */
export function isPgganKeys(keys: Iterable<string>): boolean {
  const set = new Set(keys);
  return (set.has("layer1.conv.weight") && set.has("layer1.wscale.b")) || set.has("features.0.conv.weight");
}

/**
 * Rename GAN Dissection's old keys (`features.N.*` → `layer{N+1}.*`, `output.*` → `output_RxR.*`); new keys
 * pass through unchanged.
 */
export function renameOldPgganKeys<T>(weights: Record<string, T>): Record<string, T> {
  if (!("features.0.conv.weight" in weights)) return weights;
  let count = 0;
  while (`features.${count}.conv.weight` in weights) count++;
  const resolution = 4 * 2 ** Math.floor((count - 1) / 2);
  const out: Record<string, T> = {};
  for (const [key, value] of Object.entries(weights)) {
    const m = key.match(/^features\.(\d+)\.(.*)$/);
    if (m) out[`layer${Number(m[1]) + 1}.${m[2]}`] = value;
    else if (key.startsWith("output.")) out[`output_${resolution}x${resolution}.${key.slice(7)}`] = value;
    else out[key] = value;
  }
  return out;
}

/** `[z, 4x4, 8x8, …]` channel sizes read from the conv weights (HWIO: in = shape[2], out = shape[3]). */
export function pgganSizes(weights: PgganWeights): number[] {
  const sizes: number[] = [];
  for (let i = 1;; i++) {
    const w = weights[`layer${i}.conv.weight`];
    if (!w) break;
    if (i === 1) sizes.push(w.shape[2]);
    if (i % 2 === 1) sizes.push(w.shape[3]);
  }
  if (sizes.length < 2) throw new Error("not a PGGAN generator: no layer1.conv.weight");
  return sizes;
}

/** Stage names of a PGGAN with these sizes: `layer1` … `layer{2(len-1)}`, `output_RxR`. */
export function pgganStageNames(sizes: number[]): string[] {
  const layers = 2 * (sizes.length - 1);
  const r = pgganResolution(sizes);
  return [...Array.from({ length: layers }, (_, i) => `layer${i + 1}`), `output_${r}x${r}`];
}

/** Output resolution of a PGGAN with these sizes: 4 · 2^(len − 2). */
export function pgganResolution(sizes: number[]): number {
  return 4 * 2 ** (sizes.length - 2);
}

function expectShape(weights: PgganWeights, key: string, shape: number[]): Weight {
  const w = weights[key];
  if (!w) throw new Error(`PGGAN checkpoint: "${key}" is missing`);
  if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`PGGAN checkpoint: "${key}" has shape [${w.shape}], expected [${shape}]`);
  }
  return w;
}

function scaled(w: Weight, factor: number): Weight {
  const data = new Float32Array(w.data.length);
  for (let i = 0; i < data.length; i++) data[i] = w.data[i] * factor;
  return { shape: [...w.shape], data };
}

/** Options of {@link pgganFromWeights}. */
export interface PgganOptions {
  /** Fold the equalised-lr scales into the weights (default true); false keeps them as op scales (training). */
  fold?: boolean;
}

/**
 * Build the stage description from PGGAN weights in HWIO layout (unscaled, as stored in checkpoints).
 * Old key names are accepted. Throws naming the key when a weight is missing or mis-shaped.
 */
export function pgganFromWeights(weights: PgganWeights, options: PgganOptions = {}): GeneratorDescription {
  const fold = options.fold ?? true;
  weights = renameOldPgganKeys(weights);
  const sizes = pgganSizes(weights);
  const names = pgganStageNames(sizes);
  const out: Record<string, Weight> = {};
  const stages: Stage[] = [];
  let size = 1;
  for (let i = 1; i < names.length; i++) {
    const name = names[i - 1];
    const first = i === 1;
    const k = first ? 4 : 3;
    const cin = first ? sizes[0] : sizes[Math.floor(i / 2)];
    const cout = sizes[Math.floor((i + 1) / 2)];
    const up = !first && i % 2 === 1;
    const w = expectShape(weights, `${name}.conv.weight`, [k, k, cin, cout]);
    const b = expectShape(weights, `${name}.wscale.b`, [cout]);
    const scale = Math.SQRT2 / k / Math.sqrt(cin);
    out[`${name}.conv.weight`] = fold ? scaled(w, scale) : w;
    out[`${name}.wscale.b`] = b;
    size = first ? 4 : up ? size * 2 : size;
    stages.push({
      name,
      channels: cout,
      size,
      ops: [
        ...(first ? [{ kind: "latent_to_map" } as const] : []),
        { kind: "pixel_norm", eps: 1e-8 },
        ...(up ? [{ kind: "upsample_nearest", factor: 2 } as const] : []),
        {
          kind: "conv2d",
          weight: `${name}.conv.weight`,
          bias: `${name}.wscale.b`,
          stride: 1,
          pad: first ? 3 : 1,
          ...(fold ? {} : { scale }),
          activation: LEAKY,
        },
      ],
    });
  }
  const outName = names[names.length - 1];
  const cin = sizes[sizes.length - 1];
  // RGB in GAN Dissection's checkpoints; the project's Fashion-MNIST generator has a grey output stage.
  const outChannels = weights[`${outName}.conv.weight`]?.shape[3] ?? 3;
  const w = expectShape(weights, `${outName}.conv.weight`, [1, 1, cin, outChannels]);
  out[`${outName}.conv.weight`] = fold ? scaled(w, 1 / Math.sqrt(cin)) : w;
  out[`${outName}.wscale.b`] = expectShape(weights, `${outName}.wscale.b`, [outChannels]);
  stages.push({
    name: outName,
    channels: outChannels,
    size,
    ops: [
      { kind: "pixel_norm", eps: 1e-8 },
      {
        kind: "conv2d",
        weight: `${outName}.conv.weight`,
        bias: `${outName}.wscale.b`,
        stride: 1,
        pad: 0,
        ...(fold ? {} : { scale: 1 / Math.sqrt(cin) }),
      },
    ],
  });
  const model: GeneratorDescription = {
    arch: "pggan",
    zDim: sizes[0],
    stages,
    weights: out,
    resolution: pgganResolution(sizes),
    outputChannels: outChannels,
  };
  validateDescription(model);
  return model;
}

/**
 * Unscaled PGGAN weights with standard-normal entries (as PGGAN initialises them), HWIO layout, from a seed.
 * Biases are zero unless `biasStd` is given.
 */
export function randomPgganWeights(
  sizes: number[],
  options: { seed?: number; biasStd?: number } = {},
): PgganWeights {
  const rng = new Rng(options.seed ?? 0);
  const names = pgganStageNames(sizes);
  const weights: PgganWeights = {};
  const normal = (shape: number[], std: number): Weight => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = std === 0 ? 0 : rng.normal() * std;
    return { shape, data };
  };
  for (let i = 1; i < names.length; i++) {
    const k = i === 1 ? 4 : 3;
    const cin = i === 1 ? sizes[0] : sizes[Math.floor(i / 2)];
    const cout = sizes[Math.floor((i + 1) / 2)];
    weights[`${names[i - 1]}.conv.weight`] = normal([k, k, cin, cout], 1);
    weights[`${names[i - 1]}.wscale.b`] = normal([cout], options.biasStd ?? 0);
  }
  const out = names[names.length - 1];
  weights[`${out}.conv.weight`] = normal([1, 1, sizes[sizes.length - 1], 3], 1);
  weights[`${out}.wscale.b`] = normal([3], options.biasStd ?? 0);
  return weights;
}

/** A PGGAN description with random weights (benchmarks, tests); `sizes = [z, 4x4, 8x8, …]`. */
export function randomPggan(
  sizes: number[],
  options: { seed?: number; biasStd?: number } = {},
): GeneratorDescription {
  return pgganFromWeights(randomPgganWeights(sizes, options));
}

/** GAN Dissection's channel sizes by resolution (`sizes[0]` is z). */
export const PGGAN_SIZES: Record<number, number[]> = {
  8: [512, 512, 512],
  16: [512, 512, 512, 512],
  32: [512, 512, 512, 512, 256],
  64: [512, 512, 512, 512, 256, 128],
  128: [512, 512, 512, 512, 256, 128, 64],
  256: [512, 512, 512, 512, 256, 128, 64, 32],
  1024: [512, 512, 512, 512, 512, 256, 128, 64, 32, 16],
};
