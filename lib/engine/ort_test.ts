import { strict as assert } from "node:assert";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { loadGenerator } from "../models/load.ts";
import { randomPggan } from "../models/pggan.ts";
import { ablate, type Edits, insert, rescale } from "./edits.ts";
import { OrtGenerator, probeOrt } from "./ort.ts";
import { type RunOptions, type RunResult, TfjsGenerator } from "./tfjs.ts";

await initBackend({ backend: "cpu" });

// ONNX Runtime cannot start again in a process where an earlier test file used it (see ort.ts); then this
// file runs its tests in a process of its own instead.
const ortHere = await probeOrt().then(() => true, () => false);
function test(name: string, fn: () => Promise<void>): void {
  if (ortHere) Deno.test(name, fn);
}
if (!ortHere) {
  Deno.test("ort: every test of this file, in a process of its own", async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", import.meta.filename!],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, text);
  });
}
// Stages: layer1 4x4x16, layer2 4x4x16, layer3/4 8x8x8, layer5/6 16x16x8, output_16x16.
const model = randomPggan([16, 16, 8, 8], { seed: 3, biasStd: 0.1 });
const tfjsGen = new TfjsGenerator(model);
const ortGen = new OrtGenerator(model, { threads: 2 });

/** max |a − b| relative to the largest |b| (the output's scale). */
function relError(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / tf.max(tf.abs(b)).dataSync()[0]);
}

function disposeResult(r: RunResult): void {
  tf.dispose([r.output, ...Object.values(r.traces)]);
}

/** Run both engines on the same input and options; assert equal outputs and traces within `tol`. */
async function assertEnginesAgree(input: tf.Tensor, options: RunOptions, tol = 1e-5): Promise<void> {
  const before = tf.memory().numTensors;
  const expected = tfjsGen.run(input, options);
  const actual = await ortGen.run(input, options);
  assert.ok(
    relError(actual.output, expected.output) <= tol,
    `output error ${relError(actual.output, expected.output)}`,
  );
  assert.deepEqual(Object.keys(actual.traces).sort(), Object.keys(expected.traces).sort());
  for (const [name, t] of Object.entries(expected.traces)) {
    const err = relError(actual.traces[name], t);
    assert.ok(err <= tol, `${name} error ${err}`);
  }
  disposeResult(expected);
  disposeResult(actual);
  assert.equal(tf.memory().numTensors, before);
}

const latent = (n: number, seed: number) => tf.randomNormal([n, 16], 0, 1, "float32", seed) as tf.Tensor2D;

test("ort: plain run and traces equal tfjs", async () => {
  const z = latent(3, 1);
  await assertEnginesAgree(z, {});
  await assertEnginesAgree(z, { trace: ["layer1", "layer2", "layer3", "layer6", "output_16x16"] });
  const { output, traces } = await ortGen.run(z, { trace: ["layer3"] });
  assert.deepEqual([output.shape, traces.layer3.shape], [[3, 16, 16, 3], [3, 8, 8, 8]]);
  tf.dispose([z, output, traces.layer3]);
});

