/**
 * `deno task fid` and `deno task prdc` end to end: feature files, statistics files and folders of PNGs, against
 * the numpy / scipy references of tests/fixtures/metrics.
 */
import { strict as assert } from "node:assert";
import { join, resolve } from "node:path";
import { savePng } from "../io/png.ts";
import { Rng } from "../tensor/rng.ts";
import { writeFeatures } from "./features.ts";
import { fixturePath, loadExpected, loadFeatureFixtures, relativeError } from "./test_util.ts";

const ROOT = resolve(import.meta.dirname!, "../..");
const fixtures = await loadFeatureFixtures();
const expected = await loadExpected();

async function cli(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string; last: unknown }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "lib/cli.ts"), ...args, "--backend", "cpu"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout);
  const line = stdout.trim().split("\n").at(-1);
  return {
    code: out.code,
    stdout,
    stderr: dec.decode(out.stderr),
    last: line ? JSON.parse(line) : undefined,
  };
}

async function featureFile(dir: string, name: string): Promise<string> {
  const t = fixtures.get(name)!;
  const path = join(dir, `${name}.safetensors`);
  await writeFeatures(path, t.data as Float32Array, { dim: t.shape[1], name: "fixture-features" });
  return path;
}

async function pngFolder(dir: string, name: string, count: number, seed: number): Promise<string> {
  const folder = join(dir, name);
  await Deno.mkdir(folder);
  const rng = new Rng(seed);
  for (let i = 0; i < count; i++) {
    const data = Uint8Array.from({ length: 12 * 12 * 3 }, () => rng.int(256));
    await savePng(join(folder, `${i}.png`), { data, height: 12, width: 12, channels: 3 });
  }
  return folder;
}

Deno.test("fid: feature files, then the saved statistics file, give scipy's value", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await featureFile(dir, "fid_a"), b = await featureFile(dir, "fid_b");
    const stats = join(dir, "a_stats.safetensors");
    const r = await cli("fid", a, b, "--features", "--save-a", stats);
    assert.equal(r.code, 0, r.stderr);
    const out = r.last as Record<string, unknown>;
    assert.deepEqual(
      { n_a: out.n_a, n_b: out.n_b, metric: out.metric, features: out.features },
      { n_a: 300, n_b: 250, metric: "FD (fixture-features)", features: "fixture-features" },
    );
    assert.ok(relativeError(out.fd as number, expected.fid.well.fid) < 1e-6);
    const again = await cli("fid", stats, b);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(relativeError((again.last as { fd: number }).fd, expected.fid.well.fid) < 1e-6);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fid: folders of PNGs need --inception; with it they run (narrow random Inception)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await pngFolder(dir, "a", 3, 1), b = await pngFolder(dir, "b", 4, 2);
    const missing = await cli("fid", a, b);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /a folder of images, so a feature extractor is needed: pass --inception/);
    const r = await cli("fid", a, b, "--inception", fixturePath("inception_narrow.pth"), "--batch", "2");
    assert.equal(r.code, 0, r.stderr);
    const out = r.last as Record<string, unknown>;
    assert.equal(out.features, "inception-v3 (inception_narrow.pth)"); // not pytorch-fid's weights: not "FID"
    assert.equal(out.metric, "FD (inception-v3 (inception_narrow.pth))");
    assert.deepEqual([out.n_a, out.n_b], [3, 4]);
    assert.match(r.stderr, /singular \(3 samples ≤ 128 dimensions\)/);
    const mixed = await cli(
      "fid",
      a,
      await featureFile(dir, "fid_b"),
      "--inception",
      fixturePath("inception_narrow.pth"),
    );
    assert.equal(mixed.code, 1);
    assert.match(mixed.stderr, /different feature spaces/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prdc: feature files give the official code's values; --out writes per-sample realism", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const real = await featureFile(dir, "pr_real"), fake = await featureFile(dir, "pr_fake");
    const scores = join(dir, "scores.json");
    const r = await cli("prdc", real, fake, "--k", "3", "--out", scores);
    assert.equal(r.code, 0, r.stderr);
    const out = r.last as Record<string, number>;
    const ref = expected.prdc.k3;
    for (const key of ["precision", "recall", "density", "coverage"]) {
      assert.ok(Math.abs(out[key] - ref[key]) < 1e-6, `${key}: ${out[key]} vs ${ref[key]}`);
    }
    assert.deepEqual([out.n_real, out.n_fake, out.k], [200, 180, 3]);
    const written = JSON.parse(await Deno.readTextFile(scores));
    assert.equal(written.realism.length, 180);
    assert.ok(Math.abs(written.realism[7] - ref.realism[7]) / ref.realism[7] < 1e-5);
    assert.equal(written.files, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prdc: folders need --vgg or --inception; with --vgg they run and save features", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const real = await pngFolder(dir, "real", 5, 3), fake = await pngFolder(dir, "fake", 4, 4);
    const missing = await cli("prdc", real, fake);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /pass --vgg <vgg16.pth>/);
    const saved = join(dir, "real_features.safetensors"), scores = join(dir, "scores.json");
    const r = await cli(
      "prdc",
      real,
      fake,
      "--k",
      "2",
      "--vgg",
      fixturePath("vgg_narrow.pth"),
      "--save-real",
      saved,
      "--out",
      scores,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((r.last as { features: string }).features, "vgg16-fc2");
    assert.deepEqual(JSON.parse(await Deno.readTextFile(scores)).files, ["0.png", "1.png", "2.png", "3.png"]);
    const reuse = await cli("prdc", saved, fake, "--k", "2", "--vgg", fixturePath("vgg_narrow.pth"));
    assert.equal(reuse.code, 0, reuse.stderr);
    assert.deepEqual(reuse.last, r.last);
    const usage = await cli("prdc", real);
    assert.equal(usage.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
