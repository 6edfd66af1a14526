/**
 * The metric inputs in process: files made by numpy (tests/fixtures/make_npy_fixtures.py) — `.npy` features,
 * pytorch-fid / clean-fid `.npz` statistics — feature spaces (named, unnamed, `featuresName`), the JSON of the
 * Fréchet distance, and the errors: each one line naming the input and what is wrong.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { savePng } from "../io/png.ts";
import { renderScene, sceneImage } from "../data/scenes.ts";
import { Rng } from "../tensor/rng.ts";
import { loadDomainNet } from "./domain_net.ts";
import { type FeatureExtractor, toRgb } from "../models/features.ts";
import { readFeatures, UNNAMED_FEATURES, writeFeatures } from "./features.ts";
import {
  featuresOfInput,
  featureSpace,
  fidOfInputs,
  frechetReport,
  inputKind,
  isInputFile,
  loadDomainExtractor,
  momentsOfInput,
  prdcOfInputs,
  statisticsOfInput,
} from "./inputs.ts";
import { precisionRecall } from "./prdc.ts";
import { relativeError } from "./test_util.ts";

await initBackend({ backend: "cpu" });
const NPY = new URL("../../tests/fixtures/npy/", import.meta.url).pathname;
const SCENES_NET = new URL("../../data/models/scenes_net.safetensors", import.meta.url).pathname;
const expected = JSON.parse(await Deno.readTextFile(join(NPY, "expected.json")));
const npy = (name: string) => join(NPY, name);
const quiet = { showProgress: false };

/** Collects warnings; `lines` checks each is one line. */
function warnings(): { warn: (m: string) => void; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    warn: (m) => {
      assert.ok(!m.includes("\n"), m);
      lines.push(m);
    },
  };
}

