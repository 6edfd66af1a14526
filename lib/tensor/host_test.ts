import assert from "node:assert/strict";
import { concatFloat32 } from "./host.ts";

Deno.test("concatFloat32: joins in order, copies, handles empty parts", () => {
  const a = Float32Array.of(1, 2);
  const out = concatFloat32([a, new Float32Array(0), Float32Array.of(3, 4)]);
  assert.deepEqual(out, Float32Array.of(1, 2, 3, 4));
  a[0] = 9;
  assert.equal(out[0], 1);
  assert.deepEqual(concatFloat32([]), new Float32Array(0));
});
