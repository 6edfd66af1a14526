import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { TfjsGenerator } from "../engine/tfjs.ts";
import { randomPggan } from "../models/pggan.ts";
import { quantiles } from "../tensor/quantile.ts";
import { latents } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { resizeBilinear } from "../tensor/upsample.ts";
import { chooseIqrLevels, iqrFractions, LevelHistogram, mutualInformation } from "./iqr.ts";
import { toConceptMasks } from "./segmenter.ts";
import { CHANNEL_CONCEPTS, channelSegmenter } from "./test_util.ts";
import { dissectLayer, toUnitsJson, UnitConceptCounts, unitMasks, unitsByConcept } from "./unit_iou.ts";

await initBackend({ backend: "cpu" });

const SIZES = [16, 16, 8]; // z 16, 4x4: 16 units, 8x8: 8 units; images 8x8
const MODEL = randomPggan(SIZES, { seed: 3, biasStd: 0.2 });
const LAYER = "layer2"; // 4x4, 16 units
const SEEDS = Array.from({ length: 12 }, (_, i) => 100 + i);

/** The reference inputs, computed directly: upsampled activations [N·64, 16] and labels [N·64] in JS arrays. */
function reference(seeds: number[]) {
  const gen = new TfjsGenerator(MODEL);
  const z = latents(seeds, MODEL.zDim);
  const { output, traces } = gen.run(z, { trace: [LAYER], clamp: true });
  const labels = channelSegmenter(output);
  const up = resizeBilinear(traces[LAYER], [8, 8]);
  const result = {
    acts: traces[LAYER].dataSync().slice(),
    up: up.dataSync() as Float32Array,
    labels: labels.dataSync() as Int32Array,
    quantile99: quantiles(traces[LAYER], 0.99),
  };
  const levels = result.quantile99.dataSync() as Float32Array;
  tf.dispose([z, output, traces[LAYER], labels, up, result.quantile99]);
  gen.dispose();
  return { ...result, levels };
}

/** Brute-force counts by loops: intersection [U·K], unit area [U], concept area [K]. */
function bruteCounts(up: Float32Array, labels: Int32Array, levels: ArrayLike<number>, k: number) {
  const units = levels.length;
  const intersection = new Float64Array(units * k);
  const unitArea = new Float64Array(units);
  const conceptArea = new Float64Array(k);
  for (let p = 0; p < labels.length; p++) {
    conceptArea[labels[p]]++;
    for (let u = 0; u < units; u++) {
      if (up[p * units + u] > levels[u]) {
        unitArea[u]++;
        intersection[u * k + labels[p]]++;
      }
    }
  }
  return { intersection, unitArea, conceptArea };
}

Deno.test("UnitConceptCounts equals brute-force loops, and merges and round-trips", async () => {
  const ref = reference(SEEDS);
  const k = CHANNEL_CONCEPTS.length;
  const expected = bruteCounts(ref.up, ref.labels, ref.levels, k);
  const up = tf.tensor4d(ref.up, [SEEDS.length, 8, 8, 16]);
  const labels = tf.tensor3d(ref.labels, [SEEDS.length, 8, 8], "int32");
  const um = tf.tidy(() => tf.cast(tf.greater(up, tf.tensor1d(ref.levels)), "float32"));
  const cm = toConceptMasks(labels, k);
  const halves = [new UnitConceptCounts(16, k), new UnitConceptCounts(16, k)];
  await assertNoLeak(() => {
    for (const [i, half] of halves.entries()) {
      const part = (t: tf.Tensor) => tf.slice(t, [6 * i, 0, 0, 0], [6, -1, -1, -1]);
      const [a, b] = [part(um), part(cm)];
      half.add({ unitMasks: a, conceptMasks: b });
      tf.dispose([a, b]);
    }
  });
  halves[0].merge(halves[1]);
  const counts = UnitConceptCounts.fromJSON(JSON.parse(JSON.stringify(halves[0].toJSON())));
  assert.deepEqual(counts.intersection(), expected.intersection);
  assert.deepEqual(counts.unitArea(), expected.unitArea);
  assert.deepEqual(counts.conceptArea(), expected.conceptArea);
  assert.equal(counts.count, SEEDS.length * 64);
  const iou = counts.iou();
  for (let i = 0; i < iou.length; i++) {
    const u = Math.floor(i / k);
    const union = expected.unitArea[u] + expected.conceptArea[i % k] - expected.intersection[i];
    assert.equal(iou[i], union > 0 ? expected.intersection[i] / union : 0);
  }
  tf.dispose([up, labels, um, cm]);
});

