import { strict as assert } from "node:assert";
import { defaultMinArea, labelComponents } from "./components.ts";

Deno.test("labelComponents splits equal labels by 4-connectivity", () => {
  // 0 0 1
  // 1 0 1
  // 0 1 1
  const labels = Uint8Array.from([0, 0, 1, 1, 0, 1, 0, 1, 1]);
  const { ids, classes, areas } = labelComponents(labels, { height: 3, width: 3 });
  assert.deepEqual(classes, [0, 1, 1, 0]);
  assert.deepEqual(areas, [3, 4, 1, 1]);
  assert.deepEqual([...ids], [0, 0, 1, 2, 0, 1, 3, 1, 1]);
});

Deno.test("labelComponents checks the size", () => {
  assert.throws(
    () => labelComponents(new Uint8Array(5), { height: 2, width: 2 }),
    /Expected 2\*2 labels, got 5/,
  );
});

Deno.test("defaultMinArea scales with the image area", () => {
  assert.equal(defaultMinArea({ height: 64, width: 64 }), 4);
  assert.equal(defaultMinArea({ height: 128, width: 128 }), 16);
  assert.equal(defaultMinArea({ height: 32, width: 32 }), 2);
  assert.equal(defaultMinArea({ height: 8, width: 8 }), 2);
});
