/**
 * Multi-threaded tfjs wasm backend under Deno.
 *
 * `@tensorflow/tfjs-backend-wasm` 4.22 computes on one thread here, for four reasons:
 * - Deno defines `process`, so tfjs takes its Node path, and there it reports no thread support.
 * - Its threaded module starts each worker from a `blob:` URL, which `node:worker_threads` refuses
 *   (`ERR_WORKER_PATH`), and sets worker globals that Deno's workers do not allow.
 * - Workers that run a thread are kept referenced, so the process would never exit.
 * - Its C++ side uses at most half the logical cores (1 on a 2-core machine), whatever it is asked for.
 *
 * This module leaves the installed package untouched. At first use it reads the package's standalone
 * Emscripten glue of the threaded SIMD build (`wasm-out/tfjs-backend-wasm-threaded-simd.js`) and its worker
 * script, applies {@link GLUE_PATCHES} and {@link WORKER_PATCHES} (each must match exactly once, so a
 * changed package fails loudly instead of silently), and writes the two patched files atomically into a
 * cache folder keyed by {@link PATCH_VERSION} and the sha256 of the originals and the patches. It then starts that module
 * itself and registers a `wasm` backend factory that wraps it in the package's own `BackendWasm`: the
 * package's kernels, registered under the name `wasm` when the package is imported, run unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { registerThreadedWasmBackend } from "./wasm_threads.ts";
 * await registerThreadedWasmBackend(2);
 * await tf.setBackend("wasm");
 * const { getThreadsCount } = await import("@tensorflow/tfjs-backend-wasm");
 * assert.equal(getThreadsCount(), 2);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";

/** Version of the patches below, shown in the cache folder's name (whose hash also covers the patches). */
export const PATCH_VERSION = 1;

/** One exact text substitution in a file of the installed package. */
export interface TextPatch {
  /** What the substitution is for; named in the error when `find` is not found exactly once. */
  name: string;
  /** Text that must occur exactly once in the original file. */
  find: string;
  /** Its replacement. */
  replace: string;
}

/** Patches of the Emscripten glue of the threaded SIMD build (run on the main thread and in every worker). */
export const GLUE_PATCHES: readonly TextPatch[] = [
  {
    name: "leave Deno's global Worker alone",
    find: "global.Worker=nodeWorkerThreads.Worker}",
    replace: "}",
  },
  {
    name: "start pthread workers with node:worker_threads from a file path",
    find: "worker=new Worker(pthreadMainJs)",
    replace: 'worker=new(require("worker_threads").Worker)(pthreadMainJs)',
  },
  {
    name: "pre-start Module.threadsCount - 1 workers instead of 8",
    find: "var pthreadPoolSize=8;",
    replace: 'var pthreadPoolSize=Module["threadsCount"]-1;',
  },
  {
    // backend.cc caps the thread pool at emscripten_num_logical_cores() / 2 (it assumes hyper-threading).
    name: "report twice Module.threadsCount logical cores, so backend.cc's halving gives threadsCount",
    find:
      'function _emscripten_num_logical_cores(){if(ENVIRONMENT_IS_NODE)return require("os").cpus().length;' +
      'return navigator["hardwareConcurrency"]}',
    replace: 'function _emscripten_num_logical_cores(){return 2*Module["threadsCount"]}',
  },
  {
    name: "never let a running thread keep the process alive",
    find: "worker.runPthread=()=>{if(ENVIRONMENT_IS_NODE){worker.ref()}",
    replace: "worker.runPthread=()=>{",
  },
  {
    name: "reject Module.ready when a worker fails before the module has started",
    find: 'throw e};if(ENVIRONMENT_IS_NODE){worker.on("message"',
    replace:
      'if(!calledRun){readyPromiseReject(e);return}throw e};if(ENVIRONMENT_IS_NODE){worker.on("message"',
  },
];

