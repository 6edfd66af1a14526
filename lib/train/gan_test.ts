import { strict as assert } from "node:assert";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { createDiscriminator, discriminate, disposeDiscriminator } from "../models/discriminator.ts";
import { pgganFromWeights, randomPgganWeights } from "../models/pggan.ts";
import { latents } from "../tensor/rng.ts";
import { createGanTrainer } from "./gan.ts";
import { registerComparisonGradients } from "./higher_order.ts";
import { readMetrics, stepRng, trainLoop } from "./loop.ts";

await initBackend({ backend: "cpu" });

Deno.test("R1: the gradient of the input-gradient norm matches finite differences", () => {
  registerComparisonGradients();
  const d = createDiscriminator({ resolution: 8, channels: 3, widths: [4], seed: 1 });
  try {
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, "float32", 7) as tf.Tensor4D;
    const r1 = () =>
      tf.tidy(() => {
        const g = tf.grad((xx: tf.Tensor) => tf.sum(discriminate(d, xx)))(x);
        return tf.mean(tf.sum(tf.square(g), [1, 2, 3])) as tf.Scalar;
      });
    // R1 is smooth in the weights between LeakyReLU's kinks; a central difference that crosses a kink is
    // wrong, so take the median of three step sizes (at most one of them crosses one here).
    for (const name of ["final.dense.weight", "from_rgb.weight", "block0.conv.weight", "final.conv.weight"]) {
      const v = d.params[name];
      const { grads } = tf.variableGrads(r1, [v]);
      const analytic = grads[v.name].dataSync()[0];
      const original = v.clone();
      const at = (delta: number) => {
        const moved = original.dataSync().slice();
        moved[0] += delta;
        v.assign(tf.tensor(moved, v.shape));
        return r1().dataSync()[0];
      };
      const estimates = [1e-3, 3e-4, 1e-4].map((eps) => (at(eps) - at(-eps)) / (2 * eps)).sort((a, b) =>
        a - b
      );
      const numeric = estimates[1];
      v.assign(original);
      tf.dispose([original, ...Object.values(grads)]);
      const ok = Math.abs(analytic - numeric) <= 2e-4 + 5e-2 * Math.abs(numeric);
      assert.ok(ok, `${name}: analytic ${analytic}, numeric ${estimates}`);
    }
    x.dispose();
  } finally {
    disposeDiscriminator(d);
  }
});

Deno.test("GAN trainer: steps run, losses are finite, a resumed run continues exactly", async () => {
  const dir = await Deno.makeTempDir();
  const build = () => {
    const g = pgganFromWeights(randomPgganWeights([8, 8, 8], { seed: 3 }), { fold: false }); // 8x8
    const d = createDiscriminator({ resolution: 8, channels: 3, widths: [8], seed: 4 });
    return createGanTrainer(g, d, { r1Every: 2 });
  };
  const real = (i: number) => {
    const rng = stepRng(5, i);
    return tf.tidy(() =>
      tf.tanh(tf.tensor4d(Float32Array.from({ length: 4 * 8 * 8 * 3 }, () => rng.normal()), [4, 8, 8, 3]))
    );
  };
  const run = async (gan: ReturnType<typeof build>, steps: number, sub: string) =>
    await trainLoop({
      dir: join(dir, sub),
      steps,
      parts: { params: gan.allParams(), optimizers: gan.optimizers },
      checkpointSeconds: 1e9,
      step: (i) => {
        const x = real(i);
        const z = latents([2 * i, 2 * i + 1, 100 + i, 200 + i, 300 + i, 400 + i, 500 + i, 600 + i], 8);
        const m = gan.step(x, z, i);
        tf.dispose([x, z]);
        return m;
      },
    });
  const start = tf.memory().numTensors;
  const a = build();
  await run(a, 4, "straight");
  const straight = await readMetrics(join(dir, "straight"));
  assert.equal(straight.length, 4);
  for (const m of straight) assert.ok(Number.isFinite(m.d_loss) && Number.isFinite(m.g_loss));
  assert.ok("r1" in straight[0] && !("r1" in straight[1]));
  // Optimiser slots are created on the first step; nothing else may accumulate.
  const afterFirst = tf.memory().numTensors;
  await run(a, 6, "straight");
  assert.equal(tf.memory().numTensors, afterFirst);

  a.dispose();
  const b = build();
  await run(b, 2, "resumed");
  b.dispose();
  const c = build(); // a fresh process rebuilds the same way, then loads the checkpoint
  await run(c, 4, "resumed");
  c.dispose();
  const resumed = await readMetrics(join(dir, "resumed"));
  assert.equal(resumed.length, 4);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(resumed[i].g_loss - straight[i].g_loss) < 1e-5, `step ${i}`);
  assert.equal(tf.memory().numTensors, start);
  await Deno.remove(dir, { recursive: true });
});
