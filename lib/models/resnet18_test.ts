import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import type { HostTensor } from "../io/dtype.ts";
import { readPth } from "../io/pth.ts";
import { readSafetensors, writeSafetensors } from "../io/safetensors.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { debianTorch, optionalTest } from "../../tests/optional.ts";
import {
  asFeatureExtractor,
  loadResnet18,
  randomResnet18,
  type Resnet18,
  resnet18FromStateDict,
  resnet18Shapes,
} from "./resnet18.ts";

const FIXTURES = new URL("../../tests/fixtures/resnet18/", import.meta.url);
const TINY_PTH = new URL("resnet18_tiny.pth", FIXTURES).pathname;
const TINY_IO = new URL("resnet18_tiny_io.safetensors", FIXTURES).pathname;

/** The structural interface Grad-CAM takes (lib/gradcam/cam.ts); a Resnet18 must satisfy it. */
interface CamModel {
  featureMap(images: tf.Tensor4D): tf.Tensor4D;
  head(map: tf.Tensor4D): tf.Tensor2D;
}

function toTensor4d(t: HostTensor): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(t.data as Float32Array), t.shape as [number, number, number, number]);
}

/** `max |actual − expected|` over the largest `|expected|` (at least 1): the error relative to the output scale. */
function scaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let scale = 1, err = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
  }
  return err / scale;
}

/** `fn()`, asserting that it leaves no tensor behind but its result. */
function onlyResult<T extends tf.Tensor>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const result = fn();
  assert.equal(tf.memory().numTensors, before + 1, "a tensor leaked");
  return result;
}

/**
 * Compare a loaded model with the PyTorch cases of a `make_resnet18.py` output (`a`, `b` at their own size,
 * `r` = `a` resized to 48), checking that no public function leaks a tensor.
 */
async function compareWithPytorch(weightsPath: string, ioPath: string, label: string): Promise<void> {
  const io = (await readSafetensors(ioPath)).tensors;
  const cases = [
    { name: "a", images: "a_images", resize: undefined },
    { name: "b", images: "b_images", resize: undefined },
    { name: "r", images: "a_images", resize: 48 },
  ];
  for (const c of cases) {
    const net = await loadResnet18(weightsPath, { resize: c.resize });
    const expectedMap = io.get(`${c.name}_map`)!;
    const expectedLogits = io.get(`${c.name}_logits`)!;
    assert.equal(net.widths[3], expectedMap.shape[3]);
    assert.equal(net.classes, expectedLogits.shape[1]);
    const images = toTensor4d(io.get(c.images)!);
    const map = onlyResult(() => net.featureMap(images));
    assert.deepEqual(map.shape, expectedMap.shape);
    const mapErr = scaledError(await map.data(), expectedMap.data as Float32Array);
    const logits = onlyResult(() => net.head(map));
    const logitErr = scaledError(await logits.data(), expectedLogits.data as Float32Array);
    console.log(
      `${label} case ${c.name} [${images.shape}]${c.resize ? ` resized to ${c.resize}` : ""} vs PyTorch: ` +
        `map ${mapErr.toExponential(2)}, logits ${
          logitErr.toExponential(2)
        } (max error / max(1, max |value|))`,
    );
    assert.ok(mapErr < 1e-4 && logitErr < 1e-4, `${label} case ${c.name}: ${mapErr}, ${logitErr}`);

    // forward = head ∘ featureMap; features = the pooled map.
    await assertNoLeak(async () => {
      const [forward, features] = [net.forward(images), net.features(images)];
      const pooled = tf.mean(map, [1, 2]);
      assert.ok(scaledError(await forward.data(), await logits.data()) < 1e-6);
      assert.ok(scaledError(await features.data(), await pooled.data()) < 1e-6);
      tf.dispose([forward, features, pooled]);
    });
    tf.dispose([images, map, logits]);
    net.dispose();
  }
}

Deno.test("ResNet-18: equals PyTorch on the cpu backend (random weights and batch norms, widths 4-32)", async () => {
  await initBackend({ backend: "cpu" });
  await compareWithPytorch(TINY_PTH, TINY_IO, "cpu");
});

Deno.test("ResNet-18: equals PyTorch on the wasm backend", async () => {
  await initBackend({ backend: "wasm" });
  try {
    await compareWithPytorch(TINY_PTH, TINY_IO, "wasm");
  } finally {
    await initBackend({ backend: "cpu" });
  }
});

