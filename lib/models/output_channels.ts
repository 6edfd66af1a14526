/**
 * A generator whose image channels differ from a domain's, adapted without touching the original: GAN
 * Dissection's format always draws RGB, so a Fashion-MNIST PGGAN saved that way draws three (equal or nearly
 * equal) channels where the grey domain expects one.
 *
 * The output stage ends in a linear 1x1 convolution (no activation after it), so converting its output is
 * exact when folded into that convolution: grey = mean of R, G, B is the convolution with the mean of the three
 * output filters and the mean of the three biases; RGB from grey repeats the one filter three times. The result
 * is a new description (new output weights, the rest shared), as every edit in ganatomy is.
 *
 * @example
 * ```ts
 * import { strict as assert } from "node:assert";
 * import { randomPggan } from "./pggan.ts";
 * import { withOutputChannels } from "./output_channels.ts";
 * const rgb = randomPggan([16, 16, 8]);
 * const grey = withOutputChannels(rgb, 1);
 * assert.deepEqual([rgb.outputChannels, grey.outputChannels, grey.stages.at(-1)!.channels], [3, 1, 1]);
 * ```
 * @module
 */
import type { GeneratorDescription } from "./stages.ts";
import { validateDescription } from "./stages.ts";

/**
 * `model` drawing `channels` image channels (1 or 3): the mean of RGB for grey, grey repeated for RGB.
 * Returns `model` itself when it already draws `channels`; throws when its output stage does not end in a
 * linear convolution, or for other channel counts.
 */
export function withOutputChannels(model: GeneratorDescription, channels: number): GeneratorDescription {
  const from = model.outputChannels;
  if (from === channels) return model;
  if (!((from === 3 && channels === 1) || (from === 1 && channels === 3))) {
    throw new Error(
      `can convert a generator's output between 1 and 3 channels only, not ${from} → ${channels}`,
    );
  }
  const last = model.stages[model.stages.length - 1];
  const conv = last.ops[last.ops.length - 1];
  if (conv.kind !== "conv2d" || conv.activation !== undefined) {
    throw new Error(
      `${last.name}: the output stage does not end in a linear convolution; its channels cannot be folded`,
    );
  }
  const w = model.weights[conv.weight]; // [kh, kw, cin, from]
  const [kh, kw, cin] = w.shape;
  const out = new Float32Array(kh * kw * cin * channels); // [kh, kw, cin, channels]
  for (let i = 0; i < kh * kw * cin; i++) {
    if (channels === 1) out[i] = (w.data[3 * i] + w.data[3 * i + 1] + w.data[3 * i + 2]) / 3;
    else out.fill(w.data[i], 3 * i, 3 * i + 3);
  }
  const weights = { ...model.weights, [conv.weight]: { shape: [kh, kw, cin, channels], data: out } };
  if (conv.bias !== undefined) {
    const b = model.weights[conv.bias].data;
    weights[conv.bias] = {
      shape: [channels],
      data: channels === 1 ? Float32Array.of((b[0] + b[1] + b[2]) / 3) : Float32Array.of(b[0], b[0], b[0]),
    };
  }
  const adapted: GeneratorDescription = {
    ...model,
    weights,
    stages: [...model.stages.slice(0, -1), { ...last, channels }],
    outputChannels: channels,
  };
  validateDescription(adapted);
  return adapted;
}
