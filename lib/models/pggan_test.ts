import { strict as assert } from "node:assert";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { TfjsGenerator } from "../engine/tfjs.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { convertCheckpoint, loadGenerator } from "./load.ts";
import { PGGAN_SIZES, pgganStageNames, randomPggan } from "./pggan.ts";

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

Deno.test("PGGAN: GAN Dissection's 256x256 shape has 14 layers, layer4 is 8x8x512", () => {
  const model = randomPggan(PGGAN_SIZES[256]);
  assert.equal(model.stages.length, 15);
  const layer4 = model.stages[3];
  assert.deepEqual([layer4.name, layer4.size, layer4.channels], ["layer4", 8, 512]);
  assert.deepEqual(model.stages.slice(-3).map((s) => [s.name, s.size, s.channels]), [
    ["layer13", 256, 32],
    ["layer14", 256, 32],
    ["output_256x256", 256, 3],
  ]);
});

Deno.test("PGGAN: clear errors for unknown architectures, wrong shapes and formats", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(loadGenerator(join(dir, "x.onnx")), /unknown checkpoint format ".onnx"/);
    const { writeSafetensors } = await import("../io/safetensors.ts");
    const odd = join(dir, "odd.safetensors");
    await writeSafetensors(odd, {
      "encoder.weight": { dtype: "F32", shape: [2], data: new Float32Array(2) },
    });
    await assert.rejects(
      loadGenerator(odd),
      /odd.safetensors: no known generator architecture.*encoder.weight/,
    );
    const bad = join(dir, "bad.safetensors");
    const w = (shape: number[]) => ({
      dtype: "F32" as const,
      shape,
      data: new Float32Array(shape.reduce((a, b) => a * b)),
    });
    await writeSafetensors(bad, {
      "layer1.conv.weight": w([8, 4, 4, 4]),
      "layer1.wscale.b": w([8]),
      "layer2.conv.weight": w([8, 8, 3, 3]),
      "layer2.wscale.b": w([7]),
      "output_4x4.conv.weight": w([3, 8, 1, 1]),
      "output_4x4.wscale.b": w([3]),
    });
    await assert.rejects(
      loadGenerator(bad),
      /bad.safetensors: .*"layer2.wscale.b" has shape \[7\], expected \[8\]/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
