import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  applyPatches,
  createThreadedWasmModule,
  GLUE_PATCHES,
  PATCH_VERSION,
  preparePatchedFiles,
  WORKER_PATCHES,
} from "./wasm_threads.ts";

const ROOT = new URL("../../", import.meta.url);

/**
 * Run `code` as a module in a fresh `deno` process from the repository root (so deno.json applies), killed after
 * `timeoutMs` (a hang; `err` then says so).
 */
async function denoEval(
  code: string,
  timeoutMs = 20_000,
): Promise<{ code: number; out: string; err: string }> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    proc.kill("SIGKILL");
  }, timeoutMs);
  const { code: exitCode, stdout, stderr } = await proc.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  const hang = killed ? `\nkilled: the process had not exited after ${timeoutMs / 1000} s` : "";
  return { code: exitCode, out: dec.decode(stdout), err: dec.decode(stderr) + hang };
}

Deno.test("applyPatches replaces each text once, in order", () => {
  const out = applyPatches("a-b-c", [
    { name: "first", find: "a-", replace: "A+" },
    { name: "second", find: "+b", replace: "+B" },
  ], "test.js");
  assert.equal(out, "A+B-c");
  // `$` in a replacement is literal, not a replace() pattern.
  assert.equal(applyPatches("x", [{ name: "dollar", find: "x", replace: "$&$&" }], "t.js"), "$&$&");
});

Deno.test("applyPatches names the patch that matches zero or several times", () => {
  assert.throws(
    () => applyPatches("abc", [{ name: "missing bit", find: "zzz", replace: "" }], "glue.js"),
    /patch "missing bit" expects its text exactly once in glue\.js, found it 0 times/,
  );
  assert.throws(
    () => applyPatches("abab", [{ name: "twice", find: "ab", replace: "" }], "glue.js"),
    /patch "twice" .* found it 2 times/,
  );
});

Deno.test("every patch matches the installed package; files are cached and parse", () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "ganatomy-wasm-"));
  try {
    const files = preparePatchedFiles({ cacheDir });
    assert.ok(path.basename(path.dirname(files.glue)).startsWith(`wasm-threads-p${PATCH_VERSION}-`));
    assert.ok(fs.existsSync(files.wasm), files.wasm);
    const glue = fs.readFileSync(files.glue, "utf8");
    const worker = fs.readFileSync(files.worker, "utf8");
    for (const p of GLUE_PATCHES) assert.ok(glue.includes(p.replace), p.name);
    for (const p of WORKER_PATCHES) assert.ok(worker.includes(p.replace), p.name);
    assert.ok(!glue.includes("global.Worker="));
    new Function(glue); // syntax only: throws SyntaxError on a broken patch
    new Function(worker);
    // A second call reuses the files.
    const mtime = fs.statSync(files.glue).mtimeMs;
    assert.deepEqual(preparePatchedFiles({ cacheDir }), files);
    assert.equal(fs.statSync(files.glue).mtimeMs, mtime);
    assert.deepEqual(fs.readdirSync(path.dirname(files.glue)).sort(), [
      "threaded-simd-glue.cjs",
      "threaded-simd-worker.cjs",
    ]);
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
});

Deno.test("createThreadedWasmModule rejects fewer than 2 threads", async () => {
  await assert.rejects(createThreadedWasmModule(1), /threads >= 2, got 1/);
  await assert.rejects(createThreadedWasmModule(2.5), /threads >= 2, got 2\.5/);
});

Deno.test("a start that times out rejects, and the process still exits", async () => {
  const url = new URL("./wasm_threads.ts", import.meta.url).href;
  const r = await denoEval(`
    const { createThreadedWasmModule } = await import(${JSON.stringify(url)});
    try {
      await createThreadedWasmModule(2, { startTimeoutMs: 1 });
      console.log("resolved");
    } catch (e) {
      console.log("rejected: " + e.message);
    }
  `);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /rejected: its 1 worker\(s\) did not start within 1 ms/);
});

Deno.test("a worker that fails to load rejects the start instead of hanging or crashing", async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "ganatomy-wasm-"));
  try {
    const files = preparePatchedFiles({ cacheDir });
    fs.writeFileSync(files.worker, 'throw new Error("broken worker");\n');
    const url = new URL("./wasm_threads.ts", import.meta.url).href;
    const r = await denoEval(`
      const { createThreadedWasmModule } = await import(${JSON.stringify(url)});
      try {
        await createThreadedWasmModule(2, { cacheDir: ${JSON.stringify(cacheDir)}, startTimeoutMs: 5000 });
        console.log("resolved");
      } catch (e) {
        console.log("rejected: " + e.message);
      }
    `);
    assert.equal(r.code, 0, r.err);
    // Deno's node:worker_threads usually emits the worker's error, but sometimes (seen once in CI, under
    // load) drops it; the start timeout must then reject instead.
    assert.match(r.out, /rejected: (broken worker|its 1 worker\(s\) did not start within 5000 ms)/);
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
});

Deno.test("the threaded module starts, computes on 2 threads, and lets the process exit", async () => {
  const url = new URL("./wasm_threads.ts", import.meta.url).href;
  const r = await denoEval(`
    import * as tf from "@tensorflow/tfjs-core";
    const { registerThreadedWasmBackend } = await import(${JSON.stringify(url)});
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    await registerThreadedWasmBackend(2);
    await tf.setBackend("wasm");
    const y = tf.conv2d(tf.ones([1, 8, 8, 4]), tf.ones([3, 3, 4, 2]), 1, "same");
    console.log(JSON.stringify({
      threads: wasm.getThreadsCount(),
      backend: tf.getBackend(),
      factory: typeof tf.engine().registryFactory.wasm?.factory,
      centre: y.dataSync()[(3 * 8 + 3) * 2],
    }));
  `);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), { threads: 2, backend: "wasm", factory: "function", centre: 36 });
});
