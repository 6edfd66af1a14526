import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import type { UnitRecord, UnitsJson } from "./units_json.ts";
import { createGenerator } from "../engine/select.ts";
import { randomPggan } from "../models/pggan.ts";
import {
  bestIouByConcept,
  conceptBoxes,
  insertionFigure,
  insertionGrid,
  interpretableByConcept,
  interpretableCounts,
  layerComparisonFigure,
  outlineBoxes,
  pickTopUnits,
  removalCurvesFigure,
  removalFigure,
  removalGrid,
  topUnitStrips,
  unitClassFigure,
} from "./figures.ts";
import { gridLayout } from "../viz/grid.ts";
import { measureInsertion } from "./insertion.ts";
import { measureRemoval } from "./removal.ts";
import { CHANNEL_CONCEPTS, channelSegmenter, knownGenerator } from "./test_util.ts";

await initBackend({ backend: "cpu" });

/** A units.json over concepts sky, tree, door with the given (concept, iou, interpretable) per unit. */
function unitsJson(layer: string, specs: [string, number, boolean][]): UnitsJson {
  return {
    layer,
    concepts: ["sky", "tree", "door"],
    samples: 10,
    threshold: "quantile",
    quantile: 0.99,
    iou_threshold: 0.04,
    units: specs.map(([concept, iou, interpretable], unit): UnitRecord => ({
      unit,
      concept,
      iou,
      threshold: 1,
      interpretable,
      top_images: [unit, unit + 1, unit + 2],
      top_scores: [3, 2, 1],
    })),
  };
}

const LAYER = unitsJson("layer4", [
  ["tree", 0.2, true],
  ["sky", 0.05, true],
  ["tree", 0.1, true],
  ["door", 0.03, false],
  ["tree", 0.01, false],
]);

Deno.test("unitClassFigure: interpretable units per concept, most first, in the classes' colours", () => {
  assert.deepEqual(interpretableCounts(LAYER), [1, 2, 0]);
  const fig = unitClassFigure(LAYER);
  assert.deepEqual(fig.data[0].x, ["tree", "sky", "door"]);
  assert.deepEqual(fig.data[0].y, [2, 1, 0]);
  assert.deepEqual((fig.data[0].marker as { color: string[] }).color, [
    "rgb(0, 100, 0)",
    "rgb(135, 206, 250)",
    "rgb(128, 0, 128)",
  ]);
  assert.equal(fig.layout.title?.text, "layer4: 3 of 5 units interpretable (IoU > 0.04)");
  assert.equal(unitClassFigure(LAYER, { title: "T" }).layout.title?.text, "T");
  const bad = { ...LAYER, units: [{ ...LAYER.units[0], concept: "lake" }] };
  assert.throws(() => interpretableCounts(bad), /concept "lake" is not one of sky, tree, door/);
});

Deno.test("layerComparisonFigure: per layer, interpretable units and best IoU of every concept", () => {
  const other = unitsJson("layer6", [["sky", 0.3, true], ["sky", 0.2, true]]);
  assert.deepEqual(bestIouByConcept(LAYER), [0.05, 0.2, 0.03]);
  assert.deepEqual(bestIouByConcept(other), [0.3, 0, 0]);
  const fig = layerComparisonFigure([LAYER, other]);
  assert.equal(fig.data.length, 4); // two panels × two layers
  assert.deepEqual(fig.data.map((t) => t.y), [[1, 2, 0], [0.05, 0.2, 0.03], [2, 0, 0], [0.3, 0, 0]]);
  assert.deepEqual(fig.data[0].x, ["sky", "tree", "door"]);
  assert.equal(fig.data[2].name, "layer6 (2 units)");
  assert.equal(fig.data[3].yaxis, "y2");
  assert.equal(
    (fig.data[0].marker as { color: string }).color,
    (fig.data[1].marker as { color: string }).color,
  );
  assert.equal((fig.layout.shapes as { y0: number }[])[0].y0, 0.04); // the threshold line
  assert.throws(() => layerComparisonFigure([]), /at least one layer/);
  assert.throws(
    () => layerComparisonFigure([LAYER, { ...other, concepts: ["sky", "lake", "door"] }]),
    /layer6 has concepts/,
  );
});

