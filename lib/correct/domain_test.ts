/**
 * A generator whose image channels differ from the domain's: GAN Dissection's format is always RGB, so a grey
 * domain gets a 3-channel checkpoint (and a scenes checkpoint may come grey). Both directions convert exactly in
 * the output layer with one line saying so.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { initBackend } from "../backend/backend.ts";
import { writeSafetensors } from "../io/safetensors.ts";
import { LAYOUT_KEY, readGeneratorWeights } from "../models/load.ts";
import { fashionMnist, optionalTest } from "../../tests/optional.ts";
import { loadDomain, matchChannels } from "./domain.ts";
import { randomPggan } from "../models/pggan.ts";

await initBackend({ backend: "cpu" });

/** A copy of a shipped generator whose output layer draws `channels` channels (mean of RGB, or repeated). */
async function withChannels(source: string, channels: number, out: string): Promise<void> {
  const weights = await readGeneratorWeights(source);
  const key = Object.keys(weights).find((k) => k.startsWith("output_") && k.endsWith(".conv.weight"))!;
  const bias = key.replace(".conv.weight", ".wscale.b");
  const w = weights[key];
  const [kh, kw, cin, cout] = w.shape;
  const data = new Float32Array(kh * kw * cin * channels);
  for (let i = 0; i < kh * kw * cin; i++) {
    for (let c = 0; c < channels; c++) data[i * channels + c] = cout === 1 ? w.data[i] : w.data[i * cout];
  }
  const b = weights[bias].data;
  const tensors = Object.fromEntries(
    Object.entries(weights).map(([k, v]) => [k, { dtype: "F32" as const, shape: v.shape, data: v.data }]),
  );
  tensors[key] = { dtype: "F32", shape: [kh, kw, cin, channels], data };
  tensors[bias] = { dtype: "F32", shape: [channels], data: new Float32Array(channels).fill(b[0]) };
  await writeSafetensors(out, tensors, { metadata: { [LAYOUT_KEY]: "nhwc" } });
}

Deno.test("matchChannels converts 1 ↔ 3 channels and refuses others, saying what to do", () => {
  const rgb = randomPggan([8, 8, 4]);
  assert.equal(matchChannels(rgb, 3, "g.pth", "scenes"), rgb);
  assert.equal(matchChannels(rgb, 1, "g.pth", "fashion").outputChannels, 1);
  assert.throws(
    () => matchChannels(rgb, 2, "g.pth", "x"),
    /g\.pth: draws 3 channels, but the x domain has 2/,
  );
});

Deno.test("the scenes domain takes a grey checkpoint (repeated to RGB)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const grey = join(dir, "grey_scenes.safetensors");
    await withChannels("data/models/scenes_pggan64.safetensors", 1, grey);
    const domain = await loadDomain("scenes", { checkpoint: grey, engine: "tfjs" });
    assert.equal(domain.gen.model.outputChannels, 3);
    await domain.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

optionalTest(
  "the fashion domain takes an RGB checkpoint (GAN Dissection's format; mean of RGB)",
  fashionMnist(),
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const rgb = join(dir, "rgb_fashion.safetensors");
      await withChannels("data/models/fashion_pggan32.safetensors", 3, rgb);
      const domain = await loadDomain("fashion", { checkpoint: rgb, engine: "tfjs" });
      assert.equal(domain.gen.model.outputChannels, 1);
      await domain.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
