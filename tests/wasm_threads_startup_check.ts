/**
 * Start-up check of the threaded wasm backend.
 *
 * Runs `--runs` separate `deno run` processes one after another. Each initialises the wasm backend with
 * `--threads` threads, runs one convolution, compares its first sample with the cpu backend, prints one
 * JSON line and
 * must then exit by itself (the worker threads must not keep it alive). A process that has not exited
 * `--timeout-ms` after it started is killed and counted as hung. Prints a JSON summary and exits 1 if any
 * run failed, hung, or ran on fewer threads than asked. `lib/backend/backend_test.ts` runs it (a child, and
 * two runs); run it by hand for more.
 *
 * @example
 * ```sh
 * deno run -A tests/wasm_threads_startup_check.ts --runs 50 --threads 2
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { initBackend } from "../lib/backend/backend.ts";

/** What one child process reports. */
export interface ChildReport {
  /** Threads the wasm backend reports. */
  threads: number;
  /** Milliseconds of `initBackend`. */
  initMs: number;
  /** Milliseconds of the first wasm convolution (including its data read). */
  convMs: number;
  /** max |wasm - cpu| / max |cpu| over the convolution's output for sample 0. */
  relErr: number;
}

/** Summary printed by the parent. */
export interface StartupSummary {
  runs: number;
  threadsAsked: number;
  /** Runs that reported, exited with code 0 and used `threadsAsked` threads. */
  ok: number;
  /** Runs killed after `timeoutMs`. */
  hung: number;
  /** Runs that exited non-zero, printed no report, or used fewer threads. */
  failed: number;
  /** Runs that printed a ganatomy warning (e.g. the fallback to 1 thread). */
  warned: number;
  /** How many runs reported each thread count. */
  threadsSeen: Record<string, number>;
  initMs: Stats;
  /** Milliseconds from a child's report to its exit. */
  exitAfterReportMs: Stats;
  /** Wall milliseconds of a whole child process. */
  wallMs: Stats;
  maxRelErr: number;
  /** First stderr line (or reason) of each failed or hung run. */
  problems: string[];
}

/** Median and maximum of a sample. */
export interface Stats {
  median: number;
  max: number;
}

function stats(values: number[]): Stats {
  if (values.length === 0) return { median: NaN, max: NaN };
  const s = [...values].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 10) / 10;
  return { median: round(s[Math.floor(s.length / 2)]), max: round(s[s.length - 1]) };
}

/** 'same' stride-1 convolution, read back; the returned array is not a tensor (nothing to dispose). */
function conv(x: tf.Tensor4D, w: tf.Tensor4D): Float32Array {
  const y = tf.conv2d(x, w, 1, "same"); // [N, H, W, Co]
  const values = y.dataSync() as Float32Array;
  y.dispose();
  return values;
}

/** Child: init, one conv on wasm and on cpu, one JSON line. Returns without calling `Deno.exit`. */
async function child(threads: number | undefined): Promise<void> {
  const t0 = performance.now();
  const info = await initBackend({ backend: "wasm", threads });
  const initMs = performance.now() - t0;
  const x = tf.randomUniform([16, 32, 32, 64], -1, 1, "float32", 1) as tf.Tensor4D; // [N, H, W, C]
  const w = tf.randomUniform([3, 3, 64, 64], -1, 1, "float32", 2) as tf.Tensor4D; // [kh, kw, Ci, Co]
  // The cpu reference convolves sample 0 only (samples are independent), to keep each run short.
  const x0 = tf.slice(x, [0, 0, 0, 0], [1, 32, 32, 64]);
  const xv = x0.dataSync().slice();
  const wv = w.dataSync().slice();
  x0.dispose();
  const t1 = performance.now();
  const onWasm = conv(x, w).subarray(0, 32 * 32 * 64);
  const convMs = performance.now() - t1;
  tf.dispose([x, w]);
  await initBackend({ backend: "cpu" });
  const xc = tf.tensor4d(xv, [1, 32, 32, 64]);
  const wc = tf.tensor4d(wv, [3, 3, 64, 64]);
  const onCpu = conv(xc, wc);
  tf.dispose([xc, wc]);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < onCpu.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(onWasm[i] - onCpu[i]));
    maxRef = Math.max(maxRef, Math.abs(onCpu[i]));
  }
  const report: ChildReport = { threads: info.threads, initMs, convMs, relErr: maxDiff / maxRef };
  console.log(JSON.stringify(report));
}

