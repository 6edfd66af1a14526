/**
 * Benchmark of a tfjs backend for GAN training: convolution throughput and the time of one GAN training step.
 *
 * Prints progress to stderr and ONE JSON object on the last line of stdout:
 * - `conv2d_forward_gflops`: x [16,32,32,64] * w [3,3,64,64], 'same' padding, FLOPs = 2*N*H*W*Ci*Co*kh*kw,
 *   median of 5 timed runs after one warm-up; on wasm also `conv2d_backprop_input_gflops` and
 *   `conv2d_backprop_filter_gflops` for the two gradients of that convolution (not on cpu, whose
 *   Conv2DBackpropFilter takes about 80 s for this shape).
 * - `gan_step_ms`: median time of one training step (one discriminator and one generator Adam update) of a small
 *   PGGAN-like 32x32 GAN at batch 64 with the non-saturating logistic loss; the first step is a warm-up. On cpu
 *   a step at batch 64 takes far too long to wait for: use e.g. `--batch 2 --steps 1` there.
 *
 * With `--scenes` it measures instead how fast the synthetic scenes are drawn (plain JavaScript, no backend):
 * `renderScene` at `--size` (default 64) for `--count` seeds (default 500) after 50 warm-up scenes, best of 3
 * rounds; the JSON has `scenes_per_second` and `scenes_ms_per_scene` (about 6,000 scenes/s on one idle core).
 *
 * Usage: `deno run -A experiments/bench_backend.ts [--backend wasm|cpu] [--threads T] [--steps N] [--batch B]`
 * (defaults: wasm, {@link initBackend}'s thread count, 3 timed steps, batch 64), or
 * `deno run -A experiments/bench_backend.ts --scenes [--size S] [--count N]`.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs"; // registers the gradients of the tfjs-core ops (tfjs-core alone has none)
import { commandConfig } from "../lib/util/config.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { registerWasmTrainingKernels } from "../lib/backend/wasm_kernels.ts";
import { renderScene } from "../lib/data/scenes.ts";

const LATENT = 128;
const LEAK = 0.2;
const G_WIDTHS = [256, 256, 128, 64]; // at 4, 8, 16, 32
const D_WIDTHS = [64, 128, 256]; // at 16, 8, 4 (stride-2 convs from 32)

function log(message: string): void {
  console.error(`[bench] ${message}`);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median milliseconds of `f` over `runs` runs after `warmup` runs; `f` returns tensors that are disposed. */
function timeMs(f: () => tf.Tensor, runs: number, warmup: number): number {
  const times: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    const out = f();
    out.dataSync(); // wait for the result (a no-op on synchronous backends)
    const dt = performance.now() - t0;
    out.dispose();
    if (i >= warmup) times.push(dt);
  }
  return median(times);
}

/** GFLOP/s of the 3x3 'same' convolution of the benchmark and, if asked, of its two gradients. */
function benchConv(runs: number, gradients: boolean): Record<string, number> {
  const [n, h, w, ci, co, k] = [16, 32, 32, 64, 64, 3];
  const flops = 2 * n * h * w * ci * co * k * k;
  const x = tf.randomNormal([n, h, w, ci]) as tf.Tensor4D;
  const f = tf.randomNormal([k, k, ci, co]) as tf.Tensor4D;
  const dy = tf.randomNormal([n, h, w, co]) as tf.Tensor4D;
  const gflops = (ms: number) => flops / ms / 1e6;
  const forward = timeMs(() => tf.conv2d(x, f, 1, "same"), runs, 1);
  const result: Record<string, number> = {
    conv2d_forward_ms: forward,
    conv2d_forward_gflops: gflops(forward),
  };
  if (gradients) {
    const input = timeMs(() => tf.conv2dTranspose(dy, f, [n, h, w, ci], 1, "same"), runs, 1);
    const attrs = { strides: 1, pad: "same", dataFormat: "NHWC", filterShape: [k, k, ci, co] };
    const filter = timeMs(
      () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as tf.NamedAttrMap) as tf.Tensor,
      runs,
      1,
    );
    result.conv2d_backprop_input_gflops = gflops(input);
    result.conv2d_backprop_filter_gflops = gflops(filter);
  }
  tf.dispose([x, f, dy]);
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// A small PGGAN-like GAN, written with tfjs-core ops.

type Params = Record<string, tf.Variable>;

