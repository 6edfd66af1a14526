/**
 * Training kernels for the tfjs wasm backend, built from its fast XNNPACK kernels.
 *
 * The wasm backend of tfjs 4.22 has no `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter`,
 * `DepthwiseConv2dNativeBackpropInput` or `UnsortedSegmentSum`, and its `Conv2DBackpropInput` is a direct loop
 * that runs at 1.5-3 GFLOP/s where a forward convolution reaches 20-60 (measured on 1 and 2 threads).
 * {@link registerWasmTrainingKernels} supplies all five:
 *
 * - filter gradient: a convolution over the batch axis. With x as `[Ci, H, W, N]` (channels become the
 *   batch, the batch becomes the channels) and dy as a filter `[oh, ow, N, Co]` dilated by the forward
 *   stride, a stride-1 convolution yields `[Ci, kh, kw, Co]`, transposed to `[kh, kw, Ci, Co]`.
 * - input gradient: a transposed convolution written as a stride-1 convolution of dy followed by a pixel
 *   shuffle. For stride s, output row `s*q + a` of the padded input receives the taps `a, a+s, a+2s, ...` of
 *   the filter, so one convolution with a filter `[ceil(kh/s), ceil(kw/s), Co, s*s*Ci]` (the spatially
 *   rotated, in/out-swapped filter split into its s*s phases) computes every phase, and a JS loop
 *   interleaves the phases and crops the padding. This does `kh*kw / (ceil(kh/s)*ceil(kw/s))` times fewer
 *   multiply-adds than convolving the zero-dilated dy (9/4 for 3x3 at stride 2).
 * - the depthwise versions use the same two ideas with the depthwise kernel (summing the batch, or the
 *   channel multiplier, in JS).
 * - `UnsortedSegmentSum` is a JS loop over the data (it only appears in the gradient of a gather).
 *
 * Only NHWC data and dilation 1 are supported, as in tfjs's own gradients.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs"; // registers the gradients of the ops
 * import { initBackend } from "./backend.ts";
 * import { registerWasmTrainingKernels } from "./wasm_kernels.ts";
 * await initBackend({ backend: "wasm" });
 * registerWasmTrainingKernels();
 * const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
 * const w = tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D;
 * const dw = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 2, "same")))(w);
 * assert.deepEqual(dw.shape, [3, 3, 3, 4]);
 * tf.dispose([x, w, dw]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

type Shape4 = [number, number, number, number];
type ConvPad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;
type RoundingMode = "floor" | "round" | "ceil" | undefined;

const BACKEND = "wasm";

/** Names of the kernels {@link registerWasmTrainingKernels} puts on the wasm backend. */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  tf.Conv2DBackpropFilter,
  tf.Conv2DBackpropInput,
  tf.DepthwiseConv2dNativeBackpropFilter,
  tf.DepthwiseConv2dNativeBackpropInput,
  tf.UnsortedSegmentSum,
];

/**
 * Register this project's training kernels on the tfjs `wasm` backend, replacing the backend's own
 * `Conv2DBackpropInput`. Idempotent: a second call changes nothing. The kernels look up the backend's
 * `Conv2D`, `DepthwiseConv2dNative`, `Transpose` and `Slice` when they run, so this may be called before or
 * after the backend is ready.
 *
 * @returns the names of the kernels now registered ({@link WASM_TRAINING_KERNELS}), the same on every call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { registerWasmTrainingKernels } from "./wasm_kernels.ts";
 * const names = registerWasmTrainingKernels();
 * assert.deepEqual(names.slice(0, 2), ["Conv2DBackpropFilter", "Conv2DBackpropInput"]);
 * ```
 */
export function registerWasmTrainingKernels(): string[] {
  const funcs: Record<string, tf.KernelFunc> = {
    [tf.Conv2DBackpropFilter]: conv2dBackpropFilter as unknown as tf.KernelFunc,
    [tf.Conv2DBackpropInput]: conv2dBackpropInput as unknown as tf.KernelFunc,
    [tf.DepthwiseConv2dNativeBackpropFilter]: depthwiseBackpropFilter as unknown as tf.KernelFunc,
    [tf.DepthwiseConv2dNativeBackpropInput]: depthwiseBackpropInput as unknown as tf.KernelFunc,
    [tf.UnsortedSegmentSum]: unsortedSegmentSum as unknown as tf.KernelFunc,
  };
  for (const kernelName of WASM_TRAINING_KERNELS) {
    const kernelFunc = funcs[kernelName];
    const existing = tf.getKernel(kernelName, BACKEND);
    if (existing?.kernelFunc === kernelFunc) continue;
    if (existing) tf.unregisterKernel(kernelName, BACKEND);
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc });
  }
  return [...WASM_TRAINING_KERNELS];
}

