import { strict as assert } from "node:assert";
import { withOutputChannels } from "./output_channels.ts";
import { randomPggan } from "./pggan.ts";
import type { GeneratorDescription } from "./stages.ts";

// Running the adapted generators (their images equal the mean, or the repeat, of the original's) is tested
// with the engine: lib/engine/tfjs_models_test.ts.

/** The output convolution's weight and bias of `model`. */
function outputConv(model: GeneratorDescription): { w: Float32Array; b: Float32Array; shape: number[] } {
  const last = model.stages[model.stages.length - 1];
  const conv = last.ops[last.ops.length - 1];
  if (conv.kind !== "conv2d" || conv.bias === undefined) throw new Error("expected a conv with a bias");
  const w = model.weights[conv.weight];
  return { w: w.data, b: model.weights[conv.bias].data, shape: w.shape };
}

Deno.test("RGB → grey folds in the mean of the three output filters and biases; the rest is shared", () => {
  const rgb = randomPggan([16, 16, 8], { seed: 3, biasStd: 0.2 });
  const grey = withOutputChannels(rgb, 1);
  const [a, g] = [outputConv(rgb), outputConv(grey)];
  assert.deepEqual(g.shape, [...a.shape.slice(0, 3), 1]);
  for (let i = 0; i < g.w.length; i++) {
    assert.equal(g.w[i], Math.fround((a.w[3 * i] + a.w[3 * i + 1] + a.w[3 * i + 2]) / 3));
  }
  assert.deepEqual([...g.b], [Math.fround((a.b[0] + a.b[1] + a.b[2]) / 3)]);
  assert.deepEqual([grey.outputChannels, grey.stages.at(-1)!.channels], [1, 1]);
  assert.equal(rgb.outputChannels, 3, "the original is unchanged");
  assert.equal(outputConv(rgb).shape[3], 3);
  assert.equal(grey.weights["layer1.conv.weight"], rgb.weights["layer1.conv.weight"], "the rest is shared");
});

Deno.test("grey → RGB repeats the filter; same channels return the model itself; others refuse", () => {
  const grey = withOutputChannels(randomPggan([16, 16, 8], { seed: 4, biasStd: 0.2 }), 1);
  const rgb = withOutputChannels(grey, 3);
  const [g, c] = [outputConv(grey), outputConv(rgb)];
  for (let i = 0; i < g.w.length; i++) {
    assert.deepEqual([...c.w.subarray(3 * i, 3 * i + 3)], [g.w[i], g.w[i], g.w[i]]);
  }
  assert.deepEqual([...c.b], [g.b[0], g.b[0], g.b[0]]);
  assert.equal(withOutputChannels(rgb, 3), rgb);
  assert.throws(() => withOutputChannels(rgb, 2), /between 1 and 3 channels only/);
});