/** Asserts that `promise` rejects with a one-line Error matching `pattern` (a string is matched exactly). */
async function rejectsOneLine(promise: Promise<unknown>, pattern: RegExp | string): Promise<void> {
  await assert.rejects(promise, (e: Error) => {
    assert.ok(!(e instanceof RangeError), e.message);
    assert.ok(!e.message.includes("\n"), e.message);
    if (typeof pattern === "string") assert.equal(e.message, pattern);
    else assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("fid of two unnamed .npy feature arrays: one warning, the same unnamed space, key fd", async () => {
  const w = warnings();
  const { report, a, b } = await fidOfInputs(npy("features_a.npy"), npy("features_b.npy"), {
    ...quiet,
    warn: w.warn,
  });
  assert.deepEqual(Object.keys(report), ["metric", "fd", "n_a", "n_b", "features"]);
  assert.deepEqual({ ...report, fd: 0 }, {
    metric: "FD (unnamed features)",
    fd: 0,
    n_a: 40,
    n_b: 30,
    features: UNNAMED_FEATURES,
  });
  assert.ok(relativeError(report.fd!, expected.fd_a_b) < 1e-9, `${report.fd} vs scipy ${expected.fd_a_b}`);
  assert.deepEqual(w.lines, [
    `warning: ${npy("features_a.npy")} and ${
      npy("features_b.npy")
    } name no feature space; they are taken to be ` +
    `in the same unnamed space (name it with featuresName / --features-name)`,
  ]);
  assert.deepEqual([a.format, a.named, b.kind], ["npy", false, "features"]);
});

Deno.test("fid: featuresName names unnamed inputs; pytorch-fid's Inception name gives the key fid", async () => {
  const w = warnings();
  const named = await fidOfInputs(npy("features_a.npy"), npy("features_b.npy"), {
    ...quiet,
    warn: w.warn,
    featuresName: "scenes-net",
  });
  assert.deepEqual([named.report.metric, named.report.features, "fd" in named.report], [
    "FD (scenes-net)",
    "scenes-net",
    true,
  ]);
  const fid = await fidOfInputs(npy("features_a.npy"), npy("features_b.npy"), {
    ...quiet,
    warn: w.warn,
    featuresName: "inception-v3-fid",
  });
  assert.deepEqual(Object.keys(fid.report), ["metric", "fid", "n_a", "n_b", "features"]);
  assert.equal(fid.report.metric, "FID");
  assert.equal(fid.report.fid, named.report.fd);
  assert.deepEqual(w.lines, []);
  assert.deepEqual(frechetReport(1.5, "vgg16-fc2", 3), {
    metric: "FD (vgg16-fc2)",
    fd: 1.5,
    n_a: 3,
    n_b: null,
    features: "vgg16-fc2",
  });
});

for (const stats of ["stats.npz", "stats_compressed.npz"]) {
  Deno.test(`fid: pytorch-fid's --save-stats ${stats} (mu, sigma; no count) against .npy and clean-fid feats`, async () => {
    const w = warnings();
    const r = await fidOfInputs(npy(stats), npy("features_b.npy"), { ...quiet, warn: w.warn });
    assert.ok(relativeError(r.report.fd!, expected.fd_a_b) < 1e-9, `${r.report.fd} vs ${expected.fd_a_b}`);
    assert.deepEqual([r.report.n_a, r.report.n_b, r.a.kind, r.a.format, r.a.moments], [
      null,
      30,
      "statistics",
      "npz",
      undefined,
    ]);
    assert.deepEqual([...r.a.stats.mean], expected.stats.mu.values); // exact: read, not recomputed
    const feats = await fidOfInputs(npy(stats), npy("feats.npz"), { ...quiet, warn: w.warn });
    assert.equal(feats.report.fd, r.report.fd);
    assert.equal(w.lines.length, 2);
  });
}

Deno.test("fid: --save-a of countless statistics writes mu/sigma without a count, read back the same", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const saved = join(dir, "a.safetensors");
    const w = warnings();
    const first = await fidOfInputs(npy("stats.npz"), npy("features_b.npy"), {
      ...quiet,
      warn: w.warn,
      saveA: saved,
      featuresName: "toy",
    });
    const back = await statisticsOfInput(saved);
    assert.deepEqual([back.kind, back.format, back.features, back.named, back.stats.count], [
      "statistics",
      "safetensors",
      "toy",
      true,
      undefined,
    ]);
    assert.deepEqual([...back.stats.cov], expected.stats.sigma.values);
    const again = await fidOfInputs(saved, npy("features_b.npy"), { ...quiet, featuresName: "toy" });
    assert.equal(again.report.fd, first.report.fd);
    await rejectsOneLine(
      momentsOfInput(npy("stats.npz")),
      `${npy("stats.npz")}: statistics without a sample count (mu, sigma only) cannot be a RunningMoments; ` +
        `use statisticsOfInput`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("feature spaces: named ones must agree; named against unnamed needs featuresName", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = (await featuresOfInput(npy("features_a.npy"))).data;
    const vgg = join(dir, "vgg.safetensors"), inc = join(dir, "inc.safetensors");
    await writeFeatures(vgg, a, { dim: 6, name: "vgg16-fc2" });
    await writeFeatures(inc, a, { dim: 6, name: "inception-v3-fid" });
    await rejectsOneLine(
      fidOfInputs(vgg, inc, quiet),
      `the inputs are in different feature spaces (${vgg}: "vgg16-fc2", ${inc}: "inception-v3-fid"); ` +
        `a distance between them means nothing`,
    );
    const b = npy("features_b.npy");
    await rejectsOneLine(
      fidOfInputs(vgg, b, quiet),
      `${b} names no feature space but ${vgg} holds "vgg16-fc2" features; if ${b} holds "vgg16-fc2" features ` +
        `too, say so with featuresName (--features-name "vgg16-fc2")`,
    );
    const ok = await fidOfInputs(vgg, b, { ...quiet, featuresName: "vgg16-fc2" });
    assert.equal(ok.report.metric, "FD (vgg16-fc2)");
    await rejectsOneLine(
      fidOfInputs(vgg, b, { ...quiet, featuresName: "scenes-net" }),
      `${vgg} holds "vgg16-fc2" features, but featuresName (--features-name) says "scenes-net"`,
    );
    assert.throws(() => featureSpace([{ path: "x", features: "a", named: true }], { featuresName: " " }), {
      message: "featuresName (--features-name) must not be empty",
    });
    assert.deepEqual(featureSpace([{ path: "x", features: "a", named: true }], { featuresName: "" }), {
      features: "a",
      named: true,
    });
    const four = join(dir, "four.safetensors");
    await writeFeatures(four, new Float32Array(12), { dim: 4 });
    assert.equal((await readFeatures(four)).named, false);
    await rejectsOneLine(
      fidOfInputs(four, b, { ...quiet, warn: () => {} }),
      `${b} holds 6-d features, but ${four} holds 4-d ones`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inputs that are not features or statistics: one line naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await rejectsOneLine(
      inputKind(join(dir, "nope.npy")),
      `${join(dir, "nope.npy")}: no such file or folder`,
    );
    const txt = join(dir, "x.txt");
    await Deno.writeTextFile(txt, "");
    await rejectsOneLine(
      inputKind(txt),
      `${txt}: expected a folder of PNGs, or a feature / statistics file ending in .safetensors, .npy, .npz`,
    );
    await rejectsOneLine(
      inputKind(npy("i4.npy")),
      `${npy("i4.npy")}: a .npy input must be a float feature array [N, D], got <i4 [3,2]`,
    );
    await rejectsOneLine(inputKind(npy("fortran.npy")), /fortran\.npy: \.npy array is in Fortran/);
    await rejectsOneLine(
      inputKind(npy("bad_member.npz")),
      `${npy("bad_member.npz")}: holds neither "mu"/"sigma" (pytorch-fid / clean-fid statistics) nor ` +
        `"feats"/"features" (a feature array [N, D]) (found: x)`,
    );
    await rejectsOneLine(
      featuresOfInput(npy("stats.npz")),
      `${npy("stats.npz")} holds statistics (mu, sigma), but per-sample features are needed`,
    );
    const truncated = join(dir, "t.npy");
    await Deno.writeFile(truncated, (await Deno.readFile(npy("features_a.npy"))).subarray(0, 300));
    await rejectsOneLine(inputKind(truncated), new RegExp(`^${truncated}: truncated \\.npy file`));
    const broken = join(dir, "b.npz");
    await Deno.writeFile(broken, (await Deno.readFile(npy("stats_compressed.npz"))).subarray(0, 500));
    await rejectsOneLine(inputKind(broken), new RegExp(`^${broken}: zip`));
    const one = join(dir, "one.npy");
    await Deno.writeFile(one, await Deno.readFile(npy("empty.npy")));
    await rejectsOneLine(inputKind(one), `${one}: a .npy input holds no features (shape [0,3])`);
    assert.deepEqual([isInputFile("a.NPZ"), isInputFile("a/b"), isInputFile("x.safetensors")], [
      true,
      false,
      true,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A folder of `count` random RGB (or grey) PNGs of `size`×`size`. */
async function pngFolder(
  dir: string,
  name: string,
  count: number,
  size: number,
  channels = 3,
): Promise<string> {
  const folder = join(dir, name);
  await Deno.mkdir(folder);
  const rng = new Rng(count * 31 + size);
  for (let i = 0; i < count; i++) {
    const data = Uint8Array.from({ length: size * size * channels }, () => rng.int(256));
    await savePng(join(folder, `${i}.png`), { data, height: size, width: size, channels });
  }
  return folder;
}

/** A network taking `[8, 8, 3]` images: the mean colour, the first pixel's red; records the shapes it saw. */
function toyNet(seen: number[][], inputShape?: readonly [number, number, number]): FeatureExtractor {
  return {
    name: "toy-net",
    dim: 4,
    inputShape,
    extract: (images) => {
      seen.push(images.shape);
      return tf.tidy(() => {
        const rgb = toRgb(images);
        const first = tf.reshape(tf.slice(rgb, [0, 0, 0, 0], [-1, 1, 1, 1]), [-1, 1]);
        return tf.concat([tf.mean(rgb, [1, 2]), first], 1) as tf.Tensor2D;
      });
    },
    dispose() {},
  };
}

Deno.test("folders: the network's input size is checked up front; resize resizes bilinearly; no leaks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const big = await pngFolder(dir, "big", 5, 32), grey = await pngFolder(dir, "grey", 3, 8, 1);
    const seen: number[][] = [];
    const net = toyNet(seen, [8, 8, 3]);
    const options = { ...quiet, extractor: () => Promise.resolve(net), batch: 2 };
    await rejectsOneLine(
      featuresOfInput(big, options),
      `${big}: the images are 32×32, but toy-net takes 8×8 images: resize them bilinearly with the resize ` +
        `option (--resize), or resize the PNGs`,
    );
    assert.deepEqual(seen, []); // refused before the network ran
    const before = tf.memory().numTensors;
    const resized = await featuresOfInput(big, { ...options, resize: true });
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(seen, [[2, 8, 8, 3], [2, 8, 8, 3], [1, 8, 8, 3]]);
    assert.deepEqual([resized.count, resized.dim, resized.name, resized.files!.length], [5, 4, "toy-net", 5]);
    // The features are those of the images resized by tf.image.resizeBilinear (align_corners=False).
    const { loadPng } = await import("../io/png.ts");
    const img = await loadPng(join(big, "0.png"));
    const want = tf.tidy(() =>
      net.extract(
        tf.image.resizeBilinear(
          tf.sub(tf.mul(tf.expandDims(img, 0), 2), 1) as tf.Tensor4D,
          [8, 8],
          false,
          true,
        ),
      ).dataSync()
    );
    img.dispose();
    assert.deepEqual([...resized.data.subarray(0, 4)], [...want]);
    seen.length = 0;
    const g = await featuresOfInput(grey, options); // grey repeated to RGB for an RGB network
    assert.deepEqual(seen, [[2, 8, 8, 3], [1, 8, 8, 3]]);
    assert.equal(g.count, 3);
    await rejectsOneLine(
      featuresOfInput(big, { ...options, extractor: () => Promise.resolve(toyNet([], [32, 32, 1])) }),
      `${big}: the images are RGB (3 channels), but toy-net takes grey images (1 channel)`,
    );
    const free = await featuresOfInput(big, { ...options, extractor: () => Promise.resolve(toyNet([])) });
    assert.equal(free.count, 5); // no inputShape: the network takes any size
    assert.equal(tf.memory().numTensors, before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fid with the scenes net on 256 px PNGs: the folder and the sizes are named; resize runs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const [sub, start] of [["a", 0], ["b", 500]] as const) {
      await Deno.mkdir(join(dir, sub));
      for (let i = 0; i < 3; i++) {
        await savePng(join(dir, sub, `${i}.png`), sceneImage(renderScene(start + i, { size: 256 })));
      }
    }
    const [a, b] = [join(dir, "a"), join(dir, "b")];
    const options = { ...quiet, warn: () => {}, extractor: () => loadDomainExtractor(SCENES_NET) };
    await rejectsOneLine(
      fidOfInputs(a, b, options),
      `${a}: the images are 256×256, but scenes-net takes 64×64 images: resize them bilinearly with the ` +
        `resize option (--resize), or resize the PNGs`,
    );
    // Without the input shape (domain_net.ts's loadDomainNet), the network's own error still names the folder.
    await rejectsOneLine(
      fidOfInputs(a, b, { ...options, extractor: () => loadDomainNet(SCENES_NET) }),
      `${a} (256×256 RGB images): scenes-net fails on them: classifier: Expected [N,64,64,3], got [3,256,256,3]`,
    );
    const r = await fidOfInputs(a, b, { ...options, resize: true });
    assert.deepEqual(Object.keys(r.report), ["metric", "fd", "n_a", "n_b", "features"]);
    assert.deepEqual([r.report.metric, r.report.n_a, r.report.n_b], ["FD (scenes-net)", 3, 3]);
    assert.ok(Number.isFinite(r.report.fd) && r.report.fd! > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prdc: more than k samples are checked up front, naming the input and the count", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const two = await pngFolder(dir, "two", 2, 8);
    const b = npy("features_b.npy");
    let loaded = false;
    const extractor = () => {
      loaded = true;
      return Promise.resolve(toyNet([]));
    };
    await rejectsOneLine(
      prdcOfInputs(two, b, { ...quiet, extractor, k: 3 }),
      `${two} (a folder of PNGs): 2 samples, but k-NN with k = 3 needs more than 3 (each sample's radius is ` +
        `the distance to its k-th nearest other sample)`,
    );
    assert.equal(loaded, false); // before any network was loaded
    const small = join(dir, "small.safetensors");
    await writeFeatures(small, new Float32Array(18), { dim: 6 });
    await rejectsOneLine(
      prdcOfInputs(b, small, { ...quiet, k: 3 }),
      new RegExp(`^${small}: 3 samples, but k-NN`),
    );
    await rejectsOneLine(
      fidOfInputs(await pngFolder(dir, "one", 1, 8), b, { ...quiet, extractor }),
      /one: 1 PNG image; a covariance needs at least 2$/,
    );
    await rejectsOneLine(
      prdcOfInputs(npy("stats.npz"), b, quiet),
      `${npy("stats.npz")} holds statistics (mu, sigma), but per-sample features are needed`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prdc of .npy / .npz features: the report of the command, and unnamed saved features stay unnamed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const w = warnings();
    const saved = join(dir, "real.safetensors");
    const r = await prdcOfInputs(npy("features_a.npy"), npy("feats.npz"), {
      ...quiet,
      warn: w.warn,
      k: 3,
      saveReal: saved,
    });
    assert.equal(w.lines.length, 1);
    const real = tf.tensor2d((await featuresOfInput(npy("features_a.npy"))).data, [40, 6]);
    const fake = tf.tensor2d(Float32Array.from(expected.features_b.values), [30, 6]);
    const direct = await precisionRecall(real, fake, { k: 3 });
    tf.dispose([real, fake]);
    assert.deepEqual(
      [r.report.precision, r.report.recall, r.report.density, r.report.coverage],
      [direct.precision, direct.recall, direct.density, direct.coverage],
    );
    assert.deepEqual([r.report.n_real, r.report.n_fake, r.report.k, r.report.features], [
      40,
      30,
      3,
      UNNAMED_FEATURES,
    ]);
    assert.deepEqual(Object.keys(r.report), [
      "precision",
      "recall",
      "density",
      "coverage",
      "realism",
      "n_real",
      "n_fake",
      "k",
      "features",
    ]);
    assert.deepEqual([r.scores.fake, r.scores.files, r.scores.realism.length], [npy("feats.npz"), null, 30]);
    const back = await readFeatures(saved);
    assert.deepEqual([back.count, back.named, back.name], [40, false, UNNAMED_FEATURES]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