Deno.test("pickTopUnits: concepts by interpretable count then best IoU; units by IoU", () => {
  const picked = pickTopUnits(LAYER, { concepts: 2, perConcept: 2 });
  assert.deepEqual(picked.map((u) => u.unit), [0, 2, 1]);
  // With no interpretable unit, concepts rank by their best IoU.
  const weak = unitsJson("l", [["sky", 0.01, false], ["door", 0.03, false], ["tree", 0.02, false]]);
  assert.deepEqual(pickTopUnits(weak, { concepts: 2, perConcept: 1 }).map((u) => u.concept), [
    "door",
    "tree",
  ]);
});

Deno.test("topUnitStrips: one row per unit, one column per top image, the unit's mask drawn", async () => {
  const gen = await createGenerator(randomPggan([16, 16, 8], { seed: 1 }), { engine: "tfjs" });
  const before = tf.memory().numTensors;
  // Threshold -Infinity: the whole image is inside the unit's mask and tinted; +Infinity: nothing is.
  const units = (first: number): UnitRecord[] => [
    { ...LAYER.units[0], unit: 3, threshold: first },
    { ...LAYER.units[1], unit: 5, threshold: Infinity },
  ];
  const strip = await topUnitStrips(gen, "layer2", units(-Infinity), { images: 2, scale: 1 });
  const plain = await topUnitStrips(gen, "layer2", units(Infinity), { images: 2, scale: 1 });
  assert.equal(tf.memory().numTensors, before);
  const layout = gridLayout(4, { height: 8, width: 8 }, {
    rows: 2,
    cols: 2,
    scale: 1,
    rowLabels: ["u3 tree 0.20", "u5 sky 0.05"],
    colLabels: ["top 1", "top 2"],
  });
  assert.equal(strip.width, layout.width);
  assert.equal(strip.height, layout.height);
  /** The pixels of cell i. */
  const cell = (image: typeof strip, i: number) => {
    const { x, y } = layout.cells[i];
    return Array.from(
      { length: 8 },
      (_, r) => image.data.slice(((y + r) * image.width + x) * 3, ((y + r) * image.width + x + 8) * 3),
    );
  };
  for (const i of [0, 1]) assert.notDeepEqual(cell(strip, i), cell(plain, i)); // row 0: tinted
  for (const i of [2, 3]) assert.deepEqual(cell(strip, i), cell(plain, i)); // row 1: untouched
  await assert.rejects(() => topUnitStrips(gen, "layer2", []), /at least one unit/);
  await assert.rejects(
    () => topUnitStrips(gen, "layer2", units(0).map((u) => ({ ...u, unit: 16 }))),
    /unit 16 is out of range for layer2's 16 units/,
  );
  await assert.rejects(() => topUnitStrips(gen, "layer9", units(0)), /no stage "layer9"/);
  await gen.dispose();
});

