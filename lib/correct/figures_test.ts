import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { linearModel } from "../gradcam/test_util.ts";
import { imageGrid } from "../viz/grid.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { ablate } from "../engine/edits.ts";
import { createGenerator } from "../engine/select.ts";
import { randomPggan } from "../models/pggan.ts";
import { generateImages } from "./domain.ts";
import {
  camGrid,
  correctedGrid,
  defectiveScoreFigure,
  failureGrid,
  labelExtremes,
  labelGrid,
  sweepFigure,
} from "./figures.ts";

await initBackend({ backend: "cpu" });

const label = (seed: number, score: number) => ({
  seed,
  score,
  label: "skip" as const,
  source: `auto:x=${score}`,
});

const GEN = await createGenerator(randomPggan([16, 16, 8], { seed: 3 }), { engine: "tfjs" }); // 8x8 RGB

Deno.test("labelExtremes and labelGrid: the most and least flawed, two captioned rows", async () => {
  const labels = [label(0, 0.2), label(1, 0.9), label(2, 0), label(3, 0.5), label(4, 0.1)];
  const shown = labelExtremes(labels, 2);
  assert.deepEqual(shown.map((l) => l.seed), [1, 3, 4, 2]);
  await assertNoLeak(async () => {
    const grid = await labelGrid(GEN, labels, 2);
    const images = await generateImages(GEN, [1, 3, 4, 2]);
    const plain = imageGrid(images, { cols: 2, rowLabels: ["most flawed", "least flawed"], scale: 2 });
    assert.equal(grid.width, plain.width); // same layout; captions add height
    assert.ok(grid.height > plain.height);
    images.dispose();
  });
});

Deno.test("camGrid: image, CAM, mask and (with a truth) defect-map rows; no tensor left", async () => {
  // The linear model's CAM of class 0 is channel 0 of the image.
  const model = linearModel([[1, 0], [0, 1], [0, 0]], [0, 0]);
  await assertNoLeak(async () => {
    const three = await camGrid(model, GEN, [0, 1], { target: 0 });
    const four = await camGrid(model, GEN, [0, 1], {
      target: 0,
      method: "gradcam++",
      threshold: 0.2,
      truth: (x) => tf.ones([x.shape[0], 8, 8]) as tf.Tensor3D,
    });
    assert.ok(four.width >= three.width); // the label "defect map" may widen the label column
    assert.ok(four.height > three.height, "a fourth row");
    assert.equal(three.channels, 3);
  });
  model.dispose();
});

Deno.test("correctedGrid and failureGrid: one row per correction; originals over corrected, captioned", async () => {
  const gen = GEN;
  const edits = { layer2: ablate([0, 1, 2, 3], 16) };
  await assertNoLeak(async () => {
    const rows = await correctedGrid(gen, [0, 1, 2], {
      none: { edits: {} },
      ablated: { edits },
      again: { edits },
    });
    const images = await generateImages(gen, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const plain = imageGrid(images, { cols: 3, rowLabels: ["none", "ablated", "again"], scale: 2 });
    assert.deepEqual([rows.width, rows.height], [plain.width, plain.height]);
    const firstRow = plain.data.slice(0, plain.width * 3 * (2 + 16)); // the first row of images is unedited
    assert.deepEqual(rows.data.slice(0, firstRow.length), firstRow);
    images.dispose();
    const cases = [{ seed: 7, change: 0.5 }, { seed: 2, change: 0.25 }];
    const failures = await failureGrid(gen, cases, edits);
    const both = await generateImages(gen, [7, 2, 7, 2]);
    const uncaptioned = imageGrid(both, { cols: 2, rowLabels: ["original", "seq. corr."], scale: 2 });
    assert.equal(failures.width, uncaptioned.width);
    assert.ok(failures.height > uncaptioned.height, "captions under the images");
    both.dispose();
  });
});

Deno.test("defectiveScoreFigure and sweepFigure: one trace per layer, sorted; the sweep and its baseline", () => {
  const fig = defectiveScoreFigure({
    layer1: { ds1: [0.1, 0.3, 0.2], ds2: [1, 0, 0] },
    layer2: { ds1: [0], ds2: [0] },
  }, 1);
  assert.equal(fig.data.length, 2);
  assert.deepEqual(fig.data[0].y, [0.3, 0.2, 0.1]);
  assert.deepEqual(fig.data[0].x, [0, 1 / 3, 2 / 3]);
  assert.equal(fig.data[0].name, "layer1");
  assert.deepEqual(defectiveScoreFigure({ l: { ds1: [0], ds2: [0.5, 1] } }, 2).data[0].y, [1, 0.5]);
  const sweep = sweepFigure("stop", [{ value: 2, fd: 10 }, { value: 4, fd: 8 }], {
    metric: "FD (x)",
    uncorrected: 12,
  });
  assert.deepEqual(sweep.data.map((t) => t.y), [[10, 8], [12, 12]]);
  assert.deepEqual(sweep.data.map((t) => t.name), ["FD (x)", "FD (x), uncorrected"]);
  assert.match(JSON.stringify(sweep.layout), /stopping layer l/);
});
