import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import {
  assertDtype,
  assertImageBatch,
  assertRank,
  assertSameShape,
  assertShape,
  formatShape,
} from "./shape.ts";

await initBackend({ backend: "cpu" });

Deno.test("assertImageBatch returns the sizes of an NHWC batch", () => {
  const x = tf.zeros([2, 8, 6, 3]);
  assert.deepEqual(assertImageBatch(x, "images"), { n: 2, h: 8, w: 6, c: 3 });
  assert.deepEqual(assertImageBatch(x, "images", { channels: 3, height: 8, width: 6, batch: 2 }), {
    n: 2,
    h: 8,
    w: 6,
    c: 3,
  });
  x.dispose();
});

Deno.test("assertImageBatch names the argument, the expected and the actual shape", () => {
  assert.throws(() => assertImageBatch([3, 4], "images"), {
    message: "images: Expected [N,H,W,C], got [3,4]",
  });
  assert.throws(() => assertImageBatch([2, 8, 8, 1], "images", { channels: 3 }), {
    message: "images: Expected [N,H,W,3], got [2,8,8,1]",
  });
  assert.throws(() => assertImageBatch([2, 8, 8, 1], "masks", { height: 16, width: 16 }), {
    message: "masks: Expected [N,16,16,C], got [2,8,8,1]",
  });
});

Deno.test("assertShape binds symbols consistently and accepts null as any size", () => {
  assert.deepEqual(assertShape([5, 4, 4, 7], ["N", "S", "S", null]), { N: 5, S: 4 });
  assert.throws(() => assertShape([5, 4, 3, 7], ["N", "S", "S", null], { name: "x" }), {
    message: "x: Expected [N,S,S,?], got [5,4,3,7]",
  });
  assert.throws(() => assertShape([2, 4, 4, 256], ["N", 4, 4, 512], { name: "features" }), {
    message: "features: Expected [N,4,4,512], got [2,4,4,256]",
  });
  assert.throws(() => assertShape([3], [3, 1]), { message: "Expected [3,1], got [3]" });
});

Deno.test("assertRank accepts one rank or a list of ranks", () => {
  assert.equal(assertRank([2, 3], 2), 2);
  assert.equal(assertRank([2, 3, 4, 5], [2, 4]), 4);
  assert.throws(() => assertRank([2, 8], [3, 4], { name: "masks" }), {
    message: "masks: Expected rank 3 or 4, got [2,8]",
  });
  assert.throws(() => assertRank([1], 2, { name: "m" }), { message: "m: Expected rank 2, got [1]" });
});

Deno.test("assertSameShape and assertDtype report both sides", () => {
  assertSameShape([1, 2], [1, 2]);
  assert.throws(() => assertSameShape([1, 4, 4, 2], [1, 8, 8, 2], { names: ["units", "concepts"] }), {
    message: "Expected units and concepts to have the same shape, got [1,4,4,2] and [1,8,8,2]",
  });
  assert.throws(() => assertSameShape([1], [1, 1]), {
    message: "Expected a and b to have the same shape, got [1] and [1,1]",
  });
  const x = tf.zeros([2], "int32");
  assertDtype(x, ["int32", "float32"]);
  assert.throws(() => assertDtype(x, "float32", { name: "labels" }), {
    message: "labels: Expected dtype float32, got int32",
  });
  x.dispose();
  assert.equal(formatShape([1, null, "C"]), "[1,?,C]");
});