/** He-initialised conv weight [k, k, ci, co] and zero bias [co]. */
function convParams(params: Params, name: string, k: number, ci: number, co: number): void {
  params[`${name}.w`] = tf.variable(tf.randomNormal([k, k, ci, co], 0, Math.sqrt(2 / (k * k * ci))));
  params[`${name}.b`] = tf.variable(tf.zeros([co]));
}

function conv(
  params: Params,
  name: string,
  x: tf.Tensor4D,
  strides: number,
  pad: "same" | number,
): tf.Tensor4D {
  const y = tf.conv2d(x, params[`${name}.w`] as tf.Tensor4D, strides, pad);
  return tf.add(y, params[`${name}.b`]);
}

function pixelNorm(x: tf.Tensor4D): tf.Tensor4D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-8)));
}

function block(x: tf.Tensor4D): tf.Tensor4D {
  return pixelNorm(tf.leakyRelu(x, LEAK));
}

function makeGenerator(): Params {
  const p: Params = {};
  convParams(p, "layer1", 4, LATENT, G_WIDTHS[0]); // 1x1 → 4x4 (padding 3), as PGGAN's layer1
  convParams(p, "layer2", 3, G_WIDTHS[0], G_WIDTHS[0]);
  for (let i = 1; i < G_WIDTHS.length; i++) convParams(p, `up${i}`, 3, G_WIDTHS[i - 1], G_WIDTHS[i]);
  convParams(p, "to_rgb", 1, G_WIDTHS.at(-1)!, 3);
  return p;
}

/** z [B, 128] → images [B, 32, 32, 3] in (-1, 1). */
function generate(p: Params, z: tf.Tensor2D): tf.Tensor4D {
  const z4 = tf.reshape(z, [z.shape[0], 1, 1, LATENT]) as tf.Tensor4D; // [B, 1, 1, 128]
  let x = block(conv(p, "layer1", pixelNorm(z4), 1, 3)); // [B, 4, 4, 256]
  x = block(conv(p, "layer2", x, 1, "same"));
  for (let i = 1; i < G_WIDTHS.length; i++) {
    const [, h, w] = x.shape;
    x = tf.image.resizeNearestNeighbor(x, [2 * h, 2 * w]); // [B, 2H, 2W, C]
    x = block(conv(p, `up${i}`, x, 1, "same"));
  }
  return tf.tanh(conv(p, "to_rgb", x, 1, "same")); // [B, 32, 32, 3]
}

function makeDiscriminator(): Params {
  const p: Params = {};
  let ci = 3;
  D_WIDTHS.forEach((co, i) => {
    convParams(p, `down${i}`, 3, ci, co);
    ci = co;
  });
  const features = 4 * 4 * ci;
  p["dense.w"] = tf.variable(tf.randomNormal([features, 1], 0, Math.sqrt(1 / features)));
  p["dense.b"] = tf.variable(tf.zeros([1]));
  return p;
}

/** images [B, 32, 32, 3] → logits [B, 1]. */
function discriminate(p: Params, images: tf.Tensor4D): tf.Tensor2D {
  let x = images;
  D_WIDTHS.forEach((_, i) => x = tf.leakyRelu(conv(p, `down${i}`, x, 2, "same"), LEAK)); // halves H, W
  const flat = tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D; // [B, 4*4*256]
  return tf.add(tf.matMul(flat, p["dense.w"] as tf.Tensor2D), p["dense.b"]);
}

interface Gan {
  g: Params;
  d: Params;
  gOpt: tf.AdamOptimizer;
  dOpt: tf.AdamOptimizer;
}

/**
 * One D and one G Adam update (`minimize` = `variableGrads` + `applyGradients`) with the non-saturating
 * logistic loss; returns [dLoss, gLoss].
 */
function trainStep(gan: Gan, real: tf.Tensor4D): [number, number] {
  const batch = real.shape[0];
  const losses = tf.tidy(() => {
    const fake = generate(gan.g, tf.randomNormal([batch, LATENT]));
    const dLoss = gan.dOpt.minimize(
      () =>
        tf.add(
          tf.mean(tf.softplus(tf.neg(discriminate(gan.d, real)))),
          tf.mean(tf.softplus(discriminate(gan.d, fake))),
        ) as tf.Scalar,
      true,
      Object.values(gan.d),
    )!;
    const z = tf.randomNormal([batch, LATENT]) as tf.Tensor2D;
    const gLoss = gan.gOpt.minimize(
      () => tf.mean(tf.softplus(tf.neg(discriminate(gan.d, generate(gan.g, z))))) as tf.Scalar,
      true,
      Object.values(gan.g),
    )!;
    return tf.stack([dLoss, gLoss]);
  });
  const [dLoss, gLoss] = losses.dataSync();
  losses.dispose();
  return [dLoss, gLoss];
}

