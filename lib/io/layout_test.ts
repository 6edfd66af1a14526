import { strict as assert } from "node:assert";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { HostTensor } from "./dtype.ts";
import { convTransposeWeightToHWOI, convWeightToHWIO, linearWeightToIO, permute, toNHWC } from "./layout.ts";

/** A tensor of `shape` whose element at index [a, b, c, d] is the number with digits a b c d. */
function digits(shape: number[]): HostTensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    let rest = i;
    let value = 0;
    for (let axis = shape.length - 1, scale = 1; axis >= 0; axis--, scale *= 10) {
      value += (rest % shape[axis]) * scale;
      rest = Math.floor(rest / shape[axis]);
    }
    data[i] = value;
  }
  return { dtype: "F32", shape, data };
}

Deno.test("permute moves every element to its permuted index", () => {
  const t = digits([2, 3, 4]);
  const p = permute(t, [2, 0, 1]); // [4, 2, 3]; p[c, a, b] = t[a, b, c]
  assert.deepEqual(p.shape, [4, 2, 3]);
  for (let c = 0; c < 4; c++) {
    for (let a = 0; a < 2; a++) {
      for (let b = 0; b < 3; b++) assert.equal(p.data[c * 6 + a * 3 + b], a * 100 + b * 10 + c);
    }
  }
  assert.deepEqual([...t.data.slice(0, 3)], [0, 1, 2], "the input is unchanged");
  const longs = permute({ dtype: "I64", shape: [2, 1], data: new BigInt64Array([1n, 2n]) }, [1, 0]);
  assert.deepEqual(longs, { dtype: "I64", shape: [1, 2], data: new BigInt64Array([1n, 2n]) });
});

Deno.test("layout conversions put each PyTorch axis where tfjs expects it", () => {
  // Digits name the source index: nchw[n, c, h, w] = n c h w.
  const nhwc = toNHWC(digits([1, 3, 2, 2]));
  assert.deepEqual(nhwc.shape, [1, 2, 2, 3]);
  assert.deepEqual([...nhwc.data.slice(0, 6)], [0, 100, 200, 1, 101, 201]); // [0, 0, 0, :], [0, 0, 1, :]
  const hwio = convWeightToHWIO(digits([4, 3, 2, 2])); // oihw → [kH, kW, I, O]
  assert.deepEqual(hwio.shape, [2, 2, 3, 4]);
  assert.equal(hwio.data[((1 * 2 + 0) * 3 + 2) * 4 + 3], 3210); // hwio[1, 0, 2, 3] = oihw[3, 2, 1, 0]
  const hwoi = convTransposeWeightToHWOI(digits([3, 4, 2, 2])); // iohw → [kH, kW, O, I]
  assert.deepEqual(hwoi.shape, [2, 2, 4, 3]);
  assert.equal(hwoi.data[((1 * 2 + 0) * 4 + 3) * 3 + 2], 2310); // hwoi[1, 0, 3, 2] = iohw[2, 3, 1, 0]
  assert.deepEqual(linearWeightToIO(digits([2, 3])).data, new Float32Array([0, 10, 1, 11, 2, 12]));
});

Deno.test("layout conversions check the rank and name the tensor", () => {
  const w = digits([3, 4]);
  assert.throws(() => convWeightToHWIO(w, { name: "conv.weight" }), {
    message: "conv.weight: Expected [O,I,kH,kW], got [3,4]",
  });
  assert.throws(() => toNHWC(w), { message: "tensor: Expected [N,C,H,W], got [3,4]" });
  assert.throws(() => permute(w, [0, 0]), {
    message: "tensor: [0,0] is not a permutation of the 2 axes of shape [3,4]",
  });
});

interface Expected {
  shape: number[];
  values: number[];
}

Deno.test("converted PyTorch weights reproduce PyTorch's Conv2d, ConvTranspose2d and Linear in tfjs", async () => {
  await initBackend({ backend: "cpu" });
  const path = join(import.meta.dirname!, "../../tests/fixtures/pth/expected.json");
  const layout: Record<string, Expected> = JSON.parse(await Deno.readTextFile(path)).layout;
  const host = (key: string): HostTensor => ({
    dtype: "F32",
    shape: layout[key].shape,
    data: new Float32Array(layout[key].values),
  });
  const tensor = (t: HostTensor) => tf.tensor(t.data as Float32Array, t.shape);
  const expectClose = (actual: tf.Tensor, key: string) => {
    const want = layout[key].shape.length === 4 ? toNHWC(host(key)) : host(key);
    assert.deepEqual(actual.shape, want.shape, key);
    const got = actual.dataSync();
    const data = want.data as Float32Array;
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - data[i]) < 1e-5, `${key}[${i}]`);
  };

  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const x = tensor(toNHWC(host("x"))) as tf.Tensor4D; // [1, 4, 4, 2]
    const conv = tf.conv2d(x, tensor(convWeightToHWIO(host("conv.weight"))) as tf.Tensor4D, 1, "same");
    expectClose(conv.add(tensor(host("conv.bias"))), "conv.y"); // [1, 4, 4, 3]
    const filter = tensor(convTransposeWeightToHWOI(host("deconv.weight"))) as tf.Tensor4D;
    const deconv = tf.conv2dTranspose(x, filter, [1, 8, 8, 3], 2, "same");
    expectClose(deconv.add(tensor(host("deconv.bias"))), "deconv.y"); // [1, 8, 8, 3]
    const v = tensor(host("linear.x")); // [2, 4]
    const y = tf.matMul(v, tensor(linearWeightToIO(host("linear.weight")))).add(tensor(host("linear.bias")));
    expectClose(y, "linear.y"); // [2, 3]
  });
  assert.equal(tf.memory().numTensors, before);
});