Deno.test("dissectLayer: quantile thresholds and IoU equal an exact reference computation", async () => {
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  const ref = reference(SEEDS);
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
  const json = toUnitsJson(result, { topImages: 2 });
  assert.equal(json.units.length, 16);
  assert.deepEqual(Object.keys(json.units[0]), [
    "unit",
    "concept",
    "iou",
    "threshold",
    "interpretable",
    "top_images",
    "top_scores",
  ]);
  assert.equal(json.units[0].top_images.length, 2);
  assert.equal(json.samples, 12);
  const byConcept = unitsByConcept(result);
  assert.equal(Object.values(byConcept).flat().length, result.units.filter((l) => l.interpretable).length);
  await gen.dispose();
});

Deno.test("dissectLayer: IQR thresholds equal a brute-force search over GAN Dissection's candidate levels", async () => {
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  const ref = reference(SEEDS);
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

Deno.test("LevelHistogram round-trips and merges; chooseIqrLevels finds a planted detector", async () => {
  // One unit whose activation is 1 exactly on concept 0 pixels (half of them), else -1 … 0.5.
  const n = 400;
  const acts = new Float32Array(n);
  const masks = new Float32Array(n * 2);
  for (let p = 0; p < n; p++) {
    const inConcept = p % 4 === 0;
    acts[p] = inConcept ? 1 : (p % 7) / 4 - 1;
    masks[p * 2 + (inConcept ? 0 : 1)] = 1;
  }
  const levels = [[-0.5, 0, 0.25, 0.75, 0.9]];
  const a = new LevelHistogram(levels, 2);
  const b = new LevelHistogram(levels, 2);
  const t = (data: Float32Array, c: number, from: number, to: number) =>
    tf.tensor4d(data.slice(from * c, to * c), [1, 1, to - from, c]);
  const parts = [[t(acts, 1, 0, 200), t(masks, 2, 0, 200)], [t(acts, 1, 200, 400), t(masks, 2, 200, 400)]];
  await assertNoLeak(() => {
    a.add({ acts: parts[0][0], masks: parts[0][1] });
    b.add({ acts: parts[1][0], masks: parts[1][1] });
  });
  tf.dispose(parts.flat());
  a.merge(b);
  const copy = LevelHistogram.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
  assert.deepEqual(copy.toJSON(), a.toJSON());
  const { unitArea, intersection } = copy.unitCounts(0);
  assert.equal(unitArea[3], 100); // a > 0.75: exactly the concept-0 pixels
  assert.equal(intersection[3 * 2 + 0], 100);
  const [choice] = chooseIqrLevels(copy);
  assert.equal(choice.concept, 0);
  assert.ok(choice.level === 3 || choice.level === 4); // both separate perfectly
  assert.ok(Math.abs(choice.iqr - 1) < 1e-12); // a perfect detector: MI = JE
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

Deno.test("unitMasks and dissectLayer reject bad input", async () => {
  const acts = tf.zeros([1, 2, 2, 3]);
  assert.throws(() => unitMasks(acts, [0, 0], [4, 4]), /levels: Expected 3 thresholds, got 2/);
  const masks = unitMasks(acts, [0, -1, 0], [4, 4]);
  assert.deepEqual(masks.shape, [1, 4, 4, 3]);
  const areas = tf.sum(masks, [0, 1, 2]);
  assert.deepEqual(Array.from(areas.dataSync()), [0, 16, 0]);
  tf.dispose([acts, masks, areas]);
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
