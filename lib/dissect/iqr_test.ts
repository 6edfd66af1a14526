import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { chooseIqrLevels, LevelHistogram } from "./iqr.ts";

await initBackend({ backend: "cpu" });

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
