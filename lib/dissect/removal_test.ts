import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { latents, Rng } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { dissectLayer } from "./dissect_layer.ts";
import { conceptIoU, measureRemoval, rankRemovalUnits, removalCurves, unitsByScore } from "./removal.ts";
import {
  CHANNEL_CONCEPTS,
  channelLogits,
  channelSegmenter,
  knownGenerator,
  knownLabel,
} from "./test_util.ts";

await initBackend({ backend: "cpu" });

const HELDOUT = Array.from({ length: 24 }, (_, i) => 1000 + i);

/** `relu(z)` of every seed: the (constant) unit values of {@link knownGenerator}'s images. */
function unitValues(seeds: readonly number[]): number[][] {
  const z = latents(seeds, 4);
  const values = Array.from(z.dataSync());
  z.dispose();
  return seeds.map((_, i) => values.slice(i * 4, i * 4 + 4).map((v) => Math.max(0, v)));
}

/** knownGenerator's label of every held-out image with `units` set to `value` (0: ablated). */
function labels(units: readonly number[], value = 0): number[] {
  return unitValues(HELDOUT).map((u) => knownLabel(u.map((v, i) => (units.includes(i) ? value : v))));
}

const share = (ls: number[], k: number) => ls.filter((l) => l === k).length / ls.length;

Deno.test("measureRemoval: the concept left as more units are ablated, the others, the control, the ACE", async () => {
  const gen = await createGenerator(knownGenerator(), { engine: "tfjs" });
  let result!: Awaited<ReturnType<typeof measureRemoval>>;
  await assertNoLeak(async () => {
    result = await measureRemoval(gen, channelSegmenter, {
      layer: "feat",
      concept: "red",
      concepts: CHANNEL_CONCEPTS,
      ranking: [0, 2, 1, 3],
      counts: [0, 1, 2],
      values: 2,
      seeds: HELDOUT,
      controlSeed: 7,
      batch: 5,
      progress: false,
    });
  });
  const before = labels([]);
  assert.ok(share(before, 0) > 0 && share(before, 0) < 1, "some images are red, not all");
  assert.deepEqual([result.layer, result.units, result.unit_ids, result.samples], ["feat", 2, [0, 2], 24]);
  assert.equal(result.before, share(before, 0));
  // Unit 0 draws red: without it, no image is red.
  assert.equal(result.after, 0);
  assert.deepEqual(result.by_units, [
    { units: 0, fraction: share(before, 0) },
    { units: 1, fraction: 0 },
    { units: 2, fraction: 0 },
  ]);
  const after = labels([0, 2]);
  assert.deepEqual(Object.keys(result.others_before), ["green", "blue", "dark"]);
  assert.equal(result.others_before.dark, share(before, 3));
  assert.equal(result.others_after.blue, share(after, 2));
  const notRed = before.flatMap((l, i) => (l === 0 ? [] : [l !== after[i]]));
  assert.equal(result.others_relabelled, notRed.filter(Boolean).length / notRed.length);
  const random = new Rng(7).permutation(4).slice(0, 2);
  assert.deepEqual(result.random_control.unit_ids, random);
  assert.equal(result.random_control.after, share(labels(random), 0));
  // Both units at 2: every image red; both off: none. ACE = 1 exactly.
  assert.deepEqual(
    [result.ace.samples, result.ace.base, result.ace.ablated, result.ace.inserted, result.ace.ace],
    [24, share(before, 0), 0, 1, 1],
  );
  assert.deepEqual(JSON.parse(JSON.stringify(result)), result, "plain JSON data");

  // Without a count of 0 the unedited images are measured all the same.
  const options = {
    layer: "feat",
    concept: 0,
    concepts: CHANNEL_CONCEPTS,
    ranking: [1],
    counts: [1],
    values: 2,
    seeds: HELDOUT.slice(0, 6),
    controlSeed: 1,
    progress: false,
  };
  const only = await measureRemoval(gen, channelSegmenter, options);
  assert.equal(only.before, share(labels([]).slice(0, 6), 0));
  await assert.rejects(
    measureRemoval(gen, channelSegmenter, { ...options, ranking: [0, 1], counts: [0, 3] }),
    /counts: Expected integers in 0 … 2, got \[0,3\]/,
  );
  await gen.dispose();
});

