import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs"; // registers the gradients of the tfjs-core ops (tfjs-core alone has none)
import { strict as assert } from "node:assert";
import { initBackend } from "./backend.ts";
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from "./wasm_kernels.ts";

type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;
type Shape4 = [number, number, number, number];

/** Largest relative error seen per kernel, printed at the end of each test. */
const worst: Record<string, number> = {};
const TOLERANCE = 1e-4;

await initBackend({ backend: "wasm" });
registerWasmTrainingKernels();

/** Deterministic uniform values in [-1, 1). */
function random(size: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** max |a - b| / max |b|: the error relative to the scale of the reference. */
function relativeError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-12);
}

/** Run `build` on a backend, return copies of its outputs, and check nothing leaked (tensors or buffers). */
async function runOn(backend: "cpu" | "wasm", build: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const before = tf.memory();
  const outs = build();
  const values = outs.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(outs);
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors, `${backend}: tensors leaked`);
  assert.equal(after.numDataBuffers, before.numDataBuffers, `${backend}: data buffers leaked`);
  return values;
}

/** Compare the outputs of `build` on wasm against cpu; `kernels[i]` names what produced output i. */
async function compare(label: string, kernels: string[], build: () => tf.Tensor[]): Promise<void> {
  const expected = await runOn("cpu", build);
  const actual = await runOn("wasm", build);
  for (let i = 0; i < kernels.length; i++) {
    const err = relativeError(actual[i], expected[i]);
    worst[kernels[i]] = Math.max(worst[kernels[i]] ?? 0, err);
    assert.ok(err <= TOLERANCE, `${label}: ${kernels[i]} relative error ${err.toExponential(2)}`);
  }
}

function report(names: string[]): void {
  const parts = names.map((n) => `${n} ${(worst[n] ?? NaN).toExponential(2)}`);
  console.log(`max relative error vs cpu: ${parts.join(", ")}`);
}

interface ConvCase {
  x: Shape4;
  kernel: [number, number];
  /** Output channels for conv2d, channel multiplier for depthwise. */
  out: number;
  strides: number | [number, number];
  pad: Pad;
}

const CONV_CASES: ConvCase[] = [
  { x: [1, 5, 5, 2], kernel: [1, 1], out: 3, strides: 1, pad: "valid" },
  { x: [3, 7, 7, 3], kernel: [3, 3], out: 4, strides: 1, pad: "same" },
  { x: [3, 8, 8, 2], kernel: [3, 3], out: 5, strides: 2, pad: "same" },
  { x: [1, 9, 7, 3], kernel: [3, 3], out: 2, strides: 2, pad: "valid" },
  { x: [3, 10, 11, 2], kernel: [5, 5], out: 3, strides: 3, pad: "same" },
  { x: [1, 11, 10, 2], kernel: [4, 4], out: 3, strides: 3, pad: "valid" },
  { x: [3, 6, 6, 4], kernel: [2, 2], out: 2, strides: 2, pad: "same" },
  { x: [1, 9, 9, 2], kernel: [3, 3], out: 3, strides: [2, 1], pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { x: [3, 8, 7, 2], kernel: [3, 3], out: 3, strides: 2, pad: 1 },
  { x: [3, 7, 8, 3], kernel: [3, 4], out: 2, strides: [1, 3], pad: [[0, 0], [2, 1], [0, 3], [0, 0]] },
  { x: [1, 5, 5, 1], kernel: [5, 5], out: 1, strides: 1, pad: "valid" },
  { x: [3, 13, 13, 2], kernel: [3, 3], out: 2, strides: 3, pad: 2 },
  { x: [1, 4, 4, 2], kernel: [1, 1], out: 3, strides: 2, pad: "valid" },
  { x: [1, 6, 6, 2], kernel: [3, 3], out: 2, strides: 2, pad: [[0, 0], [4, 4], [3, 3], [0, 0]] },
];

function describe(c: ConvCase): string {
  return `x [${c.x}] kernel ${c.kernel.join("x")} strides ${JSON.stringify(c.strides)} pad ${
    JSON.stringify(c.pad)
  }`;
}

Deno.test("registerWasmTrainingKernels registers every kernel once and is idempotent", () => {
  const first = registerWasmTrainingKernels();
  assert.deepEqual(first, [...WASM_TRAINING_KERNELS]);
  const funcs = first.map((name) => tf.getKernel(name, "wasm")?.kernelFunc);
  assert.ok(funcs.every((f) => f !== undefined));
  assert.deepEqual(registerWasmTrainingKernels(), first);
  first.forEach((name, i) => assert.equal(tf.getKernel(name, "wasm")?.kernelFunc, funcs[i], name));
});

Deno.test("conv2d gradients on wasm match cpu", async () => {
  for (const [index, c] of CONV_CASES.entries()) {
    const filterShape: Shape4 = [c.kernel[0], c.kernel[1], c.x[3], c.out];
    const outShape = tf.backend_util.computeConv2DInfo(c.x, filterShape, c.strides, 1, c.pad).outShape;
    const xv = random(tf.util.sizeFromShape(c.x), 3 * index + 1);
    const wv = random(tf.util.sizeFromShape(filterShape), 3 * index + 2);
    const rv = random(tf.util.sizeFromShape(outShape), 3 * index + 3);
    await compare(describe(c), [tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter], () =>
      tf.tidy(() => {
        const x = tf.tensor4d(xv, c.x);
        const w = tf.tensor4d(wv, filterShape);
        const r = tf.tensor(rv, outShape);
        const loss = (a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), r));
        return tf.grads(loss)([x, w]);
      }));
  }
  report([tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter]);
});