Deno.test("ResNet-18: widths and classes come from the weights; dispose frees every tensor", async () => {
  await initBackend({ backend: "cpu" });
  const before = tf.memory().numTensors;
  const net = await loadResnet18(TINY_PTH);
  assert.deepEqual(net.widths, [4, 8, 16, 32]);
  assert.equal(net.classes, 10);
  assert.equal(net.resize, undefined);
  const cam: CamModel = net; // structurally a Grad-CAM model
  assert.equal(typeof cam.featureMap, "function");
  net.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("ResNet-18: grey images are repeated to RGB", async () => {
  await initBackend({ backend: "cpu" });
  const net = await loadResnet18(TINY_PTH);
  await assertNoLeak(async () => {
    const grey = tf.randomUniform([2, 40, 40, 1], -1, 1, "float32", 3) as tf.Tensor4D;
    const rgb = tf.tile(grey, [1, 1, 1, 3]) as tf.Tensor4D;
    const [a, b] = [net.forward(grey), net.forward(rgb)];
    assert.deepEqual(await a.data(), await b.data());
    tf.dispose([grey, rgb, a, b]);
  });
  net.dispose();
});

Deno.test("ResNet-18: head is differentiable in the map (what Grad-CAM needs)", async () => {
  await initBackend({ backend: "cpu" });
  const net = randomResnet18({ widths: [2, 4, 4, 8], classes: 3, seed: 1 });
  await assertNoLeak(async () => {
    const images = tf.randomUniform([1, 32, 32, 3], -1, 1, "float32", 4) as tf.Tensor4D;
    const map = net.featureMap(images); // [1, 1, 1, 8]
    // d logit_0 / d map[i, j, c] = fc.weight[0, c] / (h·w), the same at every position.
    const grad = tf.grad((m: tf.Tensor) => tf.sum(tf.slice(net.head(m as tf.Tensor4D), [0, 0], [1, 1])))(map);
    const logits = net.head(map);
    assert.deepEqual(grad.shape, map.shape);
    assert.ok((await grad.data()).some((v) => v !== 0));
    // The gradient through the whole network (e.g. into a generator) exists too.
    const dImages = tf.grad((x: tf.Tensor) => tf.sum(net.forward(x as tf.Tensor4D)))(images);
    assert.deepEqual(dImages.shape, images.shape);
    assert.ok((await dImages.data()).every(Number.isFinite));
    tf.dispose([images, map, grad, logits, dImages]);
  });
  net.dispose();
});

Deno.test("ResNet-18: a module. prefix and the safetensors format load the same network", async () => {
  await initBackend({ backend: "cpu" });
  const sd = await readPth(TINY_PTH);
  const dir = await Deno.makeTempDir({ prefix: "ganatomy_resnet18_" });
  try {
    const wrapped = Object.fromEntries([...sd].map(([k, t]) => [`module.${k}`, t]));
    await writeSafetensors(`${dir}/dp.safetensors`, wrapped);
    const [a, b] = [await loadResnet18(TINY_PTH), await loadResnet18(`${dir}/dp.safetensors`)];
    const images = tf.randomUniform([1, 24, 24, 3], -1, 1, "float32", 5) as tf.Tensor4D;
    const [ya, yb] = [a.forward(images), b.forward(images)];
    assert.deepEqual(await ya.data(), await yb.data());
    tf.dispose([images, ya, yb]);
    a.dispose();
    b.dispose();

    // A broken file: the error names the file and the key.
    const broken = { ...Object.fromEntries(sd) };
    delete broken["layer3.0.downsample.1.running_var"];
    await writeSafetensors(`${dir}/broken.safetensors`, broken);
    await assert.rejects(
      () => loadResnet18(`${dir}/broken.safetensors`),
      new RegExp(`${dir}/broken.safetensors: missing "layer3.0.downsample.1.running_var"`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ResNet-18: clear errors for bad state dicts and bad inputs, leaving no tensor behind", async () => {
  await initBackend({ backend: "cpu" });
  const sd = await readPth(TINY_PTH);
  const edited = (edit: (m: Map<string, HostTensor>) => void) => {
    const m = new Map(sd);
    edit(m);
    return m;
  };
  const before = tf.memory().numTensors;
  const source = { source: "w.pth" };
  assert.throws(
    () => resnet18FromStateDict(edited((m) => m.delete("layer4.1.bn2.bias")), source),
    /^Error: w.pth: missing "layer4.1.bn2.bias": not a torchvision ResNet-18 state dict$/,
  );
  assert.throws(
    () => resnet18FromStateDict(edited((m) => m.delete("layer2.0.conv1.weight")), source),
    /w.pth: missing "layer2.0.conv1.weight"/,
  );
  const fc = sd.get("fc.weight")!;
  assert.throws(
    () =>
      resnet18FromStateDict(
        edited((m) =>
          m.set("layer2.1.conv2.weight", { ...fc, shape: [8, 8, 1, 1], data: fc.data.slice(0, 64) })
        ),
        source,
      ),
    /w.pth: "layer2.1.conv2.weight" has shape \[8,8,1,1\], expected \[8,8,3,3\]/,
  );
  assert.throws(
    () => resnet18FromStateDict(edited((m) => m.set("layer1.2.conv1.weight", fc)), source),
    /w.pth: unexpected "layer1.2.conv1.weight": a ResNet-18 has no such tensors/,
  );
  const counter = sd.get("bn1.num_batches_tracked")!;
  assert.equal(counter.dtype, "I64"); // present in the file, and ignored
  assert.throws(
    () => resnet18FromStateDict(edited((m) => m.set("bn1.running_var", { ...counter, shape: [4] })), source),
    /w.pth: "bn1.running_var" must be float, got I64/,
  );
  assert.throws(() => resnet18FromStateDict(new Map()), /state dict: missing "layer1.0.conv1.weight"/);
  assert.throws(() => resnet18FromStateDict(sd, { resize: 0 }), /resize must be a positive integer, got 0/);
  assert.equal(tf.memory().numTensors, before);

  const net = resnet18FromStateDict(sd);
  const flat = tf.zeros([3, 4]);
  const two = tf.zeros([1, 8, 8, 2]);
  const wrongMap = tf.zeros([1, 2, 2, 16]);
  assert.throws(() => net.featureMap(flat as tf.Tensor4D), /images: Expected \[N,H,W,C\], got \[3,4\]/);
  assert.throws(() => net.features(two as tf.Tensor4D), /images: Expected 1 or 3 channels, got \[1,8,8,2\]/);
  assert.throws(() => net.head(wrongMap as tf.Tensor4D), /map: Expected \[N,H,W,32\], got \[1,2,2,16\]/);
  tf.dispose([flat, two, wrongMap]);
  net.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("ResNet-18: random weights are seeded; their shapes are torchvision's", async () => {
  await initBackend({ backend: "cpu" });
  const shapes = resnet18Shapes();
  assert.equal(shapes.size, 102); // 20 convs (17 + 3 downsample) + 20 batch norms × 4 + fc weight and bias
  assert.deepEqual(shapes.get("conv1.weight"), [64, 3, 7, 7]);
  assert.deepEqual(shapes.get("layer3.0.downsample.0.weight"), [256, 128, 1, 1]);
  assert.deepEqual(shapes.get("fc.weight"), [1000, 512]);
  assert.equal(shapes.has("layer1.0.downsample.0.weight"), false);

  const options = { widths: [4, 4, 8, 8] as const, classes: 5, seed: 7, resize: 20 };
  const [a, b, c] = [
    randomResnet18(options),
    randomResnet18(options),
    randomResnet18({ ...options, seed: 8 }),
  ];
  assert.equal(a.resize, 20);
  const images = tf.randomUniform([2, 30, 30, 3], -1, 1, "float32", 6) as tf.Tensor4D;
  const [ya, yb, yc] = [a.forward(images), b.forward(images), c.forward(images)];
  assert.deepEqual(ya.shape, [2, 5]);
  assert.deepEqual(await ya.data(), await yb.data());
  assert.notDeepEqual(await ya.data(), await yc.data());
  tf.dispose([images, ya, yb, yc]);
  [a, b, c].forEach((n) => n.dispose());
});

Deno.test("ResNet-18: as a feature extractor (FD with ResNet features)", async () => {
  await initBackend({ backend: "cpu" });
  const before = tf.memory().numTensors;
  const net: Resnet18 = await loadResnet18(TINY_PTH);
  const extractor = asFeatureExtractor(net);
  assert.equal(extractor.name, "resnet18");
  assert.equal(extractor.dim, 32);
  assert.equal(asFeatureExtractor(net, { name: "resnet18-scenes" }).name, "resnet18-scenes");
  await assertNoLeak(async () => {
    const images = tf.randomUniform([3, 16, 16, 3], -1, 1, "float32", 7) as tf.Tensor4D;
    const [f, g] = [extractor.extract(images), net.features(images)];
    assert.deepEqual(f.shape, [3, 32]);
    assert.deepEqual(await f.data(), await g.data());
    tf.dispose([images, f, g]);
  });
  extractor.dispose(); // disposes the model
  assert.equal(tf.memory().numTensors, before);
});

optionalTest(
  "ResNet-18 (full width, 1000 classes, 45 MB random weights generated by make_resnet18.py) equals PyTorch",
  debianTorch(),
  async () => {
    await initBackend({ backend: "wasm" });
    const dir = await Deno.makeTempDir({ prefix: "ganatomy_resnet18_full_" });
    try {
      const script = new URL("make_resnet18.py", FIXTURES).pathname;
      const run = await new Deno.Command("/usr/bin/python3", { args: [script, "--full", dir] }).output();
      if (!run.success) throw new Error(`make_resnet18.py failed: ${new TextDecoder().decode(run.stderr)}`);
      await compareWithPytorch(
        `${dir}/resnet18_full.pth`,
        `${dir}/resnet18_full_io.safetensors`,
        "full width",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
      await initBackend({ backend: "cpu" });
    }
  },
);