/** Patches of the pthread worker script (`wasmWorkerContents` of the package's worker module). */
export const WORKER_PATCHES: readonly TextPatch[] = [
  {
    name: "escape the newline that the worker module's template literal leaves raw",
    find: 'text+"\n")',
    replace: 'text+"\\n")',
  },
  {
    name: "set only the worker globals Deno allows, post through parentPort, load the glue with require",
    find: "Object.assign(global,{self:global,require:require,Module:Module,location:{href:__filename}," +
      'Worker:nodeWorkerThreads.Worker,importScripts:function(f){(0,eval)(fs.readFileSync(f,"utf8")+' +
      '"//# sourceURL="+f)},postMessage:function(msg){parentPort.postMessage(msg)},' +
      "performance:global.performance||{now:function(){return Date.now()}}})",
    replace: "Object.assign(global,{self:global," +
      "importScripts:function(f){global.WasmBackendModuleThreadedSimd=require(f)}," +
      "postMessage:function(msg,transfer){parentPort.postMessage(msg,transfer)}})",
  },
];

/**
 * Apply `patches` to `text`. Throws, naming the patch and `label`, when a `find` text does not occur
 * exactly once (the installed package then differs from the one the patches were written for).
 */
export function applyPatches(text: string, patches: readonly TextPatch[], label: string): string {
  let out = text;
  for (const p of patches) {
    const count = out.split(p.find).length - 1;
    if (count !== 1) {
      throw new Error(
        `threaded wasm: patch "${p.name}" expects its text exactly once in ${label}, found it ${count} ` +
          `times. The installed @tensorflow/tfjs-backend-wasm differs from 4.22.0; update ` +
          `lib/backend/wasm_threads.ts or run with threads: 1.`,
      );
    }
    out = out.replace(p.find, () => p.replace);
  }
  return out;
}

/** Files of the patched threaded build, see {@link preparePatchedFiles}. */
export interface PatchedFiles {
  /** Patched Emscripten glue, a CommonJS module exporting the module factory. */
  glue: string;
  /** Patched pthread worker script. */
  worker: string;
  /** The package's threaded SIMD `.wasm` binary (not copied). */
  wasm: string;
}

/** Options of {@link preparePatchedFiles}. */
export interface PrepareOptions {
  /** Folder for the patched copies; default `.ganatomy/` in the outermost `node_modules` above the package. */
  cacheDir?: string;
}

const PKG = "@tensorflow/tfjs-backend-wasm";
const GLUE = "wasm-out/tfjs-backend-wasm-threaded-simd.js";
const WORKER = "wasm-out/tfjs-backend-wasm-threaded-simd.worker.js";
const WASM = "wasm-out/tfjs-backend-wasm-threaded-simd.wasm";

const requireHere = createRequire(import.meta.url);

/** Directory of the installed wasm backend package. */
function packageDir(): string {
  return path.dirname(requireHere.resolve(`${PKG}/package.json`));
}

function defaultCacheDir(pkgDir: string): string {
  const parts = pkgDir.split(path.sep);
  const i = parts.indexOf("node_modules");
  if (i < 0) return path.join(os.tmpdir(), "ganatomy");
  return path.join(parts.slice(0, i + 1).join(path.sep) || path.sep, ".ganatomy");
}

