import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { latents, Rng } from "./rng.ts";
import { assertNoLeak } from "./test_util.ts";

await initBackend({ backend: "cpu" });

Deno.test("Rng's raw stream matches a C reference of the same seeding and xoshiro128**", () => {
  // From a C program (uint32_t arithmetic): state = fmix32 of the seed words, 8 outputs skipped, as in rng.ts.
  const expected: Record<number, number[]> = {
    0: [1033201635, 2887616358, 721066480, 1863684634],
    1: [1784581462, 1874126035, 1310173, 4251506219],
    1099511627779: [325483945, 3367617981, 3010800612, 3385686460], // 2^40 + 3: the high word counts too
  };
  for (const [seed, values] of Object.entries(expected)) {
    const rng = new Rng(Number(seed));
    assert.deepEqual(values.map(() => rng.nextUint32()), values, `seed ${seed}`);
  }
});

Deno.test("Rng is deterministic per seed and different across seeds", () => {
  const a = new Rng(123).normals(64);
  const b = new Rng(123).normals(64);
  assert.deepEqual(a, b);
  const c = new Rng(124).normals(64);
  assert.notDeepEqual(a, c);
});

Deno.test("uniform, normal and int have the right ranges and moments", () => {
  const rng = new Rng(9);
  const count = 200_000;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < count; i++) {
    const u = rng.uniform();
    assert.ok(u >= 0 && u < 1);
    sum += u;
  }
  assert.ok(Math.abs(sum / count - 0.5) < 0.005); // σ of the mean: 0.29 / √200000 = 0.00065
  sum = 0;
  for (let i = 0; i < count; i++) {
    const z = rng.normal();
    sum += z;
    sumSq += z * z;
  }
  const mean = sum / count;
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`); // σ: 0.0022
  assert.ok(Math.abs(sumSq / count - mean * mean - 1) < 0.02); // σ of the variance: √2 / √200000 = 0.0032
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 60_000; i++) counts[rng.int(6)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `int(6) counts ${counts}`); // σ: 91
  for (let i = 0; i < 1000; i++) {
    const v = rng.int(-3, 2);
    assert.ok(Number.isInteger(v) && v >= -3 && v < 2);
  }
  assert.ok(rng.int(2 ** 32) < 2 ** 32);
  assert.throws(() => rng.int(0), /int: Expected integers lo < hi/);
  assert.throws(() => rng.int(2 ** 32 + 1), /hi - lo ≤ 2\^32/);
});

Deno.test("shuffle and permutation give seeded permutations", () => {
  const p = new Rng(5).permutation(50);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(new Rng(5).permutation(50), p);
  assert.notDeepEqual(p, Array.from({ length: 50 }, (_, i) => i));
  const words = ["a", "b", "c", "d"];
  const shuffled = new Rng(1).shuffle(words);
  assert.equal(shuffled, words); // in place
  assert.deepEqual([...words].sort(), ["a", "b", "c", "d"]);
  assert.deepEqual(new Rng(0).shuffle([]), []);
});

Deno.test("latents: per-seed rows, the same alone or in a batch", async () => {
  await assertNoLeak(() => {
    const seeds = Array.from({ length: 16 }, (_, i) => i);
    const batch = latents(seeds, 33);
    assert.deepEqual(batch.shape, [16, 33]);
    assert.equal(batch.dtype, "float32");
    const five = latents(5, 33);
    assert.deepEqual(five.shape, [1, 33]);
    const row5 = tf.slice(batch, [5, 0], [1, 33]);
    assert.deepEqual(row5.dataSync(), five.dataSync()); // bit-identical
    // Row i is the float32 rounding of new Rng(seeds[i]).normals(dim).
    assert.deepEqual(five.dataSync(), Float32Array.from(new Rng(5).normals(33)));
    const reversed = latents([...seeds].reverse(), 33);
    const last = tf.slice(reversed, [15, 0], [1, 33]);
    const first = tf.slice(batch, [0, 0], [1, 33]);
    assert.deepEqual(last.dataSync(), first.dataSync());
    tf.dispose([batch, five, row5, reversed, last, first]);
  });
});

Deno.test("latents checks seeds and dim", () => {
  assert.throws(() => latents(-1, 4), { message: "seed: Expected a non-negative safe integer, got -1" });
  assert.throws(() => latents([0, 1.5], 4), {
    message: "seed: Expected a non-negative safe integer, got 1.5",
  });
  assert.throws(() => latents([], 4), { message: "seeds: Expected at least one seed, got []" });
  assert.throws(() => latents(0, 0), { message: "dim: Expected a positive integer, got 0" });
  assert.throws(() => new Rng(2 ** 53), /seed: Expected a non-negative safe integer/);
});
