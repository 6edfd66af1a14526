import { strict as assert } from "node:assert";
import { join } from "node:path";
import { loadGenerator } from "./load.ts";
import { PGGAN_SIZES, randomPggan } from "./pggan.ts";

// Loaded checkpoints against PyTorch's outputs (tests/fixtures/pggan/) need an engine to run them: see
// lib/engine/tfjs_models_test.ts and lib/engine/ort_test.ts.

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