Deno.test("rankRemovalUnits: IoU, single-unit ACE and the causal set all put the red unit first", async () => {
  const model = knownGenerator();
  const gen = await createGenerator(model, { engine: "tfjs" });
  // Constant unit maps: at q = 0.99 no unit fires; take the median (as causal_set_test.ts does).
  const dissection = await dissectLayer(gen, channelSegmenter, "feat", {
    samples: 24,
    quantile: 0.5,
    concepts: CHANNEL_CONCEPTS,
    progress: false,
  });
  const iou = conceptIoU(dissection, "red");
  const table = dissection.counts.iou();
  assert.deepEqual(iou, [0, 1, 2, 3].map((u) => table[u * 4]));
  assert.deepEqual(unitsByScore([0.1, 0.3, 0.3, 0]), [1, 2, 0, 3]);
  let rankings!: Awaited<ReturnType<typeof rankRemovalUnits>>;
  await assertNoLeak(async () => {
    rankings = await rankRemovalUnits(gen, channelSegmenter, channelLogits, {
      layer: "feat",
      concept: "red",
      concepts: CHANNEL_CONCEPTS,
      iou,
      values: 2,
      aceSeeds: Array.from({ length: 8 }, (_, i) => i),
      aceCandidates: 3,
      causalSeeds: Array.from({ length: 16 }, (_, i) => i),
      epochs: 10,
      batch: 8,
      progress: false,
    });
  });
  assert.deepEqual(rankings.iou, unitsByScore(iou));
  assert.equal(rankings.iou[0], 0);
  assert.deepEqual(
    [...rankings.ace].sort(),
    [...rankings.iou.slice(0, 3)].sort(),
    "ACE ranks the 3 best by IoU",
  );
  assert.equal(rankings.ace[0], 0);
  assert.deepEqual(rankings.aceOf.map((r) => r.unit), rankings.ace);
  assert.ok(rankings.aceOf[0].ace > rankings.aceOf[1].ace);
  assert.equal(rankings.causal[0], 0);
  assert.equal(rankings.alpha.length, 4);
  assert.ok(rankings.alpha.every((a) => a >= 0 && a <= 1));
  assert.equal(rankings.history.length, 10);
  assert.deepEqual(JSON.parse(JSON.stringify(rankings)), rankings, "plain JSON data");
  await gen.dispose();
});

Deno.test("removalCurves: the concept removed per ranking and count; before measured or given", async () => {
  const known = await createGenerator(knownGenerator(), { engine: "tfjs" });
  let curves!: Record<string, number[]>;
  await assertNoLeak(async () => {
    curves = await removalCurves(known, channelSegmenter, {
      layer: "feat",
      concept: "red",
      concepts: CHANNEL_CONCEPTS,
      rankings: { good: [0, 1, 2, 3], bad: [3, 2, 1, 0] },
      counts: [1, 2, 4],
      seeds: HELDOUT,
      batch: 7,
      progress: false,
    });
  });
  const before = share(labels([]), 0);
  const removed = (units: number[]) => before - share(labels(units), 0);
  assert.deepEqual(Object.keys(curves), ["good", "bad"]);
  assert.deepEqual(curves.good, [removed([0]), removed([0, 1]), removed([0, 1, 2, 3])]);
  assert.deepEqual(curves.bad, [removed([3]), removed([3, 2]), removed([0, 1, 2, 3])]);
  assert.equal(curves.good[0], before);
  const given = await removalCurves(known, channelSegmenter, {
    layer: "feat",
    concept: 0,
    concepts: CHANNEL_CONCEPTS,
    rankings: { good: [0] },
    counts: [1],
    seeds: HELDOUT,
    before: 0.5,
    progress: false,
  });
  assert.deepEqual(given, { good: [0.5] });
  await known.dispose();
});
