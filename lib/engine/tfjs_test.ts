import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { randomPggan } from "../models/pggan.ts";
import { ablate, type Edits, insert, rescale } from "./edits.ts";
import { TfjsGenerator } from "./tfjs.ts";

await initBackend({ backend: "cpu" });
const model = randomPggan([16, 16, 8, 8], { seed: 3, biasStd: 0.1 }); // 16x16 output
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

Deno.test("run: stage shapes and traces follow the description", () => {
  const before = tf.memory().numTensors;
  const gen = new TfjsGenerator(model);
  const z = tf.randomNormal([2, 16], 0, 1, "float32", 1) as tf.Tensor2D;
  const { output, traces } = gen.run(z, { trace: ["layer1", "layer2", "layer3", "layer6"] });
  assert.deepEqual(output.shape, [2, 16, 16, 3]);
  assert.deepEqual(traces.layer1.shape, [2, 4, 4, 16]);
  assert.deepEqual(traces.layer3.shape, [2, 8, 8, 8]);
  assert.deepEqual(traces.layer6.shape, [2, 16, 16, 8]);
  tf.dispose([z, output, ...Object.values(traces)]);
  gen.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("run: from/to split equals one full run", () => {
  const gen = new TfjsGenerator(model);
  const before = tf.memory().numTensors;
  const z = tf.randomNormal([2, 16], 0, 1, "float32", 2) as tf.Tensor2D;
  const full = gen.run(z);
  const head = gen.run(z, { to: "layer4" });
  const tail = gen.run(head.output, { from: "layer4" });
  assert.deepEqual(head.output.shape, [2, 8, 8, 8]);
  assert.ok(maxAbsDiff(full.output, tail.output) < 1e-6);
  const clamped = gen.run(z, { clamp: true });
  assert.ok(
    tf.tidy(() => tf.max(clamped.output).dataSync()[0] <= 1 && tf.min(clamped.output).dataSync()[0] >= -1),
  );
  tf.dispose([z, full.output, head.output, tail.output, clamped.output]);
  assert.equal(tf.memory().numTensors, before);
  gen.dispose();
});

Deno.test("edits: ablation zeroes units, insertion sets them, masks limit both, scale multiplies", () => {
  const gen = new TfjsGenerator(model);
  const before = tf.memory().numTensors;
  const z = tf.randomNormal([2, 16], 0, 1, "float32", 4) as tf.Tensor2D;
  const layer2 = (edits: Edits = {}) => {
    const { output, traces } = gen.run(z, { trace: ["layer2"], edits });
    output.dispose();
    return traces.layer2;
  };
  const plain = layer2();
  const ab = layer2({ layer2: ablate([1, 5], 16) });
  const units = tf.tidy(() => tf.unstack(ab, 3));
  assert.equal(tf.tidy(() => tf.max(tf.abs(units[1])).dataSync()[0]), 0);
  assert.equal(tf.tidy(() => tf.max(tf.abs(units[5])).dataSync()[0]), 0);
  const plain0 = tf.tidy(() => tf.unstack(plain, 3)[0]);
  assert.ok(maxAbsDiff(units[0], plain0) === 0);
  plain0.dispose();

  const mask = tf.tensor2d([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
  const ins = layer2({ layer2: insert([3], 16, 7.5, mask) });
  const unit = (x: tf.Tensor4D, u: number) =>
    tf.tidy(() => tf.reshape(tf.slice(x, [0, 0, 0, u], [2, 4, 4, 1]), [2, 4, 4]).arraySync() as number[][][]);
  const u3 = unit(ins, 3);
  const p3 = unit(plain, 3);
  assert.equal(u3[1][0][1], 7.5);
  assert.equal(u3[0][3][3], p3[0][3][3]);

  const sc = layer2({ layer2: rescale([0], 16, 0.5) });
  const ratio = tf.tidy(() =>
    tf.mean(tf.div(tf.slice(sc, [0, 0, 0, 0], [2, 4, 4, 1]), tf.slice(plain, [0, 0, 0, 0], [2, 4, 4, 1])))
      .dataSync()[0]
  );
  assert.ok(Math.abs(ratio - 0.5) < 1e-5);
  tf.dispose([z, plain, ab, ...units, mask, ins, sc]);
  assert.equal(tf.memory().numTensors, before);
  gen.dispose();
});

Deno.test("edits: gradient flows to a per-unit alpha variable", () => {
  const gen = new TfjsGenerator(model);
  const before = tf.memory().numTensors;
  const z = tf.randomNormal([2, 16], 0, 1, "float32", 5) as tf.Tensor2D;
  const alpha = tf.zeros([16]) as tf.Tensor1D;
  const meanImage = (a: tf.Tensor) =>
    tf.mean(gen.run(z, { edits: { layer2: { a: a as tf.Tensor1D, v: 0 } } }).output);
  const g = tf.grad(meanImage)(alpha);
  assert.deepEqual(g.shape, [16]);
  assert.ok(tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]) > 0);
  tf.dispose([z, alpha, g]);
  assert.equal(tf.memory().numTensors, before);
  gen.dispose();
});

Deno.test("run: bad stage names and shapes give clear errors", () => {
  const gen = new TfjsGenerator(model);
  const z = tf.zeros([1, 16]);
  assert.throws(() => gen.run(z, { trace: ["layer99"] }), /no stage "layer99".*layer1, layer2/);
  assert.throws(() => gen.run(tf.zeros([1, 15])), /latent z must be \[N, 16\], got \[1,15\]/);
  assert.throws(() => gen.run(z, { edits: { layer2: { a: [1, 2] } } }), /a has 2 values for 16 units/);
  assert.throws(() => ablate([16], 16), /unit 16 is out of range/);
  tf.dispose(z);
  gen.dispose();
});
