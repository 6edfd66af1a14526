import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "./lib/backend/backend.ts";
await initBackend({ backend: "wasm", threads: Number(Deno.args[0] ?? 2) });
function t(fn: () => tf.Tensor): number {
  fn().dispose();
  const ts = [];
  for (let i = 0; i < 3; i++) { const t0 = performance.now(); fn().dispose(); ts.push(performance.now() - t0); }
  return ts.sort((a, b) => a - b)[1];
}
for (const [n, h, ci, co] of [[16, 32, 64, 64], [64, 16, 256, 128], [64, 32, 128, 64], [64, 8, 256, 256]]) {
  const k = 3;
  const fl = 2 * n * h * h * ci * co * k * k;
  const xin = tf.randomNormal([k * ci, h, 1, h * n]) as tf.Tensor4D;
  const f0 = tf.randomNormal([h, 1, h * n, co]) as tf.Tensor4D;
  const tc = t(() => { const f = tf.clone(f0); const o = tf.conv2d(xin, f, 1, [[0, 0], [1, 1], [0, 0], [0, 0]]); f.dispose(); return o; });
  // full matmul version: [k*k*ci, h*h*n] @ [h*h*n, co]
  const a = tf.randomNormal([k * k * ci, h * h * n]) as tf.Tensor2D;
  const b = tf.randomNormal([h * h * n, co]) as tf.Tensor2D;
  const tm = t(() => tf.matMul(a, b));
  const at = tf.randomNormal([h * h * n, k * k * ci]) as tf.Tensor2D;
  const tmt = t(() => tf.matMul(at, b, true, false));
  console.log(`[${n},${h},${h},${ci}]->${co}: 1-D conv ${tc.toFixed(1)} ms = ${(fl / tc / 1e6).toFixed(1)} GFLOP/s; matmul ${(fl / tm / 1e6).toFixed(1)}; matmul transA ${(fl / tmt / 1e6).toFixed(1)}`);
  tf.dispose([xin, f0, a, b, at]);
}
