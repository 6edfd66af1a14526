import { strict as assert } from "node:assert";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { randomPggan } from "../models/pggan.ts";
import { createGenerator } from "./select.ts";

await initBackend({ backend: "cpu" });
const model = randomPggan([16, 16, 8], { seed: 2, biasStd: 0.1 });
const ROOT = join(import.meta.dirname!, "../..");

/**
 * Run `body` in a fresh Deno process with `permissions`, after imports of tf, the cpu backend, a random PGGAN
 * `model` and `createGenerator`. ORT runs in a process of its own: ONNX Runtime's addon cannot start again in a
 * process where an earlier test file used it (see ort.ts), and permissions differ per case.
 */
async function child(permissions: string[], body: string): Promise<{ result: unknown; stderr: string }> {
  const code = `
    import * as tf from "@tensorflow/tfjs-core";
    import { initBackend } from "${ROOT}/lib/backend/backend.ts";
    import { randomPggan } from "${ROOT}/lib/models/pggan.ts";
    import { createGenerator } from "${ROOT}/lib/engine/select.ts";
    await initBackend({ backend: "cpu" });
    const model = randomPggan([16, 16, 8], { seed: 2, biasStd: 0.1 });
    const result = await (async () => { ${body} })();
    console.log(JSON.stringify(result));
  `;
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = proc.stdin.getWriter();
  await writer.write(new TextEncoder().encode(code));
  await writer.close();
  const out = await proc.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, stderr);
  return { result: JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!), stderr };
}

Deno.test("createGenerator: ort by default, tfjs on request, same results", async () => {
  const { result } = await child(
    ["-A"],
    `
    const options = { trace: ["layer2"], edits: { layer3: { a: [1, 0, 0, 0, 0, 0, 0, 1], v: 0.5 } }, clamp: true };
    const z = tf.randomNormal([2, 16], 0, 1, "float32", 1);
    const ort = await createGenerator(model, { threads: 1 });
    const tfjs = await createGenerator(model, { engine: "tfjs" });
    const a = await ort.run(z, options);
    const b = await tfjs.run(z, options);
    const err = tf.max(tf.abs(tf.sub(a.output, b.output))).dataSync()[0];
    const rejected = await ort.run(z, { to: "layer9" }).then(() => "", (e) => e.message);
    return { engines: [ort.engine, tfjs.engine], err, traces: [a.traces.layer2.shape, b.traces.layer2.shape], rejected };
  `,
  );
  const r = result as { engines: string[]; err: number; traces: number[][]; rejected: string };
  assert.deepEqual(r.engines, ["ort", "tfjs"]);
  assert.ok(r.err < 1e-5, `ort vs tfjs ${r.err}`);
  assert.deepEqual(r.traces, [[2, 4, 4, 16], [2, 4, 4, 16]]);
  assert.match(r.rejected, /no stage "layer9"/);
});

Deno.test("createGenerator: without ffi permission it falls back to tfjs with one warning", async () => {
  const { result, stderr } = await child(
    ["--allow-read", "--allow-env"],
    `
    const engines = [];
    for (let i = 0; i < 2; i++) {
      const gen = await createGenerator(model);
      const { output } = await gen.run(tf.zeros([1, 16]));
      engines.push(gen.engine + ":" + output.shape.join("x"));
      await gen.dispose();
    }
    const explicit = await createGenerator(model, { engine: "ort" }).then(() => "ok", (e) => e.message);
    return { engines, explicit };
  `,
  );
  const r = result as { engines: string[]; explicit: string };
  assert.deepEqual(r.engines, ["tfjs:1x8x8x3", "tfjs:1x8x8x3"]);
  assert.match(r.explicit, /engine "ort": ONNX Runtime cannot run here: .*--allow-ffi/);
  const warnings = stderr.split("\n").filter((line) => line.startsWith("ganatomy:"));
  assert.equal(warnings.length, 1, stderr);
  assert.match(warnings[0], /ONNX Runtime cannot run here .*running generators on tfjs/);
});

Deno.test("createGenerator: the tfjs runner rejects bad options like an async engine", async () => {
  const before = tf.memory().numTensors;
  const gen = await createGenerator(model, { engine: "tfjs" });
  const z = tf.zeros([1, 16]);
  const { output } = await gen.run(z);
  assert.deepEqual(output.shape, [1, 8, 8, 3]);
  await assert.rejects(gen.run(z, { to: "layer9" }), /no stage "layer9"/);
  tf.dispose([z, output]);
  await gen.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("createGenerator: unknown engines and devices, and cuda on tfjs, are refused", async () => {
  await assert.rejects(
    createGenerator(model, { engine: "torch" as "ort" }),
    /engine must be "ort" or "tfjs"/,
  );
  await assert.rejects(createGenerator(model, { device: "tpu" as "cpu" }), /device must be "cpu" or "cuda"/);
  await assert.rejects(
    createGenerator(model, { engine: "tfjs", device: "cuda" }),
    /device "cuda" needs engine "ort"/,
  );
});
