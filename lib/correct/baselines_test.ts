import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { TfjsGenerator } from "../engine/tfjs.ts";
import { frechetDistance } from "../metrics/fid.ts";
import { randomPggan } from "../models/pggan.ts";
import { RunningMoments } from "../stats/moments.ts";
import { latents } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { QUADRANTS } from "./test_util.ts";
import { fidBasedScores, randomScores } from "./baselines.ts";
import { rankUnits } from "./defective_score.ts";

await initBackend({ backend: "cpu" });

const MODEL = randomPggan([16, 16, 8], { seed: 4, biasStd: 0.2 });
const quadrants = QUADRANTS;

Deno.test("randomScores: seeded and a permutation when ranked", () => {
  assert.deepEqual(Array.from(randomScores(8, { seed: 3 })), Array.from(randomScores(8, { seed: 3 })));
  assert.notDeepEqual(rankUnits(randomScores(8, { seed: 3 })), rankUnits(randomScores(8, { seed: 4 })));
  assert.deepEqual([...rankUnits(randomScores(8))].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("fidBasedScores: each unit's FD of its top images, checked against a direct computation", async () => {
  const seeds = Array.from({ length: 40 }, (_, i) => i);
  const real = new RunningMoments(12);
  const noise = tf.randomUniform([200, 8, 8, 3], -1, 1, "float32", 7) as tf.Tensor4D;
  const rf = quadrants.extract(noise);
  real.add(rf);
  tf.dispose([noise, rf]);
  const realStats = { mean: real.mean(), cov: real.covariance(), count: real.count };
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  await assertNoLeak(async () => {
    const scores = await fidBasedScores(gen, "layer2", {
      seeds,
      extractor: quadrants,
      real: realStats,
      topK: 15,
      batch: 9,
      progress: false,
    });
    assert.equal(scores.length, 16);
    // Unit 5 by hand: its 15 images of highest maximum activation.
    const g = new TfjsGenerator(MODEL);
    const z = latents(seeds, MODEL.zDim);
    const { output, traces } = g.run(z, { trace: ["layer2"], clamp: true });
    const peak = tf.tidy(() => tf.max(traces.layer2, [1, 2])); // [N, U]
    const p = peak.arraySync() as number[][];
    const top = seeds.map((_, i) => i).sort((a, b) => p[b][5] - p[a][5] || a - b).slice(0, 15);
    const f = quadrants.extract(output);
    const rows = f.arraySync() as number[][];
    const m = new RunningMoments(12);
    for (const i of top) m.add(Float64Array.from(rows[i]));
    const expected = frechetDistance(m, realStats, { warn: () => {} }).value;
    assert.ok(Math.abs(scores[5] - expected) < 1e-6 * Math.max(1, expected), `${scores[5]} vs ${expected}`);
    tf.dispose([z, output, traces.layer2, peak, f]);
    g.dispose();
  });
  await assert.rejects(
    () => fidBasedScores(gen, "layer2", { seeds: [1, 2], extractor: quadrants, real: realStats, topK: 5 }),
    /topK/,
  );
  await gen.dispose();
});
