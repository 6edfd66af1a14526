/**
 * Select, initialise and report the TensorFlow.js backend.
 *
 * Backends:
 * - `tensorflow`: native libtensorflow through `@tensorflow/tfjs-node-gpu` (or `@tensorflow/tfjs-node`),
 *   used only when asked for; the package must be in `deno.json`'s imports (it is imported lazily).
 * - `wasm` (default): SIMD WebAssembly on `threads` threads (see {@link ./wasm_threads.ts}), with the
 *   training kernels it lacks supplied by {@link ./wasm_kernels.ts}.
 * - `cpu`: pure JavaScript, the last resort (far too slow for convolutional training).
 *
 * The choice comes from the `backend` option, else the `GANATOMY_BACKEND` environment variable, else `wasm`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "./backend.ts";
 * import { WASM_TRAINING_KERNELS } from "./wasm_kernels.ts";
 * const info = await initBackend({ backend: "wasm", threads: 2 });
 * assert.deepEqual(info, { backend: "wasm", threads: 2, simd: true, kernels: [...WASM_TRAINING_KERNELS] });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// tfjs-core alone registers no gradients: the union package registers them (and brings layers, converter, data).
import "@tensorflow/tfjs";
import { registerWasmTrainingKernels } from "./wasm_kernels.ts";
import { registerThreadedWasmBackend } from "./wasm_threads.ts";

/** The backends ganatomy knows. */
export type BackendName = "tensorflow" | "wasm" | "cpu";

const BACKEND_NAMES: readonly string[] = ["tensorflow", "wasm", "cpu"];

/** What {@link initBackend} chose; every experiment records it in its `meta.json`. */
export interface BackendInfo {
  backend: BackendName;
  /** Threads the backend computes with, as the backend reports them (1 for cpu). */
  threads: number;
  /** Whether the wasm build in use has SIMD. */
  simd?: boolean;
  /** Training kernels this project registered on the backend. */
  kernels: string[];
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /** Which backend; default: `GANATOMY_BACKEND` or `"wasm"`. */
  backend?: BackendName;
  /**
   * Threads for wasm (1 = the plain SIMD build, no workers); default: `GANATOMY_THREADS` or
   * `navigator.hardwareConcurrency`. Fixed by the first wasm initialisation of the process.
   */
  threads?: number;
}

let current: BackendInfo | undefined;
/** Threads asked for at the first wasm initialisation, which fixes them for the process. */
let wasmThreadsAsked: number | undefined;

/** The backend chosen by the last {@link initBackend}, if any. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

function checkBackendName(value: string, source: string): BackendName {
  if (!BACKEND_NAMES.includes(value)) {
    throw new Error(`${source} must be tensorflow, wasm or cpu; got "${value}"`);
  }
  return value as BackendName;
}

function checkThreads(value: number, source: string, raw: string = String(value)): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${source} must be a positive integer; got "${raw}"`);
  }
  return value;
}

function envValue(name: string): string | undefined {
  const v = Deno.env.get(name);
  return v === undefined || v === "" ? undefined : v;
}

/**
 * Select and initialise a backend and make it current. A later call with the same choice returns the same
 * info; switching between backends is allowed, but the wasm thread count is fixed by the first wasm call
 * (a later call that asks for another count throws).
 * With `threads > 1`, wasm runs the threaded SIMD build; if its workers fail to start, it warns once and
 * falls back to the plain SIMD build (`info.threads` then says 1).
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const env = envValue("GANATOMY_BACKEND");
  const backend = options.backend !== undefined
    ? checkBackendName(options.backend, "option backend")
    : env !== undefined
    ? checkBackendName(env, "GANATOMY_BACKEND")
    : "wasm";
  if (current?.backend === backend && tf.getBackend() === backend && options.threads === undefined) {
    return current;
  }
  // Production mode silences tfjs's "you are running TensorFlow.js in Node.js" banner (a warning, not a check).
  tf.env().set("PROD", true);
  if (backend === "tensorflow") {
    current = await initTensorflow();
  } else if (backend === "wasm") {
    current = await initWasm(threadsAsked(options.threads));
  } else {
    if (!(await tf.setBackend("cpu"))) throw new Error("the tfjs cpu backend failed to initialise");
    await tf.ready();
    current = { backend, threads: 1, kernels: [] };
  }
  return current;
}

/** Threads asked for by the option or `GANATOMY_THREADS` (undefined: neither gives a number). */
function threadsAsked(option: number | undefined): number | undefined {
  if (option !== undefined) return checkThreads(option, "option threads");
  const env = envValue("GANATOMY_THREADS");
  if (env === undefined) return undefined;
  return checkThreads(/^\s*\d+\s*$/.test(env) ? Number(env) : NaN, "GANATOMY_THREADS", env);
}

async function initWasm(asked: number | undefined): Promise<BackendInfo> {
  if (wasmThreadsAsked !== undefined && asked !== undefined && asked !== wasmThreadsAsked) {
    throw new Error(
      `the wasm backend was initialised for ${wasmThreadsAsked} thread(s); its thread count cannot change ` +
        `within a process (asked for ${asked})`,
    );
  }
  const threads = asked ?? wasmThreadsAsked ?? Math.max(1, navigator.hardwareConcurrency || 1);
  // Imported here, not statically, so the cpu and tensorflow paths never load the wasm bundle.
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  let threaded = false;
  if (wasmThreadsAsked === undefined) {
    wasmThreadsAsked = threads;
    if (threads > 1) {
      if (tf.findBackend("wasm") != null) {
        console.warn(
          `ganatomy: the wasm backend was started before initBackend, so it keeps its own thread count ` +
            `instead of ${threads}.`,
        );
      } else {
        try {
          await registerThreadedWasmBackend(threads);
          threaded = true;
        } catch (e) {
          const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0];
          console.warn(`ganatomy: could not start ${threads} wasm threads (${reason}); using 1 thread.`);
        }
      }
    }
  }
  if (!(await tf.setBackend("wasm"))) {
    throw new Error("the tfjs wasm backend failed to initialise (tfjs printed why above)");
  }
  await tf.ready();
  const simd = threaded || (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true;
  const kernels = registerWasmTrainingKernels();
  return { backend: "wasm", threads: wasm.getThreadsCount(), simd, kernels };
}

async function initTensorflow(): Promise<BackendInfo> {
  const errors: string[] = [];
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      // A bare specifier held in a variable: resolved through deno.json's import map at run time, so a
      // package that is not listed fails at once instead of being fetched.
      await import(pkg);
      if (!(await tf.setBackend("tensorflow"))) throw new Error("tf.setBackend('tensorflow') failed");
      await tf.ready();
      return { backend: "tensorflow", threads: navigator.hardwareConcurrency, kernels: [] };
    } catch (e) {
      errors.push(`${pkg}: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
    }
  }
  throw new Error(
    "backend 'tensorflow' was asked for, but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node " +
      "could be loaded. Add one to deno.json's imports (e.g. " +
      '"@tensorflow/tfjs-node": "npm:@tensorflow/tfjs-node@4.22.0") on a machine where its install script ' +
      "can fetch libtensorflow, or use --backend wasm.\n  " + errors.join("\n  "),
  );
}