interface RunResult {
  report?: ChildReport;
  code?: number;
  hung: boolean;
  stderr: string;
  wallMs: number;
  exitAfterReportMs?: number;
}

async function runChild(threads: number | undefined, timeoutMs: number): Promise<RunResult> {
  const args = ["run", "-A", new URL(import.meta.url).pathname, "--child"];
  if (threads !== undefined) args.push("--threads", String(threads));
  const start = performance.now();
  const proc = new Deno.Command(Deno.execPath(), {
    args,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  })
    .spawn();
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    proc.kill("SIGKILL");
  }, timeoutMs);
  let reportAt: number | undefined;
  let stdout = "";
  const readStdout = (async () => {
    for await (const chunk of proc.stdout.pipeThrough(new TextDecoderStream())) {
      stdout += chunk;
      if (reportAt === undefined && stdout.includes("\n")) reportAt = performance.now();
    }
  })();
  const readStderr = new Response(proc.stderr).text();
  const status = await proc.status;
  const end = performance.now();
  clearTimeout(timer);
  await readStdout;
  const stderr = await readStderr;
  let report: ChildReport | undefined;
  try {
    report = JSON.parse(stdout.trim().split("\n")[0]) as ChildReport;
  } catch {
    report = undefined;
  }
  return {
    report,
    code: status.code,
    hung,
    stderr,
    wallMs: end - start,
    exitAfterReportMs: reportAt === undefined ? undefined : end - reportAt,
  };
}

/** Parent: run `runs` children one after another and summarise them. */
export async function checkStartup(
  runs: number,
  options: { threads?: number; timeoutMs?: number } = {},
): Promise<StartupSummary> {
  const threadsAsked = options.threads ?? navigator.hardwareConcurrency;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const summary: StartupSummary = {
    runs,
    threadsAsked,
    ok: 0,
    hung: 0,
    failed: 0,
    warned: 0,
    threadsSeen: {},
    initMs: { median: NaN, max: NaN },
    exitAfterReportMs: { median: NaN, max: NaN },
    wallMs: { median: NaN, max: NaN },
    maxRelErr: 0,
    problems: [],
  };
  const initMs: number[] = [];
  const exitMs: number[] = [];
  const wallMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await runChild(options.threads, timeoutMs);
    wallMs.push(r.wallMs);
    if (r.stderr.includes("ganatomy:")) summary.warned++;
    if (r.exitAfterReportMs !== undefined) exitMs.push(r.exitAfterReportMs);
    if (r.report) {
      initMs.push(r.report.initMs);
      summary.threadsSeen[r.report.threads] = (summary.threadsSeen[r.report.threads] ?? 0) + 1;
      summary.maxRelErr = Math.max(summary.maxRelErr, r.report.relErr);
    }
    const firstErr = r.stderr.split("\n").find((line) => /error|ganatomy:/i.test(line)) ?? "";
    if (r.hung) {
      summary.hung++;
      summary.problems.push(`run ${i}: killed after ${timeoutMs} ms ${firstErr}`.trim());
    } else if (r.code !== 0 || !r.report || r.report.threads < threadsAsked) {
      summary.failed++;
      summary.problems.push(`run ${i}: exit ${r.code}, threads ${r.report?.threads} ${firstErr}`.trim());
    } else {
      summary.ok++;
    }
  }
  summary.initMs = stats(initMs);
  summary.exitAfterReportMs = stats(exitMs);
  summary.wallMs = stats(wallMs);
  return summary;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "50" },
      threads: { type: "string" },
      "timeout-ms": { type: "string", default: "20000" },
      child: { type: "boolean", default: false },
    },
  });
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (values.child) {
    await child(threads);
  } else {
    const summary = await checkStartup(Number(values.runs), {
      threads,
      timeoutMs: Number(values["timeout-ms"]),
    });
    console.log(JSON.stringify(summary, null, 2));
    if (summary.ok !== summary.runs) Deno.exitCode = 1;
  }
}