Deno.test("depthwise conv2d gradients on wasm match cpu", async () => {
  // depthwiseConv2d takes neither explicit pads nor unequal strides; the channel multiplier cycles 1, 2, 3.
  const cases = ([
    ...CONV_CASES.filter((c) => typeof c.strides === "number" && typeof c.pad !== "object"),
    { x: [2, 7, 9, 3], kernel: [2, 5], out: 1, strides: 2, pad: "same" },
    { x: [1, 8, 6, 2], kernel: [3, 1], out: 1, strides: 3, pad: "valid" },
  ] as ConvCase[]).map((c, i) => ({ ...c, out: 1 + (i % 3) }));
  for (const [index, c] of cases.entries()) {
    const filterShape: Shape4 = [c.kernel[0], c.kernel[1], c.x[3], c.out];
    const outShape = tf.backend_util.computeConv2DInfo(c.x, filterShape, c.strides, 1, c.pad, undefined, true)
      .outShape;
    const xv = random(tf.util.sizeFromShape(c.x), 7 * index + 1);
    const wv = random(tf.util.sizeFromShape(filterShape), 7 * index + 2);
    const rv = random(tf.util.sizeFromShape(outShape), 7 * index + 3);
    const strides = c.strides as number;
    const pad = c.pad as "valid" | "same" | number;
    await compare(
      `${describe(c)} multiplier ${c.out}`,
      [tf.DepthwiseConv2dNativeBackpropInput, tf.DepthwiseConv2dNativeBackpropFilter],
      () =>
        tf.tidy(() => {
          const x = tf.tensor4d(xv, c.x);
          const w = tf.tensor4d(wv, filterShape);
          const r = tf.tensor(rv, outShape);
          const loss = (a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), r));
          return tf.grads(loss)([x, w]);
        }),
    );
  }
  report([tf.DepthwiseConv2dNativeBackpropInput, tf.DepthwiseConv2dNativeBackpropFilter]);
});

Deno.test("unsortedSegmentSum on wasm matches cpu, and serves the gather gradient", async () => {
  const xv = random(6 * 4, 11);
  const ids = [2, 0, 2, -1, 5, 1]; // -1 and 5 lie outside [0, 4) and are dropped
  await compare(
    "unsortedSegmentSum float32",
    [tf.UnsortedSegmentSum],
    () => tf.tidy(() => [tf.unsortedSegmentSum(tf.tensor2d(xv, [6, 4]), tf.tensor1d(ids, "int32"), 4)]),
  );
  const intSums = await runOn("wasm", () =>
    tf.tidy(() => {
      const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], "int32");
      return [tf.cast(tf.unsortedSegmentSum(x, tf.tensor1d([1, 1, 0], "int32"), 2), "float32")];
    }));
  assert.deepEqual([...intSums[0]], [5, 6, 4, 6]);
  const params = random(5 * 3, 12);
  const rv = random(7 * 3, 13);
  await compare("gather gradient", [tf.UnsortedSegmentSum], () =>
    tf.tidy(() => {
      const r = tf.tensor2d(rv, [7, 3]);
      const indices = tf.tensor1d([4, 0, 4, 2, 1, 4, 0], "int32");
      const loss = (p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, indices), r));
      return [tf.grad(loss)(tf.tensor2d(params, [5, 3]))];
    }));
  report([tf.UnsortedSegmentSum]);
});

Deno.test("the wasm training kernels reject bad shapes and layouts with clear errors", async () => {
  await tf.setBackend("wasm");
  const before = tf.memory().numTensors;
  const x = tf.zeros([2, 8, 8, 3]);
  const dy = tf.zeros([2, 8, 8, 4]);
  const attrs = { strides: 2, pad: "same", dataFormat: "NHWC", filterShape: [3, 3, 3, 4] };
  // A numeric pad is spelled out per axis (tfjs 4.22's forward conv mis-sizes it for non-square kernels).
  assert.throws(
    () =>
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
        ...attrs,
        strides: 1,
        pad: 1,
        filterShape: [5, 3, 3, 4],
      } as unknown as tf.NamedAttrMap),
    /expected dy \[2,6,8,4\], got \[2,8,8,4\]/,
  );
  assert.throws(
    () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as unknown as tf.NamedAttrMap),
    /expected dy \[2,4,4,4\], got \[2,8,8,4\]/,
  );
  assert.throws(
    () =>
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
        ...attrs,
        dataFormat: "NCHW",
      } as unknown as tf.NamedAttrMap),
    /NHWC only/,
  );
  tf.dispose([x, dy]);
  assert.equal(tf.memory().numTensors, before);
});
