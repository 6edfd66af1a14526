import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { TfjsGenerator } from "../engine/tfjs.ts";
import { randomPggan } from "../models/pggan.ts";
import { QuantileSketch } from "../stats/quantile_sketch.ts";
import { latents } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import {
  boxMask,
  collectConceptMeans,
  ConceptActivationMean,
  generateWithIntervention,
  insertionValues,
  interventionEdits,
} from "./interventions.ts";
import { CHANNEL_CONCEPTS, channelSegmenter, knownGenerator, knownLabel } from "./test_util.ts";

await initBackend({ backend: "cpu" });

const MODEL = randomPggan([16, 16, 8], { seed: 5 });

Deno.test("boxMask: fraction of each cell inside the box, or binary", () => {
  const soft = boxMask({ x0: 2, y0: 0, x1: 6, y1: 3 }, { image: 8, layer: 4 });
  assert.deepEqual(soft.arraySync(), [[0, 1, 1, 0], [0, 0.5, 0.5, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
  // With x0 = 1, the first column's cells are half inside on row 0 and a quarter on row 1.
  const hard = boxMask({ x0: 1, y0: 0, x1: 6, y1: 3 }, { image: [8, 8], layer: [4, 4] }, { binary: true });
  assert.deepEqual(hard.arraySync(), [[1, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
  tf.dispose([soft, hard]);
  assert.throws(() => boxMask({ x0: 3, y0: 0, x1: 3, y1: 2 }, { image: 8, layer: 4 }), /x0 < x1/);
});

Deno.test("ablation and insertion set the traced units, everywhere or in a region", async () => {
  const gen = new TfjsGenerator(MODEL);
  const z = latents([0, 1], MODEL.zDim);
  const region = boxMask({ x0: 0, y0: 0, x1: 4, y1: 8 }, { image: 8, layer: 4 }); // left half of layer2's 4x4
  const values = Float32Array.from({ length: 16 }, (_, u) => u / 10);
  await assertNoLeak(() => {
    const ablated = gen.run(z, {
      trace: ["layer2"],
      edits: interventionEdits(MODEL, { layer: "layer2", units: [3, 5], mode: "ablate" }),
    });
    const a = ablated.traces.layer2.arraySync() as number[][][][];
    assert.ok(a.every((img) => img.every((row) => row.every((px) => px[3] === 0 && px[5] === 0))));
    assert.ok(a[0][0][0][4] !== 0);
    const inserted = gen.run(z, {
      trace: ["layer2"],
      edits: interventionEdits(MODEL, { layer: "layer2", units: [7], mode: "insert", values, region }),
    });
    const base = gen.run(z, { trace: ["layer2"] });
    const b = inserted.traces.layer2.arraySync() as number[][][][];
    const orig = base.traces.layer2.arraySync() as number[][][][];
    for (let n = 0; n < 2; n++) {
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 4; x++) {
          assert.equal(b[n][y][x][7], x < 2 ? Math.fround(0.7) : orig[n][y][x][7]);
          assert.equal(b[n][y][x][6], orig[n][y][x][6]);
        }
      }
    }
    tf.dispose([
      ablated.output,
      ablated.traces.layer2,
      inserted.output,
      inserted.traces.layer2,
      base.output,
      base.traces.layer2,
    ]);
  });
  assert.throws(
    () => interventionEdits(MODEL, { layer: "layer2", units: [1], mode: "insert", values: [1, 2] }),
    /Expected 16 values \(one per unit of layer2\), got 2/,
  );
  assert.throws(
    () => interventionEdits(MODEL, { layer: "layer2", units: [16], mode: "ablate" }),
    /unit 16 is out of range/,
  );
  assert.throws(
    () => interventionEdits(MODEL, { layer: "nope", units: [1], mode: "ablate" }),
    /no stage "nope"/,
  );
  assert.throws(
    () => interventionEdits(MODEL, { layer: "layer2", units: [1], mode: "insert" }),
    /Expected values/,
  );
  tf.dispose([z, region]);
  gen.dispose();
});

Deno.test("generateWithIntervention equals a run with the edits", async () => {
  const runner = await createGenerator(MODEL, { engine: "tfjs" });
  const gen = new TfjsGenerator(MODEL);
  const intervention = { layer: "layer3", units: [0, 2], mode: "insert" as const, values: 2 };
  await assertNoLeak(async () => {
    const images = await generateWithIntervention(runner, [4, 5], intervention);
    const z = latents([4, 5], MODEL.zDim);
    const { output } = gen.run(z, { edits: interventionEdits(MODEL, intervention), clamp: true });
    assert.deepEqual(images.dataSync(), output.dataSync());
    tf.dispose([images, z, output]);
  });
  gen.dispose();
  await runner.dispose();
});

Deno.test("ConceptActivationMean equals a brute-force presence-weighted mean; merges and round-trips", async () => {
  // acts [2, 2, 2, 3], masks [2, 4, 4, 2]: each feature cell covers 2x2 mask pixels.
  const acts = Float32Array.from({ length: 24 }, (_, i) => ((i * 7) % 11) - 3);
  const masks = Float32Array.from({ length: 64 }, (_, i) => ((i * 5) % 3 === 0 ? 1 : 0));
  const expected = [0, 1].map((k) => {
    const sums = [0, 0, 0];
    let weight = 0;
    for (let n = 0; n < 2; n++) {
      for (let y = 0; y < 2; y++) {
        for (let x = 0; x < 2; x++) {
          let p = 0;
          for (let dy = 0; dy < 2; dy++) {
            for (let dx = 0; dx < 2; dx++) p += masks[((n * 4 + 2 * y + dy) * 4 + 2 * x + dx) * 2 + k] / 4;
          }
          weight += p;
          for (let u = 0; u < 3; u++) sums[u] += p * acts[((n * 2 + y) * 2 + x) * 3 + u];
        }
      }
    }
    return sums.map((s) => s / weight);
  });
  const a = tf.tensor4d(acts, [2, 2, 2, 3]);
  const m = tf.tensor4d(masks, [2, 4, 4, 2]);
  const halves = [new ConceptActivationMean(3, 2), new ConceptActivationMean(3, 2)];
  await assertNoLeak(() => {
    for (const [i, half] of halves.entries()) {
      const [pa, pm] = [
        tf.slice(a, [i, 0, 0, 0], [1, -1, -1, -1]),
        tf.slice(m, [i, 0, 0, 0], [1, -1, -1, -1]),
      ];
      half.add({ acts: pa, masks: pm });
      tf.dispose([pa, pm]);
    }
  });
  halves[0].merge(halves[1]);
  const stat = ConceptActivationMean.fromJSON(JSON.parse(JSON.stringify(halves[0].toJSON())));
  for (const k of [0, 1]) {
    Array.from(stat.mean(k)).forEach((v, u) =>
      assert.ok(Math.abs(v - expected[k][u]) < 1e-5, `${v} vs ${expected[k][u]}`)
    );
  }
  assert.equal(stat.count, 8); // feature-map positions
  const odd = tf.zeros([2, 3, 3, 2]);
  assert.throws(() => stat.add({ acts: a, masks: odd }), /multiple of the layer's 2x2, got 3x3/);
  const never = new ConceptActivationMean(3, 2);
  assert.throws(() => never.mean(0), /never present/);
  tf.dispose([a, m, odd]);
});

Deno.test("collectConceptMeans on the known generator: the mean of relu(z) over images of the concept", async () => {
  const model = knownGenerator();
  const gen = await createGenerator(model, { engine: "tfjs" });
  const seeds = Array.from({ length: 40 }, (_, i) => i);
  let means!: ConceptActivationMean;
  await assertNoLeak(async () => {
    means = await collectConceptMeans(gen, channelSegmenter, "feat", {
      samples: seeds,
      batch: 16,
      concepts: 4,
      progress: false,
    });
  });
  // Reference: images are constant; unit i is relu(z_i); the label follows the output formula.
  const z = latents(seeds, 4);
  const zs = z.arraySync() as number[][];
  z.dispose();
  const sums = [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
  const counts = [0, 0, 0, 0];
  for (const zi of zs) {
    const unit = zi.map((v) => Math.max(0, v));
    const label = knownLabel(unit);
    counts[label]++;
    unit.forEach((v, u) => sums[label][u] += v);
  }
  for (let k = 0; k < 4; k++) {
    if (counts[k] === 0) continue;
    Array.from(means.mean(k)).forEach((v, u) => assert.ok(Math.abs(v - sums[k][u] / counts[k]) < 1e-5));
    assert.deepEqual(
      insertionValues({ means, concept: CHANNEL_CONCEPTS[k], concepts: CHANNEL_CONCEPTS }),
      means.mean(k),
    );
  }
  const sketch = new QuantileSketch(4);
  sketch.add(new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]));
  assert.deepEqual(insertionValues({ sketch, quantile: 1 }), new Float32Array([4, 5, 6, 7]));
  await gen.dispose();
});
