import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import type { HostTensor } from "../io/dtype.ts";
import { variablesFromWeights } from "./weights.ts";

await initBackend({ backend: "cpu" });

const SHAPES = { "a.weight": [2, 2], "a.bias": [2] };
const w = (shape: number[], fill = 1): HostTensor => ({
  dtype: "F32",
  shape,
  data: new Float32Array(shape.reduce((x, y) => x * y, 1)).fill(fill),
});

Deno.test("variablesFromWeights: the parameters as variables, from a record or a map, scoped by kind", async () => {
  const before = tf.memory().numTensors;
  const first = variablesFromWeights("netA", SHAPES, {
    "a.weight": w([2, 2], 3),
    "a.bias": w([2]),
    extra: w([1]),
  });
  assert.deepEqual(Object.keys(first), ["a.weight", "a.bias"], "the config's parameters, in its order");
  assert.deepEqual([...await first["a.weight"].data()], [3, 3, 3, 3]);
  assert.equal(first["a.weight"].name, "netA/a.weight");
  const second = variablesFromWeights("netA", SHAPES, new Map([["a.weight", w([2, 2])], ["a.bias", w([2])]]));
  assert.equal(second["a.bias"].name, "netA#1/a.bias");
  const other = variablesFromWeights("netB", SHAPES, { "a.weight": w([2, 2]), "a.bias": w([2]) });
  assert.equal(other["a.bias"].name, "netB/a.bias", "each kind counts its own networks");
  const named = variablesFromWeights("netA", SHAPES, { "a.weight": w([2, 2]), "a.bias": w([2]) }, "mine");
  assert.equal(named["a.bias"].name, "mine/a.bias");
  tf.dispose([first, second, other, named].flatMap((p) => Object.values(p)));
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("variablesFromWeights: missing and misshapen parameters are named; nothing is left behind", () => {
  const before = tf.memory().numTensors;
  assert.throws(
    () => variablesFromWeights("netC", SHAPES, { "a.weight": w([2, 2]) }),
    /netC: missing parameter "a.bias"/,
  );
  assert.throws(
    () => variablesFromWeights("netC", SHAPES, { "a.weight": w([2, 2]), "a.bias": w([3]) }),
    /netC: parameter "a.bias" has shape \[3\], expected \[2\]/,
  );
  assert.throws(
    () => variablesFromWeights("netC", SHAPES, { "a.weight": w([4]), "a.bias": w([2]) }),
    /netC: parameter "a.weight" has shape \[4\], expected \[2,2\]/,
  );
  assert.equal(tf.memory().numTensors, before);
});