// ---------------------------------------------------------------------------------------------------------
// Helpers: calling the backend's own kernels, reading the wasm heap.

interface KernelArgs<I, A> {
  inputs: I;
  backend: BackendWasm;
  attrs: A;
}

/** Run a kernel of the wasm backend directly; the caller owns (and must `disposeData`) the result. */
function runKernel(
  name: string,
  backend: BackendWasm,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(name, BACKEND);
  if (kernel === undefined) {
    throw new Error(`The wasm backend has no ${name} kernel; import "@tensorflow/tfjs-backend-wasm" first`);
  }
  const out = kernel.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`Expected one output from ${name}, got ${out.length}`);
  return out;
}

/** The same data seen with another shape of the same size (not a new tensor: never dispose it). */
function view(info: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/** Float32 view of a tensor's data on the wasm heap; take it only after the last allocation. */
function heapF32(backend: BackendWasm, info: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** A new float32 tensor on the wasm heap holding `values`. */
function fromValues(backend: BackendWasm, shape: number[], values: Float32Array): tf.TensorInfo {
  const out = backend.makeOutput(shape, "float32");
  heapF32(backend, out).set(values);
  return out;
}

function assertNHWC(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== "NHWC") {
    throw new Error(`${kernel} on wasm supports dataFormat NHWC only, got ${dataFormat}`);
  }
}

function assertNoDilation(kernel: string, dilations: number | [number, number] | undefined): void {
  const [dh, dw] = typeof dilations === "number" ? [dilations, dilations] : dilations ?? [1, 1];
  if (dh !== 1 || dw !== 1) throw new Error(`${kernel} on wasm supports dilations 1 only, got [${dh},${dw}]`);
}

function assertRank4(kernel: string, what: string, shape: number[]): void {
  if (shape.length !== 4) throw new Error(`${kernel}: expected ${what} [N,H,W,C], got [${shape.join(",")}]`);
}

/** Geometry of the forward convolution a gradient belongs to, checked against dy. */
function forwardInfo(
  kernel: string,
  xShape: Shape4,
  filterShape: Shape4,
  dyShape: number[],
  conv: {
    strides: number | [number, number];
    pad: ConvPad;
    dimRoundingMode?: RoundingMode;
    depthwise: boolean;
  },
): tf.backend_util.Conv2DInfo {
  if (xShape[3] !== filterShape[2]) {
    throw new Error(`${kernel}: input has ${xShape[3]} channels but the filter expects ${filterShape[2]}`);
  }
  // tfjs 4.22 sizes a numeric pad's output with the kernel height and stride on both axes; spell it out.
  const pad: ConvPad = typeof conv.pad === "number"
    ? [[0, 0], [conv.pad, conv.pad], [conv.pad, conv.pad], [0, 0]]
    : conv.pad;
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    conv.strides,
    1,
    pad,
    conv.dimRoundingMode,
    conv.depthwise,
  );
  const expected = info.outShape;
  if (dyShape.length !== 4 || dyShape.some((d, i) => d !== expected[i])) {
    throw new Error(`${kernel}: expected dy [${expected.join(",")}], got [${dyShape.join(",")}]`);
  }
  return info;
}

// ---------------------------------------------------------------------------------------------------------
// Geometry along one spatial axis.

/**
 * Filter gradient along one axis, as a stride-1 convolution of the (padded) input with dy dilated by the
 * stride: `rows` output rows, of which the first `kernel` are the gradient.
 */
interface FilterGradAxis {
  padBefore: number;
  padAfter: number;
  rows: number;
}

function filterGradAxis(
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  dySize: number,
): FilterGradAxis {
  const span = stride * (dySize - 1); // extent of the dilated dy, minus one
  const padAfter = Math.max(0, kernel + span - size - pad);
  return { padBefore: pad, padAfter, rows: size + pad + padAfter - span };
}

/**
 * Input gradient along one axis, as a stride-1 convolution of dy with `taps`-tap phase filters.
 * Conv output row r, phase a, is row `stride * r + a - offset` of the input gradient.
 */
interface InputGradAxis {
  taps: number;
  padBefore: number;
  padAfter: number;
  rows: number;
  offset: number;
}

