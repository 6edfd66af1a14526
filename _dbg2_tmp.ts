import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "./lib/backend/backend.ts";
import { registerWasmTrainingKernels } from "./lib/backend/wasm_kernels.ts";
await initBackend({ backend: "wasm", threads: Number(Deno.args[0] ?? 2) });
const builtin = tf.getKernel("Conv2DBackpropInput", "wasm")!.kernelFunc;
registerWasmTrainingKernels({ replaceConv2dBackpropInput: true });
const ours = tf.getKernel("Conv2DBackpropInput", "wasm")!.kernelFunc;
const backend = tf.backend();
for (const [n, h, ci, co, s] of [[16, 32, 64, 64, 1], [64, 16, 256, 128, 1], [64, 32, 64, 128, 2], [64, 32, 128, 64, 1], [64, 8, 256, 256, 1]]) {
  const k = 3, oh = h / s;
  const f = tf.randomNormal([k, k, ci, co]) as tf.Tensor4D;
  const dy = tf.randomNormal([n, oh, oh, co]) as tf.Tensor4D;
  const x = tf.randomNormal([n, h, h, ci]) as tf.Tensor4D;
  const fl = 2 * n * oh * oh * ci * co * k * k;
  const attrs = { strides: s, pad: "same", dataFormat: "NHWC", inputShape: [n, h, h, ci] };
  const run = (fn: tf.KernelFunc) => { const t0 = performance.now(); const o = fn({ inputs: { dy, filter: f }, backend, attrs } as never) as tf.TensorInfo; const dt = performance.now() - t0; backend.disposeData(o.dataId); return dt; };
  const fwd = () => { const t0 = performance.now(); tf.conv2d(x, f, s, "same").dispose(); return performance.now() - t0; };
  const tb: number[] = [], to: number[] = [], tf_: number[] = [];
  run(builtin); run(ours); fwd();
  for (let i = 0; i < 4; i++) { tb.push(run(builtin)); to.push(run(ours)); tf_.push(fwd()); }
  const med = (a: number[]) => a.sort((p, q) => p - q)[2];
  const g = (ms: number) => (fl / ms / 1e6).toFixed(1);
  console.log(`[${n},${h},${h},${ci}]->${co} s${s}: forward ${g(med(tf_))}, builtin input ${g(med(tb))}, ours input ${g(med(to))} GFLOP/s`);
  tf.dispose([f, dy, x]);
}