test("ort: ablation, insertion with [H,W] and [N,H,W] masks, and scale equal tfjs", async () => {
  const z = latent(2, 2);
  const maskHW = tf.tensor2d([[1, 1, 0, 0], [1, 0.5, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]);
  const maskNHW = tf.tidy(() =>
    tf.cast(tf.greater(tf.randomUniform([2, 8, 8], 0, 1, "float32", 7), 0.5), "float32")
  );
  const scale = tf.tensor1d(Array.from({ length: 8 }, (_, i) => 0.5 + 0.1 * i));
  const cases: Edits[] = [
    { layer2: ablate([1, 5], 16) },
    { layer2: insert([3], 16, 7.5, maskHW as tf.Tensor2D) },
    { layer4: insert([0, 6], 8, [2, -3], maskNHW as tf.Tensor3D) },
    { layer5: rescale([0, 2], 8, [0.5, 2]) },
    { layer5: { scale } },
    { layer3: { a: 0.5, v: 1.5 } },
    { layer3: { a: 0.25 } },
  ];
  for (const edits of cases) await assertEnginesAgree(z, { edits, trace: Object.keys(edits) });
  // Ablated units are exactly zero; inserted ones exactly the value where the mask is 1.
  const { output, traces } = await ortGen.run(z, { trace: ["layer2"], edits: cases[1] });
  const unit3 = tf.tidy(() =>
    tf.slice(traces.layer2, [0, 0, 0, 3], [2, 4, 4, 1]).arraySync() as number[][][][]
  );
  assert.equal(unit3[1][0][1][0], 7.5);
  tf.dispose([z, maskHW, maskNHW, scale, output, traces.layer2]);
});

test("ort: combined edits on two stages, from/to and clamp equal tfjs", async () => {
  const z = latent(2, 3);
  const mask = tf.tensor2d(Array.from({ length: 16 }, (_, i) => [i % 2 === 0 ? 1 : 0]).flat(), [4, 4]);
  const edits: Edits = { layer2: ablate([0, 2, 4], 16, mask as tf.Tensor2D), layer5: rescale([1], 8, 3) };
  await assertEnginesAgree(z, { edits, trace: ["layer2", "layer4", "layer5"] });
  await assertEnginesAgree(z, { to: "layer4", edits, trace: ["layer2", "layer5"] });
  await assertEnginesAgree(z, { clamp: true, edits, trace: ["output_16x16"] });
  await assertEnginesAgree(z, { to: "layer1", clamp: true });

  const head = tfjsGen.run(z, { to: "layer4" });
  await assertEnginesAgree(head.output, { from: "layer4" });
  await assertEnginesAgree(head.output, { from: "layer4", to: "layer5", edits, trace: ["layer2", "layer5"] });
  // An ORT split run equals one full ORT run.
  const full = await ortGen.run(z);
  const ortHead = await ortGen.run(z, { to: "layer4" });
  const tail = await ortGen.run(ortHead.output, { from: "layer4" });
  assert.ok(relError(tail.output, full.output) < 1e-6);
  const clamped = await ortGen.run(z, { clamp: true });
  const [lo, hi] = tf.tidy(
    () => [tf.min(clamped.output).dataSync()[0], tf.max(clamped.output).dataSync()[0]],
  );
  assert.ok(lo >= -1 && hi <= 1 && (lo === -1 || hi === 1), `clamped range [${lo}, ${hi}]`);
  tf.dispose([z, mask, head.output, full.output, ortHead.output, tail.output, clamped.output]);
});

test("ort: matches the PyTorch fixtures within 1e-4 relative", async () => {
  const fixtures = join(import.meta.dirname!, "../../tests/fixtures/pggan");
  const manifest: { name: string; trace: string[] }[] = JSON.parse(
    Deno.readTextFileSync(join(fixtures, "manifest.json")),
  );
  for (const c of manifest) {
    const gen = new OrtGenerator(await loadGenerator(join(fixtures, `${c.name}.pth`)), { threads: 2 });
    const ref = await readSafetensors(join(fixtures, `${c.name}.ref.safetensors`));
    const tensor = (name: string) => {
      const t = ref.tensors.get(name)!;
      return tf.tensor(t.data as Float32Array, t.shape);
    };
    const before = tf.memory().numTensors;
    const z = tensor("z");
    const { output, traces } = await gen.run(z, { trace: c.trace });
    const expected = [tensor("images"), ...c.trace.map(tensor)];
    [output, ...c.trace.map((name) => traces[name])].forEach((actual, i) => {
      const err = relError(actual, expected[i]);
      assert.ok(err <= 1e-4, `${c.name} ${i === 0 ? "image" : c.trace[i - 1]} error ${err}`);
    });
    tf.dispose([z, output, ...Object.values(traces), ...expected]);
    assert.equal(tf.memory().numTensors, before);
    await gen.dispose();
  }
});

test("ort: a variant compiles once; other edit values reuse its session", async () => {
  const gen = new OrtGenerator(model, { threads: 1 });
  const z = latent(2, 4);
  const run = async (options: RunOptions) => disposeResult(await gen.run(z, options));
  await run({ trace: ["layer2", "layer4"], edits: { layer3: ablate([1], 8) } });
  assert.equal(gen.compiledGraphs, 1);
  await run({ trace: ["layer4", "layer2", "layer4"], edits: { layer3: ablate([2, 3], 8) } });
  await run({ trace: ["layer2", "layer4"], edits: { layer3: { a: 0.3, v: 2 } } });
  assert.equal(gen.compiledGraphs, 1, "same shape, other values: no rebuild");
  await run({ trace: ["layer2", "layer4"], edits: { layer3: rescale([1], 8, 2) } });
  assert.equal(gen.compiledGraphs, 2, "other edit fields: a new variant");
  // Edits and traces of stages that do not run do not make a new variant.
  await run({ to: "layer2" });
  await run({ to: "layer2", trace: ["layer5"], edits: { layer4: ablate([0], 8) } });
  assert.equal(gen.compiledGraphs, 3);
  await Promise.all([run({ clamp: true }), run({ clamp: true })]);
  assert.equal(gen.compiledGraphs, 4, "concurrent runs share one build");
  tf.dispose(z);
  await gen.dispose();
  await assert.rejects(gen.run(z), /this OrtGenerator was disposed/);
});

test("ort: beyond maxSessions the least recently used session is released", async () => {
  const gen = new OrtGenerator(model, { threads: 1, maxSessions: 2 });
  const z = latent(1, 5);
  const run = async (options: RunOptions) => disposeResult(await gen.run(z, options));
  await run({ to: "layer1" });
  await run({ to: "layer2" });
  await run({ to: "layer1" }); // layer2's is now the least recently used
  await run({ to: "layer3" });
  assert.equal(gen.cachedSessions, 2);
  await run({ to: "layer1" });
  assert.equal(gen.compiledGraphs, 3);
  await run({ to: "layer2" });
  assert.equal(gen.compiledGraphs, 4);
  tf.dispose(z);
  await gen.dispose();
});

test("ort: bad stage names, shapes and edits give clear errors", async () => {
  const before = tf.memory().numTensors;
  const z = tf.zeros([2, 16]);
  const map = tf.zeros([2, 4, 4, 16]);
  const mask = tf.ones([3, 3]);
  const z15 = tf.zeros([1, 15]);
  const zInt = tf.zeros([2, 16], "int32");
  await assert.rejects(ortGen.run(z, { trace: ["layer99"] }), /no stage "layer99".*layer1, layer2/);
  await assert.rejects(ortGen.run(z, { edits: { layerX: ablate([0], 16) } }), /no stage "layerX"/);
  await assert.rejects(ortGen.run(z, { to: "nope" }), /no stage "nope"/);
  await assert.rejects(ortGen.run(map, { from: "layer4", to: "layer2" }), /wrong order/);
  await assert.rejects(ortGen.run(z15), /latent z must be \[N, 16\], got \[1,15\]/);
  await assert.rejects(
    ortGen.run(z, { from: "layer2" }),
    /run from "layer2" must be \[N, 4, 4, 16\], got \[2,16\]/,
  );
  await assert.rejects(ortGen.run(map, { from: "layer3" }), /must be \[N, 8, 8, 8\], got \[2,4,4,16\]/);
  await assert.rejects(ortGen.run(z, { edits: { layer2: { a: [1, 2] } } }), /a has 2 values for 16 units/);
  await assert.rejects(ortGen.run(z, { edits: { layer2: { v: 1 } } }), /'v' and 'mask' need 'a'/);
  await assert.rejects(
    ortGen.run(z, { edits: { layer2: ablate([0], 16, mask as tf.Tensor2D) } }),
    /edit of layer2: mask must be \[4,4\] or \[2,4,4\], got \[3,3\]/,
  );
  await assert.rejects(ortGen.run(zInt), /input must be float32, got int32/);
  assert.throws(() => new OrtGenerator(model, { threads: 0 }), /threads must be a positive integer/);
  tf.dispose([z, map, mask, z15, zInt]);
  assert.equal(tf.memory().numTensors, before);
});

test("ort: device cuda runs, or says clearly that ORT's CUDA provider is missing", async () => {
  const gen = new OrtGenerator(model, { device: "cuda" });
  const z = latent(1, 6);
  try {
    disposeResult(await gen.run(z)); // a machine with a GPU and ORT's CUDA libraries
  } catch (e) {
    assert.match(
      (e as Error).message,
      /device "cuda": ONNX Runtime's CUDA execution provider is not available/,
    );
  }
  tf.dispose(z);
  await gen.dispose();
});

test("ort: release the shared generators", async () => {
  tfjsGen.dispose();
  await ortGen.dispose();
});