/** Write `text` to `file` atomically (temporary file in the same folder, then rename), unless it exists. */
function writeOnce(file: string, text: string): void {
  if (fs.existsSync(file)) return;
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * Write the patched glue and worker of the threaded SIMD build into the cache folder (once per package
 * content and {@link PATCH_VERSION}) and return their paths.
 */
export function preparePatchedFiles(options: PrepareOptions = {}): PatchedFiles {
  const pkgDir = packageDir();
  const glueText = fs.readFileSync(path.join(pkgDir, GLUE), "utf8");
  const workerText: unknown = requireHere(path.join(pkgDir, WORKER)).wasmWorkerContents;
  if (typeof workerText !== "string") {
    throw new Error(`threaded wasm: ${WORKER} of ${PKG} no longer exports the string wasmWorkerContents`);
  }
  // The key covers the originals and the patches, so an edited patch never reuses a stale copy.
  const hash = createHash("sha256").update(glueText).update("\0").update(workerText).update("\0")
    .update(JSON.stringify([GLUE_PATCHES, WORKER_PATCHES])).digest("hex");
  const dir = path.join(
    options.cacheDir ?? defaultCacheDir(pkgDir),
    `wasm-threads-p${PATCH_VERSION}-${hash.slice(0, 16)}`,
  );
  const files = {
    glue: path.join(dir, "threaded-simd-glue.cjs"),
    worker: path.join(dir, "threaded-simd-worker.cjs"),
    wasm: path.join(pkgDir, WASM),
  };
  if (!fs.existsSync(files.glue) || !fs.existsSync(files.worker)) {
    const glue = applyPatches(glueText, GLUE_PATCHES, GLUE);
    const worker = applyPatches(workerText, WORKER_PATCHES, WORKER);
    fs.mkdirSync(dir, { recursive: true });
    writeOnce(files.worker, worker);
    writeOnce(files.glue, glue);
  }
  return files;
}

/** The Emscripten module the package's `BackendWasm` wraps. */
export type WasmModule = ConstructorParameters<typeof BackendWasm>[0];

/** Emscripten's `cwrap` for numeric signatures, which returns the wasm export itself. */
type Cwrap = (name: string, result: "number" | null, args: "number"[]) => (...args: number[]) => number;

type WasmFactory = (config: Record<string, unknown>) => Promise<WasmModule & { cwrap: Cwrap }>;

/** Options of {@link createThreadedWasmModule} and {@link registerThreadedWasmBackend}. */
export interface ThreadedWasmOptions extends PrepareOptions {
  /** Milliseconds to wait for the module and its workers to start; default 30000. */
  startTimeoutMs?: number;
}

/**
 * Start the threaded SIMD module with `threads - 1` pre-started workers (XNNPACK computes on the calling
 * thread plus `threads - 1` pool threads, which must exist before it blocks waiting for them); `threads`
 * above {@link MAX_WASM_THREADS} is lowered to it. The workers never keep the process alive. Rejects, after
 * terminating any started worker, if the module or a worker fails or does not start within
 * `startTimeoutMs`.
 */
export async function createThreadedWasmModule(
  threads: number,
  options: ThreadedWasmOptions = {},
): Promise<WasmModule> {
  if (!Number.isInteger(threads) || threads < 2) {
    throw new Error(`threaded wasm needs an integer threads >= 2, got ${threads}`);
  }
  threads = Math.min(threads, MAX_WASM_THREADS);
  const files = preparePatchedFiles(options);
  const factory = requireHere(files.glue) as WasmFactory;
  const config: Record<string, unknown> = {
    threadsCount: threads,
    mainScriptUrlOrBlob: files.glue,
    locateFile: (file: string, prefix: string) => {
      if (file.endsWith(".worker.js")) return files.worker;
      if (file.endsWith(".wasm")) return files.wasm;
      return prefix + file;
    },
  };
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`its ${threads - 1} worker(s) did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const module = await Promise.race([factory(config), timeout]);
    module.tfjs = {
      init: module.cwrap("init", null, []),
      initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
      getThreadsCount: module.cwrap("get_threads_count", "number", []),
      registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
      disposeData: module.cwrap("dispose_data", null, ["number"]),
      dispose: module.cwrap("dispose", null, []),
    };
    return module;
  } catch (e) {
    (config.PThread as { terminateAllThreads(): void } | undefined)?.terminateAllThreads();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** backend.cc never uses more threads than this, whatever it is asked for. */
export const MAX_WASM_THREADS = 8;

/** Priority tfjs gives its wasm backend. */
const WASM_PRIORITY = 2;

/**
 * Replace the `wasm` backend factory registered by `@tensorflow/tfjs-backend-wasm` with one that wraps the
 * threaded module of {@link createThreadedWasmModule} in the package's `BackendWasm`, on the tfjs-core
 * instance the project imports. The module is started here, so a failure rejects this call and leaves the
 * package's own (single-threaded) factory in place. Call before the first `tf.setBackend("wasm")`.
 */
export async function registerThreadedWasmBackend(
  threads: number,
  options: ThreadedWasmOptions = {},
): Promise<void> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  if (tf.findBackend("wasm") != null) {
    throw new Error("threaded wasm: the wasm backend is already initialised; register before tf.setBackend");
  }
  let started: WasmModule | undefined = await createThreadedWasmModule(threads, options);
  wasm.setThreadsCount(threads);
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", async () => {
    // The first backend uses the module started above; one made after a dispose starts a new module.
    const module = started ?? await createThreadedWasmModule(threads, options);
    started = undefined;
    return new wasm.BackendWasm(module);
  }, WASM_PRIORITY);
}
