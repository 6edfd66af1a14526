/**
 * Pick the engine for forward-only runs: ONNX Runtime by default, tfjs when asked for (or when ORT's native
 * addon cannot load). Both answer through one async interface, {@link GeneratorRunner}, so sampling, tracing
 * and editing code does not care which engine runs. Training and gradients use {@link TfjsGenerator} directly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { createGenerator } from "./select.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { threads: 2 });
 * const z = tf.randomNormal([2, 16]) as tf.Tensor2D;
 * const { output } = await gen.run(z, { clamp: true });
 * assert.deepEqual(output.shape, [2, 8, 8, 3]);
 * // gen.engine: "ort", or "tfjs" (with a warning) where ONNX Runtime cannot run (e.g. once a test used it)
 * tf.dispose([z, output]);
 * await gen.dispose();
 * ```
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { GeneratorDescription } from "../models/stages.ts";
import type { OrtDevice } from "./ort.ts";
import { type RunOptions, type RunResult, TfjsGenerator } from "./tfjs.ts";

/** The engines that run generators. */
export type EngineName = "ort" | "tfjs";

/** A generator on some engine; `run` has the semantics of {@link TfjsGenerator.run}. */
export interface GeneratorRunner {
  /** The engine that runs (after any fallback). */
  readonly engine: EngineName;
  readonly model: GeneratorDescription;
  /** Run the stages (see {@link RunOptions}); the caller owns the returned tensors. */
  run(input: tf.Tensor, options?: RunOptions): Promise<RunResult>;
  /** Free the engine's weights and sessions. */
  dispose(): Promise<void>;
}

/** Options of {@link createGenerator}. */
export interface CreateGeneratorOptions {
  /**
   * `"ort"` or `"tfjs"`. Default `"ort"`, falling back to tfjs with one warning per process when ONNX Runtime's
   * native addon cannot load; an explicit `"ort"` throws instead.
   */
  engine?: EngineName;
  /** ORT intra-op threads; default `GANATOMY_THREADS`, else the core count (tfjs threads: see initBackend). */
  threads?: number;
  /** `"cpu"` (default) or `"cuda"` (ORT only; throws where ORT's CUDA provider is missing). */
  device?: OrtDevice;
}

/** tfjs behind the async interface; it runs on the current tfjs backend. */
class TfjsRunner implements GeneratorRunner {
  readonly engine = "tfjs";
  private readonly gen: TfjsGenerator;

  constructor(readonly model: GeneratorDescription) {
    this.gen = new TfjsGenerator(model);
  }

  run(input: tf.Tensor, options: RunOptions = {}): Promise<RunResult> {
    // The executor's throw becomes a rejection, as an async engine's would.
    return new Promise((resolve) => resolve(this.gen.run(input, options)));
  }

  dispose(): Promise<void> {
    this.gen.dispose();
    return Promise.resolve();
  }
}

let ortModule: Promise<typeof import("./ort.ts")> | undefined;
let warnedFallback = false;

/**
 * ORT's module, imported and checked once: its import loads the native addon (Deno needs --allow-ffi), and a
 * one-node session shows that the addon can create sessions in this process.
 */
function loadOrt(): Promise<typeof import("./ort.ts")> {
  return ortModule ??= import("./ort.ts").then(async (mod) => {
    await mod.probeOrt();
    return mod;
  });
}

/**
 * A generator on the chosen engine (see {@link CreateGeneratorOptions}). Throws for an unknown engine or
 * device, for `device: "cuda"` with tfjs, and for an explicit `"ort"` whose native addon cannot load.
 * A CUDA device that ORT cannot use is reported by the first run (sessions are built lazily).
 */
export async function createGenerator(
  model: GeneratorDescription,
  options: CreateGeneratorOptions = {},
): Promise<GeneratorRunner> {
  const engine = options.engine ?? "ort";
  const device = options.device ?? "cpu";
  if (engine !== "ort" && engine !== "tfjs") {
    throw new Error(`engine must be "ort" or "tfjs"; got "${engine}"`);
  }
  if (device !== "cpu" && device !== "cuda") {
    throw new Error(`device must be "cpu" or "cuda"; got "${device}"`);
  }
  if (engine === "tfjs") {
    if (device === "cuda") throw new Error(`device "cuda" needs engine "ort"; tfjs runs on its own backend`);
    return new TfjsRunner(model);
  }
  let ort: typeof import("./ort.ts");
  try {
    ort = await loadOrt();
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    if (options.engine === "ort" || device === "cuda") {
      throw new Error(`engine "ort": ONNX Runtime cannot run here: ${reason}`);
    }
    if (!warnedFallback) {
      warnedFallback = true;
      console.warn(
        `ganatomy: ONNX Runtime cannot run here (${reason}); running generators on tfjs (slower).`,
      );
    }
    return new TfjsRunner(model);
  }
  return new ort.OrtGenerator(model, { threads: options.threads, device });
}
