import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { RunningMoments } from "../stats/moments.ts";
import { frechetDistance, gaussianOf } from "./fid.ts";
import { loadExpected, loadFeatureFixtures, relativeError } from "./test_util.ts";

await initBackend({ backend: "cpu" });
const fixtures = await loadFeatureFixtures();
const expected = await loadExpected();

function moments(name: string): RunningMoments {
  const t = fixtures.get(name)!;
  const m = new RunningMoments(t.shape[1]);
  m.add(t.data as Float32Array);
  return m;
}

Deno.test("frechetDistance: equals pytorch-fid's sqrtm formula (scipy) on a well-conditioned case", () => {
  const warnings: string[] = [];
  const r = frechetDistance(moments("fid_a"), moments("fid_b"), { warn: (w) => warnings.push(w) });
  const err = relativeError(r.value, expected.fid.well.fid);
  console.log(`FID ${r.value} vs scipy ${expected.fid.well.fid}: relative error ${err.toExponential(2)}`);
  assert.ok(err < 1e-6);
  assert.equal(r.offset, false);
  assert.equal(r.rankA, 64);
  assert.deepEqual(warnings, []);
  assert.ok(Math.abs(r.value - (r.meanTerm + r.traceA + r.traceB - 2 * r.traceSqrt)) < 1e-12);
});

Deno.test("frechetDistance: singular covariances (N < D) match pytorch-fid, with a warning", () => {
  const warnings: string[] = [];
  const r = frechetDistance(moments("fid_small_a"), moments("fid_small_b"), {
    warn: (w) => warnings.push(w),
  });
  const err = relativeError(r.value, expected.fid.singular.fid);
  console.log(
    `singular FID ${r.value} vs scipy ${expected.fid.singular.fid}: relative error ${err.toExponential(2)}`,
  );
  assert.ok(err < 1e-6);
  assert.equal(expected.fid.singular.offset, false); // scipy's sqrtm stayed finite, so pytorch-fid used no offset
  assert.equal(r.offset, false);
  assert.equal(r.rankA, 39);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /covariance of a is singular \(40 samples ≤ 64 dimensions\)/);
});

Deno.test("frechetDistance: identical sets give 0; plain GaussianStats are accepted", () => {
  const a = moments("fid_a");
  const r = frechetDistance(a, gaussianOf(a));
  assert.ok(Math.abs(r.value) < 1e-9, `${r.value}`);
  assert.ok(Math.abs(expected.fid.identical.fid) < 1e-9);
  const toy = frechetDistance(
    { mean: new Float64Array([0, 0]), cov: new Float64Array([1, 0, 0, 1]) },
    { mean: new Float64Array([1, 0]), cov: new Float64Array([4, 0, 0, 1]) },
  );
  assert.ok(Math.abs(toy.value - 2) < 1e-14);
});

Deno.test("frechetDistance: clear errors", () => {
  const a = { mean: new Float64Array(2), cov: new Float64Array([1, 0, 0, 1]) };
  assert.throws(
    () => frechetDistance(a, { mean: new Float64Array(3), cov: new Float64Array(9) }),
    /a has 2 features, b has 3/,
  );
  assert.throws(
    () => frechetDistance(a, { mean: new Float64Array(2), cov: new Float64Array(3) }),
    /cov needs 4, got 3/,
  );
  assert.throws(
    () => frechetDistance(a, { mean: new Float64Array([NaN, 0]), cov: a.cov }),
    /non-finite mean/,
  );
  const notPsd = { mean: new Float64Array(2), cov: new Float64Array([1, 0, 0, -1]) };
  assert.throws(() => frechetDistance(a, notPsd), /not positive semi-definite/);
});
