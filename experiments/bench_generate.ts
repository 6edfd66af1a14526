/**
 * `deno task bench:generate`: images/s of PGGAN forwards with GAN Dissection's channel sizes (random weights),
 * ours against PyTorch on the same checkpoint, latents and thread count. Prints one JSON object.
 *
 *     deno task bench:generate [--resolutions 64,256] [--batch 16] [--repeats 3] [--backend wasm] [--torch true]
 *
 * PyTorch runs when `/usr/bin/python3` imports torch (Debian's python3-torch); otherwise its columns are null.
 * @module
 */
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, initBackend } from "../lib/backend/backend.ts";
import { TfjsGenerator } from "../lib/engine/tfjs.ts";
import type { HostTensor } from "../lib/io/dtype.ts";
import { writeSafetensors } from "../lib/io/safetensors.ts";
import { PGGAN_SIZES, pgganFromWeights, randomPgganWeights } from "../lib/models/pggan.ts";
import { latents } from "../lib/tensor/rng.ts";
import { parseConfig } from "../lib/util/config.ts";

const cfg = parseConfig({ resolutions: [64, 256], batch: 16, repeats: 3, backend: "wasm", torch: true });
const info = await initBackend({ backend: cfg.backend as BackendName });
const dir = await Deno.makeTempDir({ prefix: "ganatomy-bench-" });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function torchBench(weights: string, z: string): Promise<Record<string, unknown> | null> {
  if (!cfg.torch) return null;
  const script = join(import.meta.dirname!, "bench_generate_torch.py");
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [script, weights, z, String(cfg.batch), String(info.threads), String(cfg.repeats)],
      stderr: "piped",
    }).output();
    if (!out.success) {
      console.error(
        `pytorch bench failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)}`,
      );
      return null;
    }
    return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  } catch {
    return null; // no /usr/bin/python3
  }
}

const results = [];
for (const resolution of cfg.resolutions) {
  const sizes = PGGAN_SIZES[resolution];
  if (!sizes) throw new Error(`--resolutions: no GAN Dissection PGGAN shape for ${resolution}`);
  const weights = randomPgganWeights(sizes, { seed: resolution, biasStd: 0.1 });
  const file = join(dir, `pggan${resolution}.safetensors`);
  const tensors: Record<string, HostTensor> = {};
  for (const [k, w] of Object.entries(weights)) tensors[k] = { dtype: "F32", shape: w.shape, data: w.data };
  await writeSafetensors(file, tensors, { metadata: { "ganatomy.layout": "nhwc" } });
  const z = latents(Array.from({ length: cfg.batch }, (_, i) => i), sizes[0]);
  const zFile = join(dir, `z${resolution}.safetensors`);
  await writeSafetensors(zFile, { z: { dtype: "F32", shape: z.shape, data: z.dataSync() as Float32Array } });

  const gen = new TfjsGenerator(pgganFromWeights(weights));
  const once = async () => {
    const t = performance.now();
    const { output } = gen.run(z);
    await output.data();
    output.dispose();
    return (performance.now() - t) / 1000;
  };
  console.error(`pggan ${resolution}x${resolution}: warm-up`);
  await once();
  const times: number[] = [];
  for (let i = 0; i < cfg.repeats; i++) times.push(await once());
  gen.dispose();
  z.dispose();
  const ours = cfg.batch / median(times);
  console.error(`pggan ${resolution}x${resolution}: ours ${ours.toFixed(2)} img/s; running PyTorch`);
  const torch = await torchBench(file, zFile);
  const torchRate = torch ? (torch.images_per_s as number) : null;
  results.push({
    resolution,
    sizes,
    batch: cfg.batch,
    ours_images_per_s: ours,
    ours_ms_per_image: 1000 / ours,
    pytorch_images_per_s: torchRate,
    ratio_pytorch_over_ours: torchRate ? torchRate / ours : null,
  });
}
await Deno.remove(dir, { recursive: true });
console.log(JSON.stringify({ engine: "tfjs", backend: info.backend, threads: info.threads, results }));
tf.disposeVariables();
