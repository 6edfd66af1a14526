/**
 * The shipped helper models match their model cards: the weights' sha256 is the card's, the config is the
 * card's, and the held-out numbers of the card come out again (within sampling noise) on a small fresh sample
 * that the card's evaluation did not use.
 *
 * - `scenes_segmenter`: pixel accuracy on 256 held-out scenes within 0.01 of the card.
 * - `fashion_net`: accuracy on 500 random test images within 0.02.
 * - `scenes_net`: mean attribute accuracy on 500 fresh held-out scenes within 0.02, mean F1 within 0.03.
 * - the generators: FD, precision and recall of `spot_check.size` fresh generations (seeds the card did not use)
 *   against as many real images the card did not use, within 4 standard deviations of the card's spot checks
 *   (`deno task card:gan`: the same measures on disjoint sets of its samples).
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/backend/backend.ts";
import { evaluateGenerations, loadDomain, realReference } from "../lib/correct/mod.ts";
import { SCENES_HELDOUT_OFFSET } from "../lib/data/source.ts";
import { disposeClassifier, features, loadClassifier } from "../lib/models/classifier.ts";
import { labelledData } from "../lib/models/classifier_data.ts";
import { evaluateClassifier } from "../lib/models/classifier_eval.ts";
import { disposeSegmenter, evaluateSegmenter, loadSegmenter } from "../lib/models/segmenter.ts";
import { Rng } from "../lib/tensor/rng.ts";
import { fashionMnist, optionalTest } from "./optional.ts";

const MODELS = join(import.meta.dirname!, "..", "data", "models");
/** Fresh held-out samples start here: the cards score the first few thousand held-out scenes. */
const FRESH = 500_000;

await initBackend({ backend: "wasm" });

interface Card {
  architecture: { config: Record<string, unknown> };
  weights: { file: string; sha256: string };
  metrics: Record<string, number>;
}

async function card(name: string): Promise<{ card: Card; weights: string }> {
  const card: Card = JSON.parse(await Deno.readTextFile(join(MODELS, `${name}.json`)));
  const weights = join(MODELS, card.weights.file);
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(weights));
  const sha = Array.from(new Uint8Array(digest)).map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(sha, card.weights.sha256, `${weights}: sha256 differs from the card's`);
  return { card, weights };
}

function within(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: ${actual.toFixed(4)} on a fresh sample, the card says ${
      expected.toFixed(4)
    } (tolerance ${tol})`,
  );
}

Deno.test("scenes_segmenter: card's pixel accuracy on 256 fresh held-out scenes", async () => {
  const { card: c, weights } = await card("scenes_segmenter");
  const model = await loadSegmenter(weights);
  assert.deepEqual(model.config, c.architecture.config);
  const seeds = Array.from({ length: 256 }, (_, i) => SCENES_HELDOUT_OFFSET + FRESH + i);
  const m = await evaluateSegmenter(model, seeds);
  disposeSegmenter(model);
  within(m.pixelAccuracy, c.metrics.pixel_accuracy, 0.01, "pixel accuracy");
  assert.ok(m.pixelAccuracy >= 0.9, `pixel accuracy ${m.pixelAccuracy}`);
});

optionalTest(
  "fashion_net: card's accuracy on 500 random test images; features [N, D]",
  fashionMnist(),
  async () => {
    const { card: c, weights } = await card("fashion_net");
    const model = await loadClassifier(weights);
    assert.deepEqual(model.config, c.architecture.config);
    const data = await labelledData("fashion", { split: "test" });
    const indices = new Rng(1).permutation(data.size).slice(0, 500);
    const m = await evaluateClassifier(model, { data, indices });
    within(m.accuracy, c.metrics.accuracy, 0.02, "accuracy");
    const { images, targets } = data.batch(indices.slice(0, 4));
    const f = features(model, images);
    assert.deepEqual(f.shape, [4, model.config.widths.at(-1)]);
    tf.dispose([images, targets, f]);
    disposeClassifier(model);
  },
);

Deno.test("scenes_net: card's attribute accuracy and F1 on 500 fresh held-out scenes", async () => {
  const { card: c, weights } = await card("scenes_net");
  const model = await loadClassifier(weights);
  assert.deepEqual(model.config, c.architecture.config);
  const data = await labelledData("scenes", { split: "test" });
  const indices = Array.from({ length: 500 }, (_, i) => FRESH + i);
  const m = await evaluateClassifier(model, { data, indices });
  disposeClassifier(model);
  within(m.accuracy, c.metrics.accuracy, 0.02, "mean attribute accuracy");
  within(m.meanF1!, c.metrics.meanF1, 0.03, "mean attribute F1");
});

interface GanEvaluation {
  weights_sha256: string;
  samples: number;
  fd: number;
  grid: string;
  spot_check: {
    size: number;
    repeats: number;
    fd: { mean: number; std: number };
    precision: { mean: number; std: number };
    recall: { mean: number; std: number };
  };
}

for (const [name, domainName] of [["scenes_pggan64", "scenes"], ["fashion_pggan32", "fashion"]]) {
  // The generators' real images: the scenes are drawn on the fly, Fashion-MNIST is Debian's.
  const test = domainName === "fashion"
    ? (n: string, fn: () => Promise<void>) => optionalTest(n, fashionMnist(), fn)
    : Deno.test;
  test(`${name}: the card's evaluation is of these weights, and holds on fresh samples`, async () => {
    const { card: c } = await card(name);
    const evaluation = (c as Card & { evaluation?: GanEvaluation }).evaluation;
    if (!evaluation) {
      // The training export rewrites the card; `deno task card:gan` adds the evaluation back. Main must have it.
      assert.ok(
        !Deno.env.get("CI"),
        `${name}: the card has no evaluation; run deno task card:gan --name ${name}`,
      );
      console.warn(`${name}: no evaluation in the card (training?); skipped`);
      return;
    }
    assert.equal(evaluation.weights_sha256, c.weights.sha256, `${name}: the evaluation is of other weights`);
    assert.ok(evaluation.fd > 0 && evaluation.samples >= 1000, JSON.stringify(evaluation));
    const grid = await Deno.readFile(join(MODELS, evaluation.grid));
    assert.deepEqual(Array.from(grid.subarray(1, 4)), [80, 78, 71], `${name}: grid is a PNG`);

    const check = evaluation.spot_check;
    const domain = await loadDomain(domainName, { models: MODELS });
    const real = await realReference(domain.realHeldout, domain.features, {
      count: check.size,
      offset: evaluation.samples, // past every real image the card used
    });
    const seeds = Array.from({ length: check.size }, (_, i) => 1_000_000 + i);
    const m = await evaluateGenerations(domain.gen, seeds, {
      extractor: domain.features,
      real,
      batch: 100,
      progress: false,
    }).finally(async () => {
      real.dispose();
      await domain.dispose();
    });
    for (const measure of ["fd", "precision", "recall"] as const) {
      const { mean, std } = check[measure];
      within(m[measure], mean, Math.max(4 * std, 1e-3), `${name} ${measure} of ${check.size}`);
    }
  });
}
