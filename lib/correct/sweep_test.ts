import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { randomPggan } from "../models/pggan.ts";
import { latents } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { evaluateGenerations, realReference } from "./evaluate.ts";
import { sequentialCorrection } from "./sequential.ts";
import { type CorrectionParams, runSweeps, sequentialMeasure, sweepMetrics, sweepPlan } from "./sweep.ts";
import { QUADRANTS } from "./test_util.ts";

await initBackend({ backend: "cpu" });

const MODEL = randomPggan([16, 16, 8], { seed: 7, biasStd: 0.2 }); // layer1, layer2 hidden; images 8x8
const BASE = { n: 0.25, lambda: 0.9, stop: 2 };

Deno.test("sweepPlan: n, then λ, then the stopping layer, each around the base; stops above maxStop dropped", () => {
  const plan = sweepPlan(BASE, { n: [0.1, 0.5], lambda: [0.5], stop: [1, 2, 3] }, { maxStop: 2 });
  assert.deepEqual(plan, [
    { param: "n", value: 0.1, params: { n: 0.1, lambda: 0.9, stop: 2 } },
    { param: "n", value: 0.5, params: { n: 0.5, lambda: 0.9, stop: 2 } },
    { param: "lambda", value: 0.5, params: { n: 0.25, lambda: 0.5, stop: 2 } },
    { param: "stop", value: 1, params: { n: 0.25, lambda: 0.9, stop: 1 } },
    { param: "stop", value: 2, params: { n: 0.25, lambda: 0.9, stop: 2 } },
  ]);
  assert.deepEqual(sweepPlan(BASE, { n: [], lambda: [], stop: [] }), []);
});

Deno.test("runSweeps: every point measured once, in order, as { value, ...measured }", async () => {
  const calls: CorrectionParams[] = [];
  const sweeps = await runSweeps(BASE, { n: [0.1], lambda: [0.5, 1], stop: [] }, (p) => {
    calls.push(p);
    return Promise.resolve({ fd: 10 * p.n + p.lambda, realism: p.stop });
  });
  assert.deepEqual(calls, [
    { n: 0.1, lambda: 0.9, stop: 2 },
    { n: 0.25, lambda: 0.5, stop: 2 },
    { n: 0.25, lambda: 1, stop: 2 },
  ]);
  assert.deepEqual(sweeps, {
    n: [{ value: 0.1, fd: 1.9, realism: 2 }],
    lambda: [{ value: 0.5, fd: 3, realism: 2 }, { value: 1, fd: 3.5, realism: 2 }],
    stop: [],
  });
  assert.deepEqual(Object.keys(sweeps.n[0]), ["value", "fd", "realism"]);
});

Deno.test("sequentialMeasure: Algorithm 1 then the metrics of the corrected generations; no tensor left", async () => {
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  // A stand-in artifact mask: the top-left quarter of every image.
  const masks = (images: tf.Tensor4D) =>
    tf.tidy(() => tf.pad(tf.ones([images.shape[0], 4, 4]), [[0, 0], [0, 4], [0, 4]]) as tf.Tensor3D);
  const fit = [0, 1, 2, 3, 4, 5];
  const seeds = Array.from({ length: 24 }, (_, i) => 100 + i);
  const mean = async (images: tf.Tensor4D) => {
    const m = tf.mean(images, [1, 2, 3]);
    const data = (await m.data()) as Float32Array;
    m.dispose();
    return data;
  };
  await assertNoLeak(async () => {
    // The real side: the generator's own images of other seeds.
    const sample = async (ix: readonly number[]) => {
      const z = latents(ix.map((i) => 50_000 + i), MODEL.zDim);
      return (await gen.run(z, { clamp: true }).finally(() => z.dispose())).output;
    };
    const realImages = await sample(Array.from({ length: 48 }, (_, i) => i));
    const real = await realReference(
      { sample: (ix) => tf.gather(realImages, [...ix]) as tf.Tensor4D },
      QUADRANTS,
      { count: 48, batch: 16 },
    );
    realImages.dispose();
    const evaluation = { seeds, extractor: QUADRANTS, real, extras: { mean }, progress: false };
    const measure = sequentialMeasure(gen, { fit, masks, ...evaluation });
    const point = await measure({ n: 0.25, lambda: 0.5, stop: 1 });
    // The same as correcting and evaluating by hand.
    const { edits } = await sequentialCorrection(gen, {
      seeds: fit,
      masks,
      n: 0.25,
      lambda: 0.5,
      stop: 1,
      progress: false,
    });
    assert.deepEqual(Object.keys(edits), ["layer1"]);
    assert.deepEqual(point, await evaluateGenerations(gen, seeds, { ...evaluation, edits }));
    assert.deepEqual(sweepMetrics(point), { fd: point.fd, realism: point.realism, mean: point.extras.mean });
    assert.deepEqual(Object.keys(sweepMetrics(point, [])), ["fd", "realism"]);

    const sweeps = await runSweeps(
      { n: 0.25, lambda: 0.5, stop: 2 },
      { n: [], lambda: [], stop: [1, 2, 3] },
      async (p) => sweepMetrics(await measure(p)),
      { maxStop: 2 },
    );
    assert.deepEqual(sweeps.stop.map((p) => p.value), [1, 2]);
    assert.deepEqual(sweeps.stop[0], { value: 1, ...sweepMetrics(point) });
    assert.ok(sweeps.stop[1].fd > 0 && Number.isFinite(sweeps.stop[1].realism));
    real.dispose();
  });
  await gen.dispose();
});
