import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { randomPggan } from "../models/pggan.ts";
import { quantiles } from "../tensor/quantile.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { dissectLayer } from "./dissect_layer.ts";
import { iqrFractions, mutualInformation } from "./iqr.ts";
import { bruteCounts, CHANNEL_CONCEPTS, channelSegmenter, dissectionReference } from "./test_util.ts";
import { unitsByConcept } from "./unit_iou.ts";
import { toUnitsJson } from "./units_json.ts";

await initBackend({ backend: "cpu" });

const SIZES = [16, 16, 8]; // z 16, 4x4: 16 units, 8x8: 8 units; images 8x8
const MODEL = randomPggan(SIZES, { seed: 3, biasStd: 0.2 });
const LAYER = "layer2"; // 4x4, 16 units
const SEEDS = Array.from({ length: 12 }, (_, i) => 100 + i);

Deno.test("dissectLayer: quantile thresholds and IoU equal an exact reference computation", async () => {
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  const ref = dissectionReference(MODEL, LAYER, SEEDS);
  let result!: Awaited<ReturnType<typeof dissectLayer>>;
  await assertNoLeak(async () => {
    result = await dissectLayer(gen, channelSegmenter, LAYER, {
      samples: SEEDS,
      batch: 5,
      concepts: CHANNEL_CONCEPTS,
      topK: 3,
      progress: false,
    });
  });
  // 12 images x 16 positions = 192 values per unit: the sketch is still exact.
  assert.deepEqual(result.thresholds, ref.levels);
  const k = CHANNEL_CONCEPTS.length;
  const expected = bruteCounts(ref.up, ref.labels, ref.levels, k);
  assert.deepEqual(result.counts.intersection(), expected.intersection);
  assert.deepEqual(result.counts.unitArea(), expected.unitArea);
  const iou = result.counts.iou();
  for (const label of result.units) {
    const row = Array.from(iou.subarray(label.unit * k, (label.unit + 1) * k));
    assert.equal(label.iou, Math.max(...row));
    assert.equal(label.name, CHANNEL_CONCEPTS[row.indexOf(label.iou)]);
    assert.equal(label.interpretable, label.iou > 0.04);
  }
  // Top images: each unit's max activation per image, brute force.
  for (let u = 0; u < 16; u++) {
    const maxima = SEEDS.map((seed, n) => {
      let m = -Infinity;
      for (let p = 0; p < 16; p++) m = Math.max(m, ref.acts[(n * 16 + p) * 16 + u]);
      return { seed, m };
    }).sort((a, b) => b.m - a.m || a.seed - b.seed);
    const top = result.topk.result();
    assert.deepEqual(top.indices[u], maxima.slice(0, 3).map((e) => e.seed));
  }
  const byConcept = unitsByConcept(result);
  assert.equal(Object.values(byConcept).flat().length, result.units.filter((l) => l.interpretable).length);
  await gen.dispose();
});

Deno.test("dissectLayer: IQR thresholds equal a brute-force search over GAN Dissection's candidate levels", async () => {
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  const ref = dissectionReference(MODEL, LAYER, SEEDS);
  const result = await dissectLayer(gen, channelSegmenter, LAYER, {
    samples: SEEDS,
    batch: 6,
    concepts: CHANNEL_CONCEPTS,
    threshold: "iqr",
    progress: false,
  });
  const k = CHANNEL_CONCEPTS.length;
  const fractions = iqrFractions();
  const acts = tf.tensor2d(ref.acts, [SEEDS.length * 16, 16]);
  const candidates = quantiles(acts, fractions.map((f) => 1 - f)).arraySync() as number[][]; // [100, U], exact
  acts.dispose();
  const total = ref.labels.length;
  let checked = 0;
  for (let u = 0; u < 16; u++) {
    let best = { iqr: 0, level: NaN, concept: -1 };
    candidates.forEach((row, i) => {
      if (fractions[i] === 1 || !(row[u] > 0)) return;
      const levels = Array.from({ length: 16 }, (_, v) => (v === u ? row[u] : Infinity));
      const c = bruteCounts(ref.up, ref.labels, levels, k);
      for (let concept = 0; concept < k; concept++) {
        const truth = c.conceptArea[concept] / total;
        if (truth < 1e-3) continue;
        const both = c.intersection[u * k + concept] / total;
        const pred = c.unitArea[u] / total;
        const neither = 1 - truth - pred + both;
        if (!(both + neither > 0.8)) continue;
        const { mi, je } = mutualInformation([both, pred - both, truth - both, neither]);
        const iqr = je > 0 ? mi / je : 0;
        // Levels are visited from f = 10^-3 upwards (highest level first): among equal IQRs it wins, as in ours.
        if (iqr > best.iqr) best = { iqr, level: row[u], concept };
      }
    });
    const label = result.units[u];
    if (best.concept < 0) continue; // no qualifying level: the fallback, checked by the IoU below
    checked++;
    assert.ok(Math.abs((label.iqr ?? 0) - best.iqr) < 1e-12, `unit ${u}: iqr ${label.iqr} vs ${best.iqr}`);
    assert.equal(label.threshold, Math.fround(best.level));
    assert.equal(label.name, CHANNEL_CONCEPTS[best.concept]);
  }
  assert.ok(checked >= 4, `only ${checked} units had a qualifying level`);
  // The counts at the chosen thresholds equal the loops'.
  const expected = bruteCounts(ref.up, ref.labels, result.thresholds, k);
  assert.deepEqual(result.counts.intersection(), expected.intersection);
  assert.deepEqual(result.counts.unitArea(), expected.unitArea);
  await gen.dispose();
});

Deno.test("dissectLayer caches its passes", async () => {
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  const dir = await Deno.makeTempDir({ prefix: "ganatomy_dissect_" });
  let calls = 0;
  const counting = (images: tf.Tensor4D) => {
    calls++;
    return channelSegmenter(images);
  };
  try {
    const options = {
      samples: 6,
      batch: 3,
      concepts: CHANNEL_CONCEPTS,
      progress: false,
      cache: { dir, segmenter: "channels" },
    };
    const first = await dissectLayer(gen, counting, LAYER, options);
    assert.equal(calls, 2);
    const second = await dissectLayer(gen, counting, LAYER, options);
    assert.equal(calls, 2);
    assert.deepEqual(toUnitsJson(second), toUnitsJson(first));
    assert.equal([...Deno.readDirSync(dir)].length, 2); // summary and counts
  } finally {
    await Deno.remove(dir, { recursive: true });
    await gen.dispose();
  }
});

Deno.test("dissectLayer rejects bad input", async () => {
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  await assert.rejects(dissectLayer(gen, channelSegmenter, "layer9", { samples: 2 }), /no stage "layer9"/);
  const maskSegmenter = (images: tf.Tensor4D) => tf.cast(tf.greater(images, 0), "int32"); // [N, H, W, 3]
  await assert.rejects(
    dissectLayer(gen, maskSegmenter, LAYER, { samples: 2, concepts: CHANNEL_CONCEPTS, progress: false }),
    /segmentation: Expected labels \[2,H,W\] or masks \[2,H,W,4\], got \[2,8,8,3\]/,
  );
  const floatSegmenter = (images: tf.Tensor4D) => tf.mean(images, 3);
  await assert.rejects(
    dissectLayer(gen, floatSegmenter, LAYER, { samples: 2, concepts: CHANNEL_CONCEPTS, progress: false }),
    /segmentation: Expected int32 labels, got float32/,
  );
  await gen.dispose();
});
