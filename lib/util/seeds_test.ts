import { strict as assert } from "node:assert";
import { parseSeeds } from "./seeds.ts";

Deno.test("parseSeeds reads single seeds and inclusive ranges", () => {
  assert.deepEqual(parseSeeds("0-3,10, 12-13"), [0, 1, 2, 3, 10, 12, 13]);
  assert.deepEqual(parseSeeds("7"), [7]);
});

Deno.test("parseSeeds names what is wrong", () => {
  assert.throws(() => parseSeeds("1-x"), /"1-x" is not a seed/);
  assert.throws(() => parseSeeds("5-2"), /runs backwards/);
  assert.throws(() => parseSeeds(","), /names no seed/);
});
