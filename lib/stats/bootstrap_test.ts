import assert from "node:assert/strict";
import { bootstrapInterval, ratioOfMeans } from "./bootstrap.ts";
import { Rng } from "../tensor/rng.ts";

Deno.test("bootstrap: the interval of a mean covers it and shrinks like 1/sqrt(n)", () => {
  const rng = new Rng(3);
  const sample = (n: number) => Array.from({ length: n }, () => rng.normal());
  const width = (x: number[]) => {
    const mean = (idx: readonly number[]) => idx.reduce((s, i) => s + x[i], 0) / idx.length;
    const ci = bootstrapInterval(x.length, mean, { draws: 400 });
    assert.ok(ci.lo <= ci.estimate && ci.estimate <= ci.hi);
    return ci.hi - ci.lo;
  };
  const ratio = width(sample(100)) / width(sample(1600));
  assert.ok(ratio > 2.5 && ratio < 6, `width ratio ${ratio} (expected ~4)`);
  // s.d. of a mean of n standard normals ≈ 1/sqrt(n)
  const x = sample(400);
  const ci = bootstrapInterval(x.length, (idx) => idx.reduce((s, i) => s + x[i], 0) / idx.length);
  assert.ok(Math.abs(ci.sd - 0.05) < 0.01, `sd ${ci.sd}`);
});

Deno.test("bootstrap: ratio of means is paired and deterministic given the seed", () => {
  const num = [1, 2, 3, 4], den = [2, 4, 6, 8];
  const ci = bootstrapInterval(4, ratioOfMeans(num, den), { draws: 200, seed: 5 });
  assert.deepEqual([ci.estimate, ci.lo, ci.hi], [0.5, 0.5, 0.5]); // paired: every resample has ratio 0.5
  assert.deepEqual(
    bootstrapInterval(4, ratioOfMeans([1, 0, 3, 1], den), { seed: 2 }),
    bootstrapInterval(4, ratioOfMeans([1, 0, 3, 1], den), { seed: 2 }),
  );
  assert.throws(() => bootstrapInterval(0, () => 0), /at least one/);
});