function benchGan(batch: number, steps: number): Record<string, unknown> {
  const gan: Gan = {
    g: makeGenerator(),
    d: makeDiscriminator(),
    gOpt: tf.train.adam(1e-3, 0, 0.99),
    dOpt: tf.train.adam(1e-3, 0, 0.99),
  };
  const real = tf.randomUniform([batch, 32, 32, 3], -1, 1) as tf.Tensor4D;
  const times: number[] = [];
  let last: [number, number] = [NaN, NaN];
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    last = trainStep(gan, real);
    const ms = performance.now() - t0;
    log(
      `GAN step ${i}${i === 0 ? " (warm-up)" : ""}: ${ms.toFixed(0)} ms, D loss ${last[0].toFixed(3)}, ` +
        `G loss ${last[1].toFixed(3)}, ${tf.memory().numTensors} tensors`,
    );
    if (i > 0) times.push(ms);
  }
  tf.dispose([real, ...Object.values(gan.g), ...Object.values(gan.d)]);
  gan.gOpt.dispose();
  gan.dOpt.dispose();
  return { gan_batch: batch, gan_step_ms: median(times), gan_step_ms_all: times, gan_losses: last };
}

/** Scenes drawn per second by `renderScene` at `size`: the best of 3 rounds of `count` fresh seeds. */
function benchScenes(size: number, count: number): Record<string, number> {
  for (let i = 0; i < 50; i++) renderScene(i, { size }); // warm up
  const rounds: number[] = [];
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) renderScene(10_000 + round * count + i, { size });
    rounds.push(performance.now() - t0);
    log(`scenes round ${round}: ${count} scenes of ${size}x${size} in ${rounds.at(-1)!.toFixed(0)} ms`);
  }
  const best = Math.min(...rounds);
  return {
    scenes_size: size,
    scenes_count: count,
    scenes_per_second: count / (best / 1000),
    scenes_ms_per_scene: best / count,
  };
}

async function main(): Promise<void> {
  const values = commandConfig(
    {
      backend: { default: "wasm", help: "tfjs backend measured", choices: ["wasm", "cpu"] },
      threads: {
        default: 0,
        help: "wasm threads (0: GANATOMY_THREADS or all cores)",
        integer: true,
        min: 0,
        max: 64,
      },
      steps: { default: 3, help: "timed GAN training steps (the median is reported)", integer: true, min: 1 },
      batch: { default: 64, help: "batch of the GAN training step", integer: true, min: 1, max: 1024 },
      scenes: { default: false, help: "time renderScene instead (scenes/s)" },
      size: { default: 64, help: "with --scenes: image size", integer: true, min: 8, max: 1024 },
      count: { default: 500, help: "with --scenes: scenes rendered", integer: true, min: 1 },
    },
    {
      command: "deno task bench:backend",
      summary:
        "JSON: conv2d GFLOP/s and ms per GAN training step on a tfjs backend (or renderScene's scenes/s).",
    },
  );
  if (values.scenes) {
    const result = benchScenes(values.size, values.count);
    console.log(JSON.stringify({ bench: "scenes", ...result }));
    return;
  }
  const backend = values.backend as "wasm" | "cpu";
  const { steps, batch } = values;
  const threads = values.threads || undefined;

  const info = await initBackend({ backend, threads });
  // initBackend registers them too; this idempotent call keeps the bench independent of that.
  const kernels = backend === "wasm" ? registerWasmTrainingKernels() : [];
  log(`backend ${tf.getBackend()}, ${info.threads} thread(s)`);

  const conv = benchConv(5, backend === "wasm");
  log(`conv2d ${Object.entries(conv).map(([key, v]) => `${key} ${v.toFixed(2)}`).join(", ")}`);
  const gan = benchGan(batch, steps);
  console.log(JSON.stringify({ backend: info.backend, threads: info.threads, kernels, ...conv, ...gan }));
}

if (import.meta.main) await main();
