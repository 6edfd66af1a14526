/**
 * The command line end to end: `generate` reproduces PyTorch's images and traced activations for checkpoints it
 * has never seen (both `.pth` formats, old key names, resolutions 8–256), on both engines; `convert` round-trips.
 */
import { strict as assert } from "node:assert";
import { join, resolve } from "node:path";
import { readSafetensors } from "../lib/io/safetensors.ts";

const ROOT = resolve(import.meta.dirname!, "..");
const FIXTURES = join(ROOT, "tests/fixtures/pggan");

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "lib/cli.ts"), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function maxRelError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

const CASES: [string, string][] = [
  ["pggan32_legacy_old_keys", "ort"],
  ["pggan64_legacy", "tfjs"],
  ["pggan256_zip_wrapped", "ort"],
];

for (const [name, engine] of CASES) {
  Deno.test(`generate (${engine}) reproduces PyTorch for ${name}`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const ref = join(FIXTURES, `${name}.ref.safetensors`);
      const out = join(dir, "out.safetensors");
      const r = await cli(
        "generate",
        "--checkpoint",
        join(FIXTURES, `${name}.pth`),
        "--z",
        ref,
        "--trace",
        "layer2",
        "--engine",
        engine,
        "--out",
        out,
      );
      assert.equal(r.code, 0, r.stderr);
      const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      assert.equal(summary.engine, engine);
      const [got, want] = [await readSafetensors(out), await readSafetensors(ref)];
      for (const key of ["images", "layer2"]) {
        const g = got.tensors.get(key)!;
        const w = want.tensors.get(key)!;
        assert.deepEqual(g.shape, w.shape);
        const err = maxRelError(g.data as Float32Array, w.data as Float32Array);
        assert.ok(err <= 1e-4, `${key}: relative error ${err}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("generate writes a labelled PNG grid from seeds; convert writes a loadable safetensors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const png = join(dir, "grid.png");
    const r = await cli(
      "generate",
      "--checkpoint",
      join(FIXTURES, "pggan16_zip.pth"),
      "--seeds",
      "0-5",
      "--out",
      png,
    );
    assert.equal(r.code, 0, r.stderr);
    const bytes = await Deno.readFile(png);
    assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    const st = join(dir, "g.safetensors");
    const c = await cli("convert", join(FIXTURES, "pggan16_zip.pth"), st);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(JSON.parse(c.stdout.trim()).resolution, 16);
    const again = await cli(
      "generate",
      "--checkpoint",
      st,
      "--seeds",
      "0-1",
      "--out",
      join(dir, "x.safetensors"),
    );
    assert.equal(again.code, 0, again.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the CLI names the file and the problem on bad input", async () => {
  const missing = await cli(
    "generate",
    "--checkpoint",
    "/nonexistent/g.pth",
    "--seeds",
    "0",
    "--out",
    "/tmp/x.png",
  );
  assert.equal(missing.code, 2, "a missing input file is a usage error, found before any work");
  assert.match(missing.stderr, /^error: --checkpoint: \/nonexistent\/g\.pth: no such file/);
  const usage = await cli("generate", "--seeds", "0");
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--checkpoint is required/);
  const seeds = await cli(
    "generate",
    "--checkpoint",
    join(FIXTURES, "pggan8_zip.pth"),
    "--seeds",
    "3-1",
    "--out",
    "/tmp/x.png",
  );
  assert.equal(seeds.code, 2);
  assert.match(seeds.stderr, /--seeds: range "3-1" runs backwards/);
});

Deno.test("fid and prdc measure folders of PNGs with a domain network, named FD (scenes-net)", async () => {
  const { renderScene, sceneImage } = await import("../lib/data/scenes.ts");
  const { savePng } = await import("../lib/io/png.ts");
  const dir = await Deno.makeTempDir();
  try {
    for (const [sub, start] of [["a", 0], ["b", 500]] as const) {
      for (let i = 0; i < 12; i++) {
        await savePng(join(dir, sub, `${i}.png`), sceneImage(renderScene(start + i)));
      }
    }
    const net = join(ROOT, "data/models/scenes_net.safetensors");
    const f = await cli("fid", join(dir, "a"), join(dir, "b"), "--net", net);
    assert.equal(f.code, 0, f.stderr);
    const fid = JSON.parse(f.stdout.trim().split("\n").at(-1)!);
    assert.equal(fid.metric, "FD (scenes-net)");
    assert.ok(fid.fd > 0 && fid.n_a === 12 && fid.n_b === 12);
    const p = await cli("prdc", join(dir, "a"), join(dir, "b"), "--net", net);
    assert.equal(p.code, 0, p.stderr);
    const pr = JSON.parse(p.stdout.trim().split("\n").at(-1)!);
    assert.equal(pr.features, "scenes-net");
    assert.ok(pr.precision >= 0 && pr.precision <= 1 && pr.recall >= 0 && pr.recall <= 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
