import { strict as assert } from "node:assert";
import { join } from "node:path";
import { hashKey } from "../io/hash.ts";
import { tally } from "./tally.ts";
import { RunningTopK } from "./topk.ts";

/** A one-unit top-k of the score (7s mod 101) of each sample s, counting the calls of compute. */
function scorer(calls: number[]) {
  return (batch: number[], start: number) => {
    calls.push(start);
    const stat = new RunningTopK(1, { k: 5 });
    stat.add(Float32Array.from(batch, (s) => (7 * s) % 101), batch);
    return stat;
  };
}

const SEEDS = Array.from({ length: 50 }, (_, i) => i);

Deno.test("tally merges batches into the statistic of all samples", async () => {
  const calls: number[] = [];
  const top = await tally(scorer(calls), SEEDS, { batch: 8, progress: false });
  assert.deepEqual(calls, [0, 8, 16, 24, 32, 40, 48]);
  assert.equal(top.count, 50);
  const direct = scorer([])(SEEDS, 0);
  assert.deepEqual(top.result(), direct.result());
});

Deno.test("tally caches by key and resumes from a checkpoint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ganatomy_tally_" });
  try {
    const cache = {
      dir,
      name: "top",
      key: { what: "demo", weights: new Float32Array([1, 2]) },
      checkpointEvery: 2,
    };
    const options = { batch: 8, progress: false, cache: { ...cache, fromJSON: RunningTopK.fromJSON } };
    // An interrupted run: compute fails at the 5th batch, after checkpoints at 2 and 4 batches.
    const failing = (batch: number[], start: number) => {
      if (start === 32) throw new Error("interrupted");
      return scorer([])(batch, start);
    };
    await assert.rejects(tally(failing, SEEDS, options), /interrupted/);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.equal(files.length, 1);
    const partial = JSON.parse(await Deno.readTextFile(join(dir, files[0])));
    assert.equal(partial.complete, false);
    assert.equal(partial.processed, 32);
    // Resume: only the batches after the checkpoint run.
    const calls: number[] = [];
    const resumed = await tally(scorer(calls), SEEDS, options);
    assert.deepEqual(calls, [32, 40, 48]);
    assert.deepEqual(resumed.result(), scorer([])(SEEDS, 0).result());
    // Complete: nothing runs.
    const again: number[] = [];
    const cached = await tally(scorer(again), SEEDS, options);
    assert.deepEqual(again, []);
    assert.deepEqual(cached.toJSON(), resumed.toJSON());
    // Another key, or other samples: another file.
    await tally(scorer([]), SEEDS.slice(1), options);
    assert.equal([...Deno.readDirSync(dir)].length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hashKey: sorted keys, typed arrays by content", () => {
  assert.equal(hashKey({ a: 1, b: [2, 3] }), hashKey({ b: [2, 3], a: 1 }));
  assert.notEqual(hashKey({ w: new Float32Array([1, 2]) }), hashKey({ w: new Float32Array([1, 3]) }));
  assert.notEqual(hashKey([1, 2]), hashKey([12]));
  assert.match(hashKey(null), /^[0-9a-f]{64}$/);
});

Deno.test("tally rejects bad options", async () => {
  await assert.rejects(tally(scorer([]), SEEDS, { batch: 0 }), /batch: Expected a positive integer, got 0/);
  await assert.rejects(tally(scorer([]), [], {}), /at least one sample/);
});
