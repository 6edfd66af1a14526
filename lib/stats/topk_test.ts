import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { Rng } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { RunningTopK } from "./topk.ts";

await initBackend({ backend: "cpu" });

/** Brute force: unit u's k best (value, index) pairs, best first, ties by smaller index. */
function bruteTopK(scores: number[][], indices: number[], u: number, k: number) {
  const rows = scores.map((row, i) => ({ v: row[u], i: indices[i] }));
  rows.sort((a, b) => b.v - a.v || a.i - b.i);
  return rows.slice(0, k);
}

Deno.test("RunningTopK keeps the exact top k per unit across batches and merges", () => {
  const rng = new Rng(2);
  const n = 200;
  const units = 5;
  // Integer scores make ties frequent.
  const scores = Array.from({ length: n }, () => Array.from({ length: units }, () => rng.int(20)));
  const indices = Array.from({ length: n }, (_, i) => 1000 + i);
  const streamed = new RunningTopK(units, { k: 7 });
  const shards = [new RunningTopK(units, { k: 7 }), new RunningTopK(units, { k: 7 })];
  for (let start = 0; start < n; start += 30) {
    const rows = scores.slice(start, start + 30);
    const batch = Float32Array.from(rows.flat());
    streamed.add(batch, indices.slice(start, start + 30));
    shards[(start / 30) % 2].add(batch, indices.slice(start, start + 30));
  }
  shards[1].merge(shards[0]);
  for (const top of [streamed, shards[1]]) {
    const { values, indices: got } = top.result();
    for (let u = 0; u < units; u++) {
      const expected = bruteTopK(scores, indices, u, 7);
      assert.deepEqual(values[u], expected.map((e) => e.v));
      assert.deepEqual(got[u], expected.map((e) => e.i));
    }
    assert.equal(top.count, n);
  }
});

Deno.test("RunningTopK scores [N,H,W,C] activations by their maximum and numbers images by default", async () => {
  const acts = tf.tensor4d([1, 9, 2, 3, /* image 1 */ 5, 0, 4, 1], [2, 2, 1, 2]); // [N=2, H=2, W=1, C=2]
  const top = new RunningTopK(2, { k: 1 });
  await assertNoLeak(() => top.add(acts));
  acts.dispose();
  const { values, indices } = top.result();
  assert.deepEqual(values, [[5], [9]]);
  assert.deepEqual(indices, [[1], [0]]);
});

Deno.test("RunningTopK toJSON/fromJSON round trip", () => {
  const top = new RunningTopK(3, { k: 4 });
  top.add(
    Float32Array.from({ length: 30 }, (_, i) => (i * 13) % 7),
    Array.from({ length: 10 }, (_, i) => i * 3),
  );
  const copy = RunningTopK.fromJSON(JSON.parse(JSON.stringify(top.toJSON())));
  assert.deepEqual(copy.result(), top.result());
  assert.deepEqual(copy.toJSON(), top.toJSON());
  assert.equal(copy.count, 10);
});

Deno.test("RunningTopK rejects bad input", () => {
  const top = new RunningTopK(2);
  assert.throws(() => top.add(new Float32Array(3)), /multiple of 2/);
  assert.throws(() => top.add(new Float32Array(4), [1]), /indices: Expected 2 image indices, got 1/);
  assert.throws(() => top.add(new Float32Array([1, NaN])), /NaN score for unit 1/);
  assert.throws(() => top.merge(new RunningTopK(3)), /Expected units 2/);
  const x = tf.zeros([2, 3]);
  assert.throws(() => top.add(x), /scores: Expected \[N,2\] or \[N,H,W,2\], got \[2,3\]/);
  x.dispose();
});
