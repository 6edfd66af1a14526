import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { latents } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { dissectLayer } from "./dissect_layer.ts";
import { conceptInsertionValues, measureInsertion } from "./insertion.ts";
import { collectConceptMeans, insertionValues } from "./interventions.ts";
import { CHANNEL_CONCEPTS, channelSegmenter, knownGenerator, knownLabel } from "./test_util.ts";

await initBackend({ backend: "cpu" });

const HELDOUT = Array.from({ length: 24 }, (_, i) => 2000 + i);

/** knownGenerator's (constant) label of every held-out image. */
function labels(): number[] {
  const z = latents(HELDOUT, 4);
  const values = Array.from(z.dataSync());
  z.dispose();
  return HELDOUT.map((_, i) => knownLabel(values.slice(i * 4, i * 4 + 4).map((v) => Math.max(0, v))));
}

Deno.test("measureInsertion: red appears in a box wherever it is inserted, counted where the box was the place's concept", async () => {
  const gen = await createGenerator(knownGenerator(), { engine: "tfjs" });
  const before = labels();
  const count = (k: number) => before.filter((l) => l === k).length;
  assert.ok(count(0) > 0 && count(1) > 0, `red and green images among ${before}`);
  let result!: Awaited<ReturnType<typeof measureInsertion>>;
  await assertNoLeak(async () => {
    result = await measureInsertion(gen, channelSegmenter, {
      layer: "feat",
      concept: "red",
      concepts: CHANNEL_CONCEPTS,
      units: [0],
      values: [5, 0, 0, 0],
      places: { on_green: "green", on_dark: 3, on_blue: "blue", on_red: "red" },
      box: 2,
      seeds: HELDOUT,
      batch: 5,
      progress: false,
    });
  });
  assert.deepEqual([result.layer, result.units, result.box, result.min_share], ["feat", [0], 2, 0.5]);
  // Every image is one colour: the densest box is the top-left one, all or nothing of the place's concept.
  for (const [place, k] of [["on_green", 1], ["on_dark", 3], ["on_blue", 2], ["on_red", 0]] as const) {
    assert.deepEqual(
      result.boxes[place],
      before.map((l) => ({ box: { x0: 0, y0: 0, x1: 2, y1: 2 }, share: l === k ? 1 : 0 })),
    );
  }
  // Unit 0 at 5 makes the box red: green, blue and dark boxes gain all of it, red ones nothing; a place no
  // image's box is (mostly) made of has no number.
  const places = { on_green: 1, on_dark: 3, on_blue: 2, on_red: 0 };
  const expect = (k: number, v: number) => (count(k) ? v : null);
  assert.deepEqual(
    result.added,
    Object.fromEntries(Object.entries(places).map(([p, k]) => [p, expect(k, k === 0 ? 0 : 1)])),
  );
  assert.deepEqual(
    result.detail,
    Object.fromEntries(
      Object.entries(places).map((
        [p, k],
      ) => [p, { samples: count(k), before: expect(k, k === 0 ? 1 : 0), after: expect(k, 1) }]),
    ),
  );
  assert.deepEqual(JSON.parse(JSON.stringify(result)), result, "plain JSON data");

  const options = {
    layer: "feat",
    concept: "red",
    concepts: CHANNEL_CONCEPTS,
    units: [0],
    values: 5,
    places: { on_green: "green" },
    seeds: HELDOUT,
    progress: false,
  };
  // The first four images are green or red: no box is blue.
  const few = await measureInsertion(gen, channelSegmenter, {
    ...options,
    box: 2,
    places: { on_blue: "blue", on_green: "green" },
    seeds: HELDOUT.slice(0, 4),
  });
  assert.deepEqual(few.added, { on_blue: null, on_green: 1 });
  assert.deepEqual(few.detail.on_blue, { samples: 0, before: null, after: null });
  // A box of 3 pixels on a stride of 2 does not cover whole cells.
  await assert.rejects(
    measureInsertion(gen, channelSegmenter, { ...options, box: 3, stride: 2 }),
    /multiple of 2/,
  );
  await assert.rejects(
    measureInsertion(gen, channelSegmenter, { ...options, box: 2, places: { on_purple: "purple" } }),
    /concept "purple" is not one of red, green, blue, dark/,
  );
  await gen.dispose();
});

Deno.test("conceptInsertionValues: presence-weighted means, or the 99th percentiles of a concept never seen", async () => {
  const gen = await createGenerator(knownGenerator(), { engine: "tfjs" });
  const concepts = [...CHANNEL_CONCEPTS, "purple"]; // the segmenter never says purple
  const means = await collectConceptMeans(gen, channelSegmenter, "feat", {
    samples: 16,
    concepts: concepts.length,
    progress: false,
  });
  const { sketch } = await dissectLayer(gen, channelSegmenter, "feat", {
    samples: 16,
    concepts,
    progress: false,
  });
  const red = conceptInsertionValues({ means, sketch, concept: "red", concepts });
  assert.equal(red.kind, "presence-weighted mean");
  assert.deepEqual(red.values, means.mean(0));
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (line: string) => warnings.push(line);
  try {
    const purple = conceptInsertionValues({ means, sketch, concept: 4, concepts });
    assert.equal(purple.kind, "99th percentile");
    assert.deepEqual(purple.values, insertionValues({ sketch }));
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings, ["purple never appears in the images: inserting the units' 99th percentiles"]);
  await gen.dispose();
});