function inputGradAxis(
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  dySize: number,
): InputGradAxis {
  const taps = Math.ceil(kernel / stride);
  // Skip the phase rows that only land in the forward padding: up to taps-1 of them, via a smaller pad.
  const skipped = Math.min(Math.floor(pad / stride), taps - 1);
  const needed = Math.ceil((pad + size) / stride) - skipped;
  const padAfter = Math.max(0, needed - dySize + skipped);
  return {
    taps,
    padBefore: taps - 1 - skipped,
    padAfter,
    rows: dySize - skipped + padAfter,
    offset: pad - stride * skipped,
  };
}

function explicitPad(h: { padBefore: number; padAfter: number }, w: { padBefore: number; padAfter: number }) {
  return [[0, 0], [h.padBefore, h.padAfter], [w.padBefore, w.padAfter], [
    0,
    0,
  ]] as tf.backend_util.ExplicitPadding;
}

// ---------------------------------------------------------------------------------------------------------
// Conv2D gradients.

function conv2dBackpropFilter(
  { inputs, backend, attrs }: KernelArgs<tf.Conv2DBackpropFilterInputs, tf.Conv2DBackpropFilterAttrs>,
): tf.TensorInfo {
  const name = tf.Conv2DBackpropFilter;
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  assertNHWC(name, attrs.dataFormat);
  assertRank4(name, "x", x.shape);
  const [kh, kw, ci, co] = attrs.filterShape;
  const info = forwardInfo(name, x.shape as Shape4, attrs.filterShape, dy.shape, {
    ...attrs,
    depthwise: false,
  });
  const [, h, w] = x.shape;
  const [, oh, ow] = dy.shape;
  const ah = filterGradAxis(h, kh, info.strideHeight, info.padInfo.top, oh);
  const aw = filterGradAxis(w, kw, info.strideWidth, info.padInfo.left, ow);

  const xT = runKernel(tf.Transpose, backend, { x }, { perm: [3, 1, 2, 0] }); // [Ci, H, W, N]
  const dyT = runKernel(tf.Transpose, backend, { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, N, Co]
  const grad = runKernel(tf.Conv2D, backend, { x: xT, filter: dyT }, {
    strides: [1, 1],
    dilations: [info.strideHeight, info.strideWidth],
    pad: explicitPad(ah, aw),
    dataFormat: "NHWC",
  }); // [Ci, rows_h, rows_w, Co]
  backend.disposeData(xT.dataId);
  backend.disposeData(dyT.dataId);

  let cropped = grad;
  if (ah.rows !== kh || aw.rows !== kw) {
    cropped = runKernel(tf.Slice, backend, { x: grad }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
    backend.disposeData(grad.dataId);
  } // [Ci, kh, kw, Co]
  const out = runKernel(tf.Transpose, backend, { x: cropped }, { perm: [1, 2, 0, 3] }); // [kh, kw, Ci, Co]
  backend.disposeData(cropped.dataId);
  return out;
}

function conv2dBackpropInput(
  { inputs, backend, attrs }: KernelArgs<tf.Conv2DBackpropInputInputs, tf.Conv2DBackpropInputAttrs>,
): tf.TensorInfo {
  const name = tf.Conv2DBackpropInput;
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  assertNHWC(name, attrs.dataFormat);
  assertRank4(name, "inputShape", attrs.inputShape);
  const [kh, kw, ci, co] = filter.shape as Shape4;
  const info = forwardInfo(name, attrs.inputShape, filter.shape as Shape4, dy.shape, {
    ...attrs,
    depthwise: false,
  });
  const [n, h, w] = attrs.inputShape;
  const [, oh, ow] = dy.shape;
  const sh = info.strideHeight, sw = info.strideWidth;
  const ah = inputGradAxis(h, kh, sh, info.padInfo.top, oh);
  const aw = inputGradAxis(w, kw, sw, info.padInfo.left, ow);
  const phases = sh * sw;

  // Phase filter G[jh, jw, co, (ph*sw + pw)*Ci + c] = W[ph + sh*(Jh-1-jh), pw + sw*(Jw-1-jw), c, co].
  const wv = heapF32(backend, filter);
  const g = new Float32Array(ah.taps * aw.taps * co * phases * ci);
  for (let jh = 0; jh < ah.taps; jh++) {
    for (let ph = 0; ph < sh; ph++) {
      const i = ph + sh * (ah.taps - 1 - jh);
      if (i >= kh) continue;
      for (let jw = 0; jw < aw.taps; jw++) {
        for (let pw = 0; pw < sw; pw++) {
          const j = pw + sw * (aw.taps - 1 - jw);
          if (j >= kw) continue;
          const src = (i * kw + j) * ci * co;
          for (let o = 0; o < co; o++) {
            const dst = ((jh * aw.taps + jw) * co + o) * phases * ci + (ph * sw + pw) * ci;
            for (let c = 0; c < ci; c++) g[dst + c] = wv[src + c * co + o];
          }
        }
      }
    }
  }
  const gInfo = fromValues(backend, [ah.taps, aw.taps, co, phases * ci], g);
  const y = runKernel(tf.Conv2D, backend, { x: dy, filter: gInfo }, {
    strides: [1, 1],
    dilations: [1, 1],
    pad: explicitPad(ah, aw),
    dataFormat: "NHWC",
  }); // [N, rows_h, rows_w, phases*Ci]
  backend.disposeData(gInfo.dataId);
  if (phases === 1 && ah.offset === 0 && aw.offset === 0 && ah.rows === h && aw.rows === w) return y;

  // Interleave the phases and crop: dx[b, t, u, :] = y[b, (t+offH) / sh, (u+offW) / sw, phase * Ci : ...].
  const out = backend.makeOutput([n, h, w, ci], "float32");
  const yv = heapF32(backend, y);
  const dx = heapF32(backend, out);
  for (let b = 0; b < n; b++) {
    for (let t = 0; t < h; t++) {
      const th = t + ah.offset;
      const rowBase = (b * ah.rows + Math.floor(th / sh)) * aw.rows;
      const ph = th % sh;
      for (let u = 0; u < w; u++) {
        const tw = u + aw.offset;
        const src = ((rowBase + Math.floor(tw / sw)) * phases + ph * sw + (tw % sw)) * ci;
        dx.set(yv.subarray(src, src + ci), ((b * h + t) * w + u) * ci);
      }
    }
  }
  backend.disposeData(y.dataId);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Depthwise gradients.

function depthwiseBackpropFilter(
  { inputs, backend, attrs }: KernelArgs<
    tf.DepthwiseConv2dNativeBackpropFilterInputs,
    tf.DepthwiseConv2dNativeBackpropFilterAttrs
  >,
): tf.TensorInfo {
  const name = tf.DepthwiseConv2dNativeBackpropFilter;
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  assertNoDilation(name, attrs.dilations);
  assertRank4(name, "x", x.shape);
  const [kh, kw, ci, mult] = attrs.filterShape;
  const info = forwardInfo(name, x.shape as Shape4, attrs.filterShape, dy.shape, {
    ...attrs,
    depthwise: true,
  });
  const [n, h, w] = x.shape;
  const [, oh, ow] = dy.shape;
  const ah = filterGradAxis(h, kh, info.strideHeight, info.padInfo.top, oh);
  const aw = filterGradAxis(w, kw, info.strideWidth, info.padInfo.left, ow);

  // Each (channel, sample) pair is one depthwise channel; the batch is summed afterwards.
  const xT = runKernel(tf.Transpose, backend, { x }, { perm: [1, 2, 3, 0] }); // [H, W, Ci, N]
  const dyT = runKernel(tf.Transpose, backend, { x: view(dy, [n, oh, ow, ci, mult]) }, {
    perm: [1, 2, 3, 0, 4],
  }); // [oh, ow, Ci, N, mult]
  const y = runKernel(tf.DepthwiseConv2dNative, backend, {
    x: view(xT, [1, h, w, ci * n]),
    filter: view(dyT, [oh, ow, ci * n, mult]),
  }, {
    strides: [1, 1],
    dilations: [info.strideHeight, info.strideWidth],
    pad: explicitPad(ah, aw),
  }); // [1, rows_h, rows_w, Ci*N*mult]
  backend.disposeData(xT.dataId);
  backend.disposeData(dyT.dataId);

  const out = backend.makeOutput([kh, kw, ci, mult], "float32");
  const yv = heapF32(backend, y);
  const dw = heapF32(backend, out);
  const inner = n * mult;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const src = (i * aw.rows + j) * ci * inner;
      const dst = (i * kw + j) * ci * mult;
      for (let c = 0; c < ci; c++) {
        for (let m = 0; m < mult; m++) {
          let acc = 0;
          for (let b = 0; b < n; b++) acc += yv[src + c * inner + b * mult + m];
          dw[dst + c * mult + m] = acc;
        }
      }
    }
  }
  backend.disposeData(y.dataId);
  return out;
}

function depthwiseBackpropInput(
  { inputs, backend, attrs }: KernelArgs<
    tf.DepthwiseConv2dNativeBackpropInputInputs,
    tf.DepthwiseConv2dNativeBackpropInputAttrs
  >,
): tf.TensorInfo {
  const name = tf.DepthwiseConv2dNativeBackpropInput;
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  assertNoDilation(name, attrs.dilations);
  assertRank4(name, "inputShape", attrs.inputShape);
  const [kh, kw, ci, mult] = filter.shape as Shape4;
  const info = forwardInfo(name, attrs.inputShape, filter.shape as Shape4, dy.shape, {
    ...attrs,
    depthwise: true,
  });
  const [n, h, w] = attrs.inputShape;
  const [, oh, ow] = dy.shape;
  const sh = info.strideHeight, sw = info.strideWidth;
  const ah = inputGradAxis(h, kh, sh, info.padInfo.top, oh);
  const aw = inputGradAxis(w, kw, sw, info.padInfo.left, ow);
  const phases = sh * sw;

  // Phase filter G[jh, jw, c*mult + m, ph*sw + pw] = W[ph + sh*(Jh-1-jh), pw + sw*(Jw-1-jw), c, m].
  const wv = heapF32(backend, filter);
  const channels = ci * mult;
  const g = new Float32Array(ah.taps * aw.taps * channels * phases);
  for (let jh = 0; jh < ah.taps; jh++) {
    for (let ph = 0; ph < sh; ph++) {
      const i = ph + sh * (ah.taps - 1 - jh);
      if (i >= kh) continue;
      for (let jw = 0; jw < aw.taps; jw++) {
        for (let pw = 0; pw < sw; pw++) {
          const j = pw + sw * (aw.taps - 1 - jw);
          if (j >= kw) continue;
          const src = (i * kw + j) * channels;
          const dst = (jh * aw.taps + jw) * channels * phases + ph * sw + pw;
          for (let c = 0; c < channels; c++) g[dst + c * phases] = wv[src + c];
        }
      }
    }
  }
  const gInfo = fromValues(backend, [ah.taps, aw.taps, channels, phases], g);
  const y = runKernel(tf.DepthwiseConv2dNative, backend, { x: dy, filter: gInfo }, {
    strides: [1, 1],
    dilations: [1, 1],
    pad: explicitPad(ah, aw),
  }); // [N, rows_h, rows_w, Ci*mult*phases]
  backend.disposeData(gInfo.dataId);

  // Interleave the phases, crop, and sum the channel multiplier.
  const out = backend.makeOutput([n, h, w, ci], "float32");
  const yv = heapF32(backend, y);
  const dx = heapF32(backend, out);
  for (let b = 0; b < n; b++) {
    for (let t = 0; t < h; t++) {
      const th = t + ah.offset;
      const rowBase = (b * ah.rows + Math.floor(th / sh)) * aw.rows;
      const ph = th % sh;
      for (let u = 0; u < w; u++) {
        const tw = u + aw.offset;
        const src = (rowBase + Math.floor(tw / sw)) * channels * phases + ph * sw + (tw % sw);
        const dst = ((b * h + t) * w + u) * ci;
        for (let c = 0; c < ci; c++) {
          let acc = 0;
          for (let m = 0; m < mult; m++) acc += yv[src + (c * mult + m) * phases];
          dx[dst + c] = acc;
        }
      }
    }
  }
  backend.disposeData(y.dataId);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// UnsortedSegmentSum.

function unsortedSegmentSum(
  { inputs, backend, attrs }: KernelArgs<tf.UnsortedSegmentSumInputs, tf.UnsortedSegmentSumAttrs>,
): tf.TensorInfo {
  const x = inputs.x as tf.TensorInfo;
  const ids = inputs.segmentIds as tf.TensorInfo;
  const { numSegments } = attrs;
  const rank = ids.shape.length;
  if (ids.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(
      `UnsortedSegmentSum: segmentIds [${ids.shape.join(",")}] must be a prefix of x [${x.shape.join(",")}]`,
    );
  }
  if (x.dtype !== "float32" && x.dtype !== "int32") {
    throw new Error(`UnsortedSegmentSum on wasm supports float32 and int32 data, got ${x.dtype}`);
  }
  const innerShape = x.shape.slice(rank);
  const inner = tf.util.sizeFromShape(innerShape);
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  const xv = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const idv = backend.typedArrayFromHeap(ids);
  const acc = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  acc.fill(0);
  for (let r = 0; r < idv.length; r++) {
    const id = idv[r];
    if (id < 0 || id >= numSegments) continue; // ids outside [0, numSegments) are dropped, as in TensorFlow
    const src = r * inner, dst = id * inner;
    for (let k = 0; k < inner; k++) acc[dst + k] += xv[src + k];
  }
  return out;
}
