/**
 * The tfjs engine running the model descriptions of `lib/models/` end to end: PGGAN checkpoints against
 * PyTorch's outputs and traces (the fixtures of `tests/fixtures/pggan/`; `ort_test.ts` holds ONNX Runtime to
 * the same), converted checkpoints, and generators whose output channels were adapted.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { convertCheckpoint, loadGenerator } from "../models/load.ts";
import { withOutputChannels } from "../models/output_channels.ts";
import { pgganStageNames, randomPggan } from "../models/pggan.ts";
import type { GeneratorDescription } from "../models/stages.ts";
import { latents } from "../tensor/rng.ts";
import { TfjsGenerator } from "./tfjs.ts";

await initBackend({ backend: "cpu" });
const FIXTURES = join(import.meta.dirname!, "../../tests/fixtures/pggan");
const manifest: { name: string; sizes: number[]; resolution: number; trace: string[] }[] = JSON.parse(
  Deno.readTextFileSync(join(FIXTURES, "manifest.json")),
);

function tensorOf(file: Awaited<ReturnType<typeof readSafetensors>>, name: string): tf.Tensor {
  const t = file.tensors.get(name)!;
  return tf.tensor(t.data as Float32Array, t.shape);
}

/** max |a − b| relative to the largest |b| (the output's scale). */
function relError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / tf.max(tf.abs(b)).dataSync()[0]);
}

for (const c of manifest) {
  Deno.test(`PGGAN ${c.name}: outputs and traces match PyTorch`, async () => {
    const model = await loadGenerator(join(FIXTURES, `${c.name}.pth`));
    assert.equal(model.resolution, c.resolution);
    assert.deepEqual(model.stages.map((s) => s.name), pgganStageNames(c.sizes));
    const ref = await readSafetensors(join(FIXTURES, `${c.name}.ref.safetensors`));
    const gen = new TfjsGenerator(model);
    const before = tf.memory().numTensors;
    const z = tensorOf(ref, "z");
    const { output, traces } = gen.run(z, { trace: c.trace });
    const expected = tensorOf(ref, "images");
    assert.ok(relError(output, expected) <= 1e-4, `image error ${relError(output, expected)}`);
    for (const layer of c.trace) {
      const t = tensorOf(ref, layer);
      assert.ok(relError(traces[layer], t) <= 1e-4, `${layer} error ${relError(traces[layer], t)}`);
      t.dispose();
    }
    tf.dispose([z, output, expected, ...Object.values(traces)]);
    assert.equal(tf.memory().numTensors, before);
    gen.dispose();
  });
}

Deno.test("PGGAN: convert .pth → safetensors keeps the outputs and renames old keys", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "g.safetensors");
    const model = await convertCheckpoint(join(FIXTURES, "pggan32_legacy_old_keys.pth"), out);
    const file = await readSafetensors(out);
    assert.ok(file.tensors.has("layer1.conv.weight") && file.tensors.has("output_32x32.wscale.b"));
    assert.ok(!file.tensors.has("features.0.conv.weight"));
    const ref = await readSafetensors(join(FIXTURES, "pggan32_legacy_old_keys.ref.safetensors"));
    const gen = new TfjsGenerator(model);
    const z = tensorOf(ref, "z");
    const expected = tensorOf(ref, "images");
    const { output } = gen.run(z);
    assert.ok(relError(output, expected) <= 1e-4);
    tf.dispose([z, expected, output]);
    gen.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Images of `model` for `z` (weights freed before returning). */
function sample(model: GeneratorDescription, z: tf.Tensor): tf.Tensor {
  const gen = new TfjsGenerator(model);
  const out = gen.run(z).output;
  gen.dispose();
  return out;
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

Deno.test("withOutputChannels: RGB → grey is exactly the mean of the generator's three channels", () => {
  const rgb = randomPggan([16, 16, 8], { seed: 3, biasStd: 0.2 });
  const grey = withOutputChannels(rgb, 1);
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const z = latents([0, 1, 2], 16);
    const a = sample(rgb, z); // [3, 8, 8, 3]
    const b = sample(grey, z); // [3, 8, 8, 1]
    assert.deepEqual(b.shape, [3, 8, 8, 1]);
    assert.ok(maxDiff(tf.mean(a, 3, true), b) < 1e-5);
  });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(rgb.outputChannels, 3, "the original is unchanged");
});

Deno.test("withOutputChannels: grey → RGB repeats the channel", () => {
  const grey = withOutputChannels(randomPggan([16, 16, 8], { seed: 4, biasStd: 0.2 }), 1);
  const rgb = withOutputChannels(grey, 3);
  tf.tidy(() => {
    const z = latents([5], 16);
    const g = sample(grey, z);
    const c = sample(rgb, z);
    assert.ok(maxDiff(tf.tile(g, [1, 1, 1, 3]), c) < 1e-6);
  });
});
