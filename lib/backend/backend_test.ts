import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { backendInfo, type BackendName, initBackend } from "./backend.ts";
import type { ChildReport, StartupSummary } from "../../tests/wasm_threads_startup_check.ts";

const ROOT = new URL("../../", import.meta.url);
const CHECK = new URL("../../tests/wasm_threads_startup_check.ts", import.meta.url).pathname;

/** Run `deno <args>` from the repository root, killed after `timeoutMs` (a hang; `err` then says so). */
async function deno(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<{ code: number; out: string; err: string }> {
  let killed = false;
  const proc = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    killed = true;
    proc.kill("SIGKILL");
  }, timeoutMs);
  const { code, stdout, stderr } = await proc.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  const hang = killed ? `\nkilled: the process had not exited after ${timeoutMs / 1000} s` : "";
  return { code, out: dec.decode(stdout), err: dec.decode(stderr) + hang };
}

/** Run `fn` with environment variables set (undefined = removed), restoring them afterwards. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

Deno.test("the backend option selects cpu and creates no tensor", async () => {
  const before = tf.memory().numTensors;
  const info = await initBackend({ backend: "cpu" });
  assert.deepEqual(info, { backend: "cpu", threads: 1, kernels: [] });
  assert.equal(tf.getBackend(), "cpu");
  assert.equal(backendInfo(), info);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("GANATOMY_BACKEND selects the backend when no option is given", async () => {
  const info = await withEnv({ GANATOMY_BACKEND: "cpu" }, () => initBackend());
  assert.equal(info.backend, "cpu");
  assert.equal(tf.getBackend(), "cpu");
});

Deno.test("a bad backend name is a clear error, from the option or the environment", async () => {
  await assert.rejects(
    initBackend({ backend: "gpu" as BackendName }),
    /option backend must be tensorflow, wasm or cpu; got "gpu"/,
  );
  await withEnv({ GANATOMY_BACKEND: "webgl" }, async () => {
    await assert.rejects(initBackend(), /GANATOMY_BACKEND must be tensorflow, wasm or cpu; got "webgl"/);
  });
});

Deno.test("a bad thread count is a clear error, from the option or the environment", async () => {
  await assert.rejects(
    initBackend({ backend: "wasm", threads: 0 }),
    /option threads must be a positive integer/,
  );
  await withEnv({ GANATOMY_THREADS: "two" }, async () => {
    await assert.rejects(
      initBackend({ backend: "wasm" }),
      /GANATOMY_THREADS must be a positive integer; got "two"/,
    );
  });
});

Deno.test("tensorflow asked for but not installed gives the clear error", async () => {
  await assert.rejects(
    initBackend({ backend: "tensorflow" }),
    (e: Error) => {
      assert.match(
        e.message,
        /neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node could be loaded/,
      );
      assert.match(e.message, /deno\.json/);
      return true;
    },
  );
});

Deno.test("threaded wasm (2 threads) equals cpu on a conv, and its process exits by itself", async () => {
  const r = await deno(["run", "-A", CHECK, "--child", "--threads", "2"]);
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out) as ChildReport;
  assert.equal(report.threads, 2);
  assert.ok(report.relErr < 1e-5, `relative error ${report.relErr}`);
  assert.ok(!r.err.includes("ganatomy:"), r.err);
});

Deno.test("wasm thread count is fixed by the first wasm call; defaults reuse it", async () => {
  const url = new URL("./backend.ts", import.meta.url).href;
  const r = await deno([
    "eval",
    `
    const { initBackend } = await import(${JSON.stringify(url)});
    const first = await initBackend({ backend: "wasm", threads: 1 });
    await initBackend({ backend: "cpu" });
    const again = await initBackend({ backend: "wasm" });
    let error = "";
    try {
      await initBackend({ backend: "wasm", threads: 2 });
    } catch (e) {
      error = e.message;
    }
    console.log(JSON.stringify({ first: first.threads, again: again.threads, error }));
  `,
  ]);
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out);
  assert.equal(out.first, 1);
  assert.equal(out.again, 1);
  assert.match(out.error, /initialised for 1 thread\(s\); its thread count cannot change .*asked for 2/);
});

Deno.test("GANATOMY_THREADS=1 uses the plain SIMD build", async () => {
  const r = await deno(["run", "-A", CHECK, "--child"], { GANATOMY_THREADS: "1" });
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out) as ChildReport;
  assert.equal(report.threads, 1);
  assert.ok(report.relErr < 1e-5, `relative error ${report.relErr}`);
});

Deno.test("a failed thread start falls back to 1 thread with one warning", async () => {
  const url = new URL("./backend.ts", import.meta.url).href;
  // Without SharedArrayBuffer the threaded module cannot start; the plain SIMD build does not need it.
  const r = await deno([
    "eval",
    `
    import * as tf from "@tensorflow/tfjs-core";
    Reflect.deleteProperty(globalThis, "SharedArrayBuffer");
    const { initBackend } = await import(${JSON.stringify(url)});
    const info = await initBackend({ backend: "wasm", threads: 2 });
    const y = tf.conv2d(tf.ones([1, 4, 4, 1]), tf.ones([3, 3, 1, 1]), 1, "same");
    console.log(JSON.stringify({ threads: info.threads, backend: tf.getBackend(), centre: y.dataSync()[5] }));
  `,
  ]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), { threads: 1, backend: "wasm", centre: 9 });
  const warnings = r.err.split("\n").filter((line) => line.startsWith("ganatomy:"));
  assert.equal(warnings.length, 1, r.err);
  assert.match(
    warnings[0],
    /could not start 2 wasm threads \(SharedArrayBuffer is not defined\); using 1 thread/,
  );
});

Deno.test("the start-up check runs separate processes and reports them", async () => {
  const r = await deno(["run", "-A", CHECK, "--runs", "2", "--threads", "2"], {}, 60_000);
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out) as StartupSummary;
  assert.equal(summary.runs, 2);
  assert.equal(summary.ok, 2);
  assert.deepEqual(summary.threadsSeen, { "2": 2 });
  assert.equal(summary.hung + summary.failed, 0);
});
