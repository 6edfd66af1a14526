import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { randomPggan } from "../models/pggan.ts";
import { latents } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { averageCausalEffect, rankUnitsByAce } from "./ace.ts";
import { boxMask } from "./interventions.ts";
import { CHANNEL_CONCEPTS, channelSegmenter, knownGenerator, knownLabel } from "./test_util.ts";

await initBackend({ backend: "cpu" });

const SEEDS = Array.from({ length: 30 }, (_, i) => 50 + i);
const VALUES = [2, 2, 3, 3]; // insertion value per unit of the known generator's "feat"

/** relu(z) of every seed: the known generator's (spatially constant) unit values. */
function unitValues(seeds: number[]): number[][] {
  const z = latents(seeds, 4);
  const rows = z.arraySync() as number[][];
  z.dispose();
  return rows.map((row) => row.map((v) => Math.max(0, v)));
}

/**
 * Brute force: mean fraction of `concept` (0 or 1 per constant image) unedited, ablated and inserted, and the
 * standard error of the per-image ACE.
 */
function reference(units: number[], concept: number): [number, number, number, number] {
  const sums = [0, 0, 0];
  const differences: number[] = [];
  for (const values of unitValues(SEEDS)) {
    const ablated = values.map((v, u) => (units.includes(u) ? 0 : v));
    const inserted = values.map((v, u) => (units.includes(u) ? VALUES[u] : v));
    const present = [values, ablated, inserted].map((vs) => (knownLabel(vs) === concept ? 1 : 0));
    present.forEach((p, i) => sums[i] += p);
    differences.push(present[2] - present[1]);
  }
  const n = SEEDS.length;
  const mean = differences.reduce((a, b) => a + b, 0) / n;
  const variance = differences.reduce((a, d) => a + (d - mean) ** 2, 0) / (n - 1);
  return [sums[0] / n, sums[1] / n, sums[2] / n, Math.sqrt(variance / n)];
}

Deno.test("averageCausalEffect equals the brute-force effect on a generator with known units", async () => {
  const gen = await createGenerator(knownGenerator(), { engine: "tfjs" });
  let result!: Awaited<ReturnType<typeof averageCausalEffect>>;
  await assertNoLeak(async () => {
    result = await averageCausalEffect(gen, channelSegmenter, {
      layer: "feat",
      units: [0],
      concept: "red",
      concepts: CHANNEL_CONCEPTS,
      values: VALUES,
      samples: SEEDS,
      batch: 7,
      progress: false,
    });
  });
  const [base, ablated, inserted, stdErr] = reference([0], 0);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  close(result.base, base);
  close(result.ablated, ablated);
  close(result.inserted, inserted);
  close(result.ace, inserted - ablated);
  close(result.insertionEffect, inserted - base);
  close(result.ablationEffect, base - ablated);
  assert.equal(result.ablated, 0); // without unit 0 nothing is red
  assert.ok(result.ace > 0.5);
  assert.ok(Math.abs(result.aceStdErr - stdErr) < 1e-9);
  assert.equal(result.samples, 30);
  assert.equal(result.concept, "red");
  await gen.dispose();
});

Deno.test("averageCausalEffect: intervening on half of the map halves the ablation", async () => {
  const gen = await createGenerator(knownGenerator(), { engine: "tfjs" });
  const left = boxMask({ x0: 0, y0: 0, x1: 2, y1: 4 }, { image: 4, layer: 4 }); // columns 0-1 of 4
  const result = await averageCausalEffect(gen, channelSegmenter, {
    layer: "feat",
    units: [0],
    concept: 0,
    concepts: CHANNEL_CONCEPTS,
    values: VALUES,
    samples: SEEDS,
    region: left,
    progress: false,
  });
  const [base] = reference([0], 0);
  assert.ok(Math.abs(result.ablated - base / 2) < 1e-12);
  // Measured in the right half only, the ablation of the left half changes nothing.
  const right = tf.tensor2d([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1], [4, 4]);
  const inRight = await averageCausalEffect(gen, channelSegmenter, {
    layer: "feat",
    units: [0],
    concept: 0,
    concepts: CHANNEL_CONCEPTS,
    values: VALUES,
    samples: SEEDS,
    region: left,
    measureRegion: right,
    progress: false,
  });
  assert.ok(Math.abs(inRight.ablationEffect) < 1e-12);
  tf.dispose([left, right]);
  await gen.dispose();
});

Deno.test("rankUnitsByAce: unit 0 draws red; each unit's ACE equals brute force", async () => {
  const gen = await createGenerator(knownGenerator(), { engine: "tfjs" });
  const ranking = await rankUnitsByAce(gen, channelSegmenter, {
    layer: "feat",
    concept: "red",
    concepts: CHANNEL_CONCEPTS,
    values: VALUES,
    samples: SEEDS,
    batch: 10,
    progress: false,
  });
  assert.equal(ranking.length, 4);
  assert.deepEqual(ranking[0].units, [0]);
  for (const r of ranking) {
    const [, ablated, inserted] = reference(r.units, 0);
    assert.ok(Math.abs(r.ace - (inserted - ablated)) < 1e-12);
  }
  for (let i = 1; i < ranking.length; i++) assert.ok(ranking[i - 1].ace >= ranking[i].ace);
  await gen.dispose();
});

Deno.test("ACE on a random PGGAN: no leaks, fractions in range, clear errors", async () => {
  const gen = await createGenerator(randomPggan([16, 16, 8], { seed: 1 }), { engine: "tfjs" });
  await assertNoLeak(async () => {
    const ranking = await rankUnitsByAce(gen, channelSegmenter, {
      layer: "layer3",
      units: [0, 3],
      concept: "blue",
      concepts: CHANNEL_CONCEPTS,
      values: 4,
      samples: 4,
      progress: false,
    });
    for (const r of ranking) {
      for (const v of [r.base, r.ablated, r.inserted]) assert.ok(v >= 0 && v <= 1);
    }
  });
  await assert.rejects(
    averageCausalEffect(gen, channelSegmenter, {
      layer: "layer3",
      units: [9],
      concept: "blue",
      concepts: CHANNEL_CONCEPTS,
      values: 1,
      samples: 2,
      progress: false,
    }),
    /unit 9 is out of range for a layer of 8 units/,
  );
  await assert.rejects(
    rankUnitsByAce(gen, channelSegmenter, {
      layer: "layer3",
      concept: "cyan",
      concepts: CHANNEL_CONCEPTS,
      values: 1,
    }),
    /concept "cyan" is not one of red, green, blue, dark/,
  );
  await gen.dispose();
});
