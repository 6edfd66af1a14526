import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { loadFeatureFixtures, maxRelativeError } from "./test_util.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { RunningMoments } from "./moments.ts";

await initBackend({ backend: "cpu" });
const fixtures = await loadFeatureFixtures();

function rows(name: string): { data: Float32Array; n: number; d: number } {
  const t = fixtures.get(name)!;
  return { data: t.data as Float32Array, n: t.shape[0], d: t.shape[1] };
}

/** Add `data` in batches of `batch` rows. */
function momentsOf(data: Float32Array, d: number, batch: number): RunningMoments {
  const m = new RunningMoments(d);
  for (let r = 0; r < data.length / d; r += batch) {
    m.add(data.subarray(r * d, Math.min(data.length, (r + batch) * d)));
  }
  return m;
}

Deno.test("RunningMoments: mean and covariance equal numpy's (np.mean, np.cov) in any batching", () => {
  const { data, n, d } = rows("fid_a");
  const mu = fixtures.get("fid_a_mu")!.data as Float64Array;
  const sigma = fixtures.get("fid_a_sigma")!.data as Float64Array;
  for (const batch of [n, 7, 1, 256, 299]) {
    const m = momentsOf(data, d, batch);
    assert.equal(m.count, n);
    assert.ok(maxRelativeError(m.mean(), mu) < 1e-13, `batch ${batch}: mean`);
    assert.ok(maxRelativeError(m.covariance(), sigma) < 1e-12, `batch ${batch}: covariance`);
  }
});

Deno.test("RunningMoments: stable far from the origin (mean 1000, spread 0.01)", () => {
  const { data, d } = rows("offset");
  const sigma = fixtures.get("offset_sigma")!.data as Float64Array;
  const m = momentsOf(data, d, 9);
  // The textbook Σxxᵀ/n − x̄x̄ᵀ would have no correct digit here (1e6 against 1e-4).
  assert.ok(maxRelativeError(m.covariance(), sigma) < 1e-9);
  assert.ok(maxRelativeError(m.mean(), fixtures.get("offset_mu")!.data as Float64Array) < 1e-15);
});

Deno.test("RunningMoments: tensors and typed arrays agree; no tensor leaks", async () => {
  const { data, n, d } = rows("fid_a");
  const fromArray = momentsOf(data, d, 64);
  const fromTensor = new RunningMoments(d);
  await assertNoLeak(() => {
    const t = tf.tensor2d(data, [n, d]);
    fromTensor.add(t);
    t.dispose();
  });
  assert.ok(maxRelativeError(fromTensor.covariance(), fromArray.covariance()) < 1e-13);
  fromTensor.add(new Float64Array(d)); // float64 rows are accepted too
  assert.equal(fromTensor.count, n + 1);
});

Deno.test("RunningMoments: merging shards equals one pass; merge leaves the other unchanged", () => {
  const { data, n, d } = rows("fid_a");
  const whole = momentsOf(data, d, n);
  const a = momentsOf(data.subarray(0, 100 * d), d, 33);
  const b = momentsOf(data.subarray(100 * d), d, 50);
  const bBefore = JSON.stringify(b.toJSON());
  a.merge(b);
  assert.equal(JSON.stringify(b.toJSON()), bBefore);
  assert.equal(a.count, n);
  assert.ok(maxRelativeError(a.mean(), whole.mean()) < 1e-14);
  assert.ok(maxRelativeError(a.covariance(), whole.covariance()) < 1e-13);
  // An empty statistic merges as a no-op, and into an empty one as a copy.
  const empty = new RunningMoments(d);
  empty.merge(whole);
  assert.equal(JSON.stringify(empty.toJSON()), JSON.stringify(whole.toJSON()));
  whole.merge(new RunningMoments(d));
  assert.equal(JSON.stringify(empty.toJSON()), JSON.stringify(whole.toJSON()));
  assert.throws(() => whole.merge(new RunningMoments(d + 1)), /dim 65 ≠ 64/);
});

Deno.test("RunningMoments: toJSON / fromJSON restore the statistic exactly", () => {
  const { data, d } = rows("fid_b");
  const m = momentsOf(data, d, 40);
  const copy = RunningMoments.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
  assert.equal(copy.count, m.count);
  assert.deepEqual(copy.mean(), m.mean());
  assert.deepEqual(copy.covariance(), m.covariance());
  // It keeps accumulating identically.
  m.add(data.subarray(0, 5 * d));
  copy.add(data.subarray(0, 5 * d));
  assert.deepEqual(copy.covariance(), m.covariance());
  assert.throws(
    () => RunningMoments.fromJSON({ kind: "QuantileSketch", version: 1 }),
    /expected a serialised RunningMoments/,
  );
  assert.throws(() => RunningMoments.fromJSON({ ...m.toJSON(), dim: 3 }), /Expected 3 mean/);
});

Deno.test("RunningMoments: save writes float64 mu / sigma; load gives back the statistic", async () => {
  const { data, d } = rows("fid_a");
  const m = momentsOf(data, d, 100);
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    await m.save(path, { metadata: { features: "fixture" } });
    const file = await readSafetensors(path);
    assert.equal(file.tensors.get("mu")!.dtype, "F64");
    assert.deepEqual(file.tensors.get("sigma")!.shape, [d, d]);
    assert.equal(file.metadata.features, "fixture");
    assert.equal(file.metadata["ganatomy.count"], "300");
    const { moments, metadata } = await RunningMoments.loadWithMetadata(path);
    assert.equal(metadata.features, "fixture");
    assert.equal(moments.count, 300);
    assert.deepEqual(moments.mean(), m.mean());
    assert.ok(maxRelativeError(moments.covariance(), m.covariance()) < 1e-15);
    await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
    await assert.rejects(() => RunningMoments.load(path));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("RunningMoments: clear errors", () => {
  const m = new RunningMoments(4);
  assert.throws(() => m.add(new Float32Array(6)), /Expected a multiple of 4 values \(\[N,4\]\), got 6/);
  const t = tf.zeros([2, 3]);
  assert.throws(() => m.add(t), /Expected \[N,4\], got \[2,3\]/);
  t.dispose();
  assert.throws(() => m.covariance(), /needs more than 1 row\(s\), has 0/);
  assert.throws(() => m.add(new Float32Array([1, NaN, 0, 0])), /non-finite value in feature 1/);
  assert.throws(() => new RunningMoments(0), /positive integer/);
  m.add(new Float32Array([1, 2, 3, 4]));
  assert.deepEqual([...m.covariance({ ddof: 0 })], new Array(16).fill(0));
});
