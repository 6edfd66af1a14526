/**
 * `deno task bench:generate`: images/s of PGGAN forwards with GAN Dissection's channel sizes (random weights):
 * ONNX Runtime (our forward engine), tfjs (our training engine) and PyTorch, side by side on the same
 * checkpoint, latents and thread count. Prints one JSON object with a row per (resolution, batch).
 *
 *     deno task bench:generate [--resolutions 64,256] [--batches 1,8] [--repeats 3] [--backend wasm]
 *                              [--engines ort,tfjs,pytorch]
 *
 * Row columns: `ours_*` is tfjs (on `--backend`), `ort_*` ONNX Runtime, `pytorch_*` PyTorch; ratios
 * `ratio_pytorch_over_ours` (PyTorch / tfjs), `ratio_ort_over_pytorch` and `ratio_ort_over_tfjs` compare
 * images/s. PyTorch runs when `/usr/bin/python3` imports torch (Debian's python3-torch); an engine that is not
 * run (or fails) has null columns. Every engine gets the thread count of the tfjs backend (`threads`).
 * @module
 */
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, initBackend } from "../lib/backend/backend.ts";
import { OrtGenerator } from "../lib/engine/ort.ts";
import { type RunResult, TfjsGenerator } from "../lib/engine/tfjs.ts";
import type { HostTensor } from "../lib/io/dtype.ts";
import { writeSafetensors } from "../lib/io/safetensors.ts";
import { PGGAN_SIZES, pgganFromWeights, randomPgganWeights } from "../lib/models/pggan.ts";
import { latents } from "../lib/tensor/rng.ts";
import { commandConfig } from "../lib/util/config.ts";

export const CONFIG = {
  resolutions: {
    default: [64, 256],
    help: "GAN Dissection PGGAN shapes to time, by resolution",
    integer: true,
    min: 8,
  },
  batches: { default: [1, 8], help: "batch sizes to time", integer: true, min: 1, max: 1024 },
  repeats: { default: 3, help: "timed runs per point (the median is reported)", integer: true, min: 1 },
  backend: {
    default: "wasm",
    help: "tfjs backend of the tfjs engine",
    choices: ["wasm", "cpu", "tensorflow"],
  },
  engines: {
    default: ["ort", "tfjs", "pytorch"],
    help: "engines to time",
    choices: ["ort", "tfjs", "pytorch"],
  },
};
const cfg = commandConfig(CONFIG, {
  command: "deno task bench:generate",
  summary: "JSON: PGGAN images/s at GAN Dissection's shapes, ONNX Runtime and tfjs against PyTorch.",
});
const info = await initBackend({ backend: cfg.backend as BackendName });
const dir = await Deno.makeTempDir({ prefix: "ganatomy-bench-" });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Images/s of `run` on a batch of `batch` (median of `cfg.repeats` runs after one warm-up). */
async function imagesPerSecond(batch: number, run: () => RunResult | Promise<RunResult>): Promise<number> {
  const once = async () => {
    const t = performance.now();
    const { output } = await run();
    await output.data();
    output.dispose();
    return (performance.now() - t) / 1000;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < cfg.repeats; i++) times.push(await once());
  return batch / median(times);
}

async function torchBench(weights: string, z: string, batch: number): Promise<number | null> {
  const script = join(import.meta.dirname!, "bench_generate_torch.py");
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [script, weights, z, String(batch), String(info.threads), String(cfg.repeats)],
      stderr: "piped",
    }).output();
    if (!out.success) {
      console.error(
        `pytorch bench failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)}`,
      );
      return null;
    }
    const result = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    return result.images_per_s;
  } catch {
    return null; // no /usr/bin/python3
  }
}

const ratio = (a: number | null, b: number | null) => (a !== null && b !== null ? a / b : null);
const show = (rate: number | null) => (rate === null ? "not run" : `${rate.toFixed(2)} img/s`);

const results = [];
for (const resolution of cfg.resolutions) {
  const sizes = PGGAN_SIZES[resolution];
  if (!sizes) throw new Error(`--resolutions: no GAN Dissection PGGAN shape for ${resolution}`);
  const weights = randomPgganWeights(sizes, { seed: resolution, biasStd: 0.1 });
  const file = join(dir, `pggan${resolution}.safetensors`);
  const tensors: Record<string, HostTensor> = {};
  for (const [k, w] of Object.entries(weights)) tensors[k] = { dtype: "F32", shape: w.shape, data: w.data };
  await writeSafetensors(file, tensors, { metadata: { "ganatomy.layout": "nhwc" } });
  const zAll = latents(Array.from({ length: Math.max(...cfg.batches) }, (_, i) => i), sizes[0]);
  const zFile = join(dir, `z${resolution}.safetensors`);
  await writeSafetensors(zFile, {
    z: { dtype: "F32", shape: zAll.shape, data: zAll.dataSync() as Float32Array },
  });

  const model = pgganFromWeights(weights);
  const ortGen = cfg.engines.includes("ort") ? new OrtGenerator(model, { threads: info.threads }) : null;
  const tfjsGen = cfg.engines.includes("tfjs") ? new TfjsGenerator(model) : null;
  for (const batch of cfg.batches) {
    const z = tf.slice(zAll, [0, 0], [batch, sizes[0]]);
    const label = `pggan ${resolution}x${resolution} batch ${batch}`;
    const ort = ortGen ? await imagesPerSecond(batch, () => ortGen.run(z)) : null;
    console.error(`${label}: ort ${show(ort)}`);
    const ours = tfjsGen ? await imagesPerSecond(batch, () => tfjsGen.run(z)) : null;
    console.error(`${label}: tfjs ${show(ours)}`);
    const torch = cfg.engines.includes("pytorch") ? await torchBench(file, zFile, batch) : null;
    console.error(`${label}: pytorch ${show(torch)}`);
    z.dispose();
    results.push({
      resolution,
      sizes,
      batch,
      ours_images_per_s: ours,
      ours_ms_per_image: ours && 1000 / ours,
      pytorch_images_per_s: torch,
      ratio_pytorch_over_ours: ratio(torch, ours),
      ort_images_per_s: ort,
      ort_ms_per_image: ort && 1000 / ort,
      ratio_ort_over_pytorch: ratio(ort, torch),
      ratio_ort_over_tfjs: ratio(ort, ours),
    });
  }
  await ortGen?.dispose();
  tfjsGen?.dispose();
  zAll.dispose();
}
await Deno.remove(dir, { recursive: true });
console.log(
  JSON.stringify({
    engine: "tfjs",
    backend: info.backend,
    threads: info.threads,
    ort_threads: info.threads,
    results,
  }),
);
tf.disposeVariables();
