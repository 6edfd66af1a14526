import { strict as assert } from "node:assert";
import { averagedSeries } from "./curves.ts";

Deno.test("averagedSeries averages windows, counts steps done, skips rows without the key", () => {
  const rows = Array.from(
    { length: 10 },
    (_, step) => ({ step, loss: step, ...(step % 2 ? {} : { r1: 1 }) }),
  );
  assert.deepEqual(averagedSeries(rows, "loss", 5), { x: [2, 4, 6, 8, 10], y: [0.5, 2.5, 4.5, 6.5, 8.5] });
  assert.deepEqual(averagedSeries(rows, "r1", 100).x, [1, 3, 5, 7, 9]);
});