Deno.test("conceptBoxes: the box holding the most of a concept, per image", () => {
  const before = tf.memory().numTensors;
  // Two 8x8 images, concepts [a, b]; b fills rows 4..7, columns 4..7 of image 0 and nothing of image 1.
  const masks = tf.tidy(() => {
    const b = tf.buffer([2, 8, 8, 2]);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const inB = y >= 4 && x >= 4;
        b.set(inB ? 0 : 1, 0, y, x, 0);
        b.set(inB ? 1 : 0, 0, y, x, 1);
        b.set(1, 1, y, x, 0);
      }
    }
    return b.toTensor() as tf.Tensor4D;
  });
  const boxes = conceptBoxes(masks, 1, { size: 4, stride: 2 });
  assert.deepEqual(boxes[0], { box: { x0: 4, y0: 4, x1: 8, y1: 8 }, share: 1 });
  assert.deepEqual(boxes[1], { box: { x0: 0, y0: 0, x1: 4, y1: 4 }, share: 0 }); // ties: top-left
  assert.equal(conceptBoxes(masks, 1, { size: 2 })[0].box.x0, 4);
  assert.throws(() => conceptBoxes(masks, 2, { size: 4 }), /Expected an index in \[0, 2\), got 2/);
  assert.throws(() => conceptBoxes(masks, 0, { size: 9 }), /size ≤ 8/);
  const flat = tf.zeros([8, 8]) as unknown as tf.Tensor4D;
  assert.throws(() => conceptBoxes(flat, 0, { size: 2 }), /Expected \[N,H,W,C\]/);
  tf.dispose([masks, flat]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("outlineBoxes: one-pixel frames in their colours, clipped to the image", () => {
  const before = tf.memory().numTensors;
  const image = tf.fill([6, 6, 3], -1); // black
  const out = outlineBoxes(image, [
    { box: { x0: 1, y0: 1, x1: 4, y1: 4 }, color: [255, 0, 0] },
    { box: { x0: 4, y0: 4, x1: 9, y1: 9 }, color: [0, 255, 0] }, // partly outside
  ]);
  image.dispose();
  assert.equal(tf.memory().numTensors, before);
  const at = (x: number, y: number) => Array.from(out.data.subarray((y * 6 + x) * 3, (y * 6 + x) * 3 + 3));
  assert.deepEqual(at(1, 1), [255, 0, 0]);
  assert.deepEqual(at(3, 2), [255, 0, 0]);
  assert.deepEqual(at(2, 2), [0, 0, 0]); // inside the frame
  assert.deepEqual(at(4, 5), [0, 255, 0]);
  assert.deepEqual(at(5, 5), [0, 0, 0]); // the green frame's far sides are outside
  assert.equal(out.channels, 3);
});

Deno.test("removalGrid: one row per count, the concept's fraction per image; ablating more changes the images", async () => {
  const gen = await createGenerator(randomPggan([16, 16, 8], { seed: 2 }), { engine: "tfjs" });
  const before = tf.memory().numTensors;
  // Concept 0 ("bright") where the mean colour is positive.
  const bright = (images: tf.Tensor4D) =>
    tf.tidy(() => tf.cast(tf.lessEqual(tf.mean(images, 3), 0), "int32"));
  const options = {
    layer: "layer2",
    units: [0, 1, 2, 3, 4, 5, 6, 7],
    concept: "bright",
    concepts: ["bright", "dark"],
  };
  const { image, fractions } = await removalGrid(gen, bright, {
    ...options,
    seeds: [0, 1, 2],
    counts: [0, 8],
    scale: 1,
  });
  assert.equal(tf.memory().numTensors, before);
  const layout = gridLayout(6, { height: 8, width: 8 }, {
    rows: 2,
    cols: 3,
    rowLabels: ["original", "-8 units"],
    captions: Array(6).fill("bright 100.0%"),
    scale: 1,
  });
  assert.deepEqual([image.width, image.height], [layout.width, layout.height]);
  assert.equal(fractions.length, 2);
  for (const row of fractions) assert.ok(row.length === 3 && row.every((f) => f >= 0 && f <= 1));
  // Every unit of the layer ablated: the images, hence some fraction, differ from the unedited ones.
  assert.notDeepEqual(fractions[0], fractions[1]);
  await assert.rejects(
    () => removalGrid(gen, bright, { ...options, seeds: [0], counts: [9] }),
    /a count must be an integer in 0 … 8, got 9/,
  );
  await gen.dispose();
});

Deno.test("interpretableByConcept: the concepts with interpretable units, and how many", () => {
  assert.deepEqual(interpretableByConcept(LAYER), { sky: 1, tree: 2 });
});

const HELDOUT = [3000, 3001, 3002, 3003, 3004, 3005];

Deno.test("removalFigure: the grid of a measured removal, its random control last, labelled by seed", async () => {
  const gen = await createGenerator(knownGenerator(), { engine: "tfjs" });
  const common = { layer: "feat", concepts: CHANNEL_CONCEPTS, seeds: HELDOUT, progress: false };
  const removal = await measureRemoval(gen, channelSegmenter, {
    ...common,
    concept: "red",
    ranking: [0, 1, 2, 3],
    counts: [0, 1],
    values: 2,
    controlSeed: 5,
  });
  const before = tf.memory().numTensors;
  const seeds = HELDOUT.slice(0, 3);
  const { image, fractions } = await removalFigure(gen, channelSegmenter, removal, {
    concept: "red",
    concepts: CHANNEL_CONCEPTS,
    seeds,
    scale: 1,
  });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(fractions.length, 3); // original, -1 units, -1 random
  // Images are one colour: each fraction is 0 or 1; without unit 0 nothing is red.
  assert.ok(fractions[0].every((f) => f === 0 || f === 1));
  assert.deepEqual(fractions[1], [0, 0, 0]);
  const layout = gridLayout(9, { height: 4, width: 4 }, {
    rows: 3,
    cols: 3,
    rowLabels: ["original", "-1 units", "-1 random"],
    colLabels: seeds.map((s) => `seed ${s}`),
    captions: Array(9).fill("red 100.0%"),
    scale: 1,
  });
  assert.deepEqual([image.width, image.height], [layout.width, layout.height]);
  await gen.dispose();
});

Deno.test("insertionFigure: originals with every place's box, then the insertion in each place's box", async () => {
  const gen = await createGenerator(knownGenerator(), { engine: "tfjs" });
  const insertion = await measureInsertion(gen, channelSegmenter, {
    layer: "feat",
    concept: "red",
    concepts: CHANNEL_CONCEPTS,
    units: [0],
    values: 5,
    places: { on_green: "green", on_dark: "dark" },
    box: 2,
    seeds: HELDOUT,
    progress: false,
  });
  const before = tf.memory().numTensors;
  const seeds = HELDOUT.slice(0, 3);
  const options = { values: 5, concept: "red", concepts: CHANNEL_CONCEPTS, seeds, scale: 1 };
  const { image, fractions } = await insertionFigure(gen, channelSegmenter, insertion, options);
  assert.equal(tf.memory().numTensors, before);
  // Unit 0 at 5 makes every box red, wherever it is.
  assert.deepEqual(fractions, [[1, 1, 1], [1, 1, 1]]);
  const layout = gridLayout(9, { height: 4, width: 4 }, {
    rows: 3,
    cols: 3,
    rowLabels: ["original", "on green", "on dark"],
    captions: [...seeds.map((s) => `seed ${s}`), ...Array(6).fill("red 100.0%")],
    scale: 1,
  });
  assert.deepEqual([image.width, image.height], [layout.width, layout.height]);
  await assert.rejects(
    insertionGrid(gen, channelSegmenter, {
      ...options,
      layer: "feat",
      units: [0],
      places: [{ label: "here", boxes: [{ x0: 0, y0: 0, x1: 2, y1: 2 }], color: [255, 0, 0] }],
    }),
    /"here" has 1 boxes for 3 seeds/,
  );
  await gen.dispose();
});

Deno.test("removalCurvesFigure: one line per ranking, named, over the unit counts", () => {
  const fig = removalCurvesFigure({
    layer: "layer4",
    concept: "tree",
    counts: [1, 2, 4],
    removed: { causal: [0.1, 0.2, 0.3], iou: [0, 0.1, 0.2], other: [0, 0, 0.1] },
  });
  assert.deepEqual(fig.data.map((t) => t.name), ["causal set (optimised α)", "ranked by IoU", "other"]);
  assert.deepEqual(fig.data.map((t) => [t.x, t.y, t.mode]), [
    [[1, 2, 4], [0.1, 0.2, 0.3], "lines+markers"],
    [[1, 2, 4], [0, 0.1, 0.2], "lines+markers"],
    [[1, 2, 4], [0, 0, 0.1], "lines+markers"],
  ]);
  assert.equal(fig.layout.title?.text, "layer4: tree pixels removed on held-out samples vs units ablated");
});
