/**
 * The ONNX Runtime engine: forward-only runs (sampling, tracing, editing) with the same options and results as
 * the tfjs engine ({@link TfjsGenerator}), several times faster on CPU.
 *
 * A run compiles its *shape* (stage range, traced stages, edited stages and their fields, clamp) to an ONNX
 * graph once ({@link ./onnx_graph.ts}) and keeps the ORT session; edit *values* are fed as graph inputs, so
 * runs that differ only in values reuse the session. Inputs and outputs are tfjs tensors in NHWC, so callers can
 * swap engines; the caller owns the returned tensors. Loading this module loads ONNX Runtime's native addon
 * (Deno needs `--allow-ffi`, which `-A` includes); {@link ./select.ts} falls back to tfjs when it cannot.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { randomPggan } from "../models/pggan.ts";
 * import { ablate } from "./edits.ts";
 * import { OrtGenerator } from "./ort.ts";
 *
 * const gen = new OrtGenerator(randomPggan([16, 16, 8]), { threads: 2 });
 * const z = tf.randomNormal([2, 16]) as tf.Tensor2D;
 * const { output, traces } = await gen.run(z, { trace: ["layer2"], edits: { layer2: ablate([0, 1], 16) } });
 * assert.deepEqual([output.shape, traces.layer2.shape], [[2, 8, 8, 3], [2, 4, 4, 16]]);
 * tf.dispose([z, output, traces.layer2]);
 * await gen.dispose();
 * ```
 * @module
 */
import * as ort from "onnxruntime-node";
import * as tf from "@tensorflow/tfjs-core";
import type { GeneratorDescription } from "../models/stages.ts";
import { validateDescription } from "../models/stages.ts";
import type { Edit, PerUnit, SpatialMask } from "./edits.ts";
import {
  buildOnnxModel,
  type EditFields,
  editInputName,
  GRAPH_INPUT,
  GRAPH_OUTPUT,
  graphKey,
  type GraphSpec,
  identityModel,
  resolveSpec,
  traceOutputName,
} from "./onnx_graph.ts";
import type { RunOptions, RunResult } from "./tfjs.ts";

/** Where ONNX Runtime computes. */
export type OrtDevice = "cpu" | "cuda";

/** Options of {@link OrtGenerator}. */
export interface OrtGeneratorOptions {
  /** Intra-op threads; default: `GANATOMY_THREADS`, else `navigator.hardwareConcurrency`. */
  threads?: number;
  /** `"cpu"` (default) or `"cuda"` (ORT's CUDA execution provider; a clear error where it is missing). */
  device?: OrtDevice;
  /** Compiled variants kept; the least recently used session is released beyond this. Default 8. */
  maxSessions?: number;
}

/** Threads from `GANATOMY_THREADS`, else the number of logical cores. */
export function defaultThreads(): number {
  const env = Deno.env.get("GANATOMY_THREADS");
  if (env === undefined || env === "") return Math.max(1, navigator.hardwareConcurrency || 1);
  const n = /^\s*\d+\s*$/.test(env) ? Number(env) : NaN;
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`GANATOMY_THREADS must be a positive integer; got "${env}"`);
  }
  return n;
}

/**
 * ORT's errors, with the one that needs context explained: the native addon keeps one ORT environment per
 * process and tears it down for good when the last isolate that loaded it ends, so a later isolate of the same
 * process (deno test runs test files one after another in one process) cannot create sessions.
 */
function explainOrtError(e: unknown): Error {
  const message = e instanceof Error ? e.message : String(e);
  if (!/OrtEnv already destroyed/.test(message)) return e instanceof Error ? e : new Error(message);
  return new Error(
    "ONNX Runtime cannot start again in this process: its environment was torn down when an earlier isolate " +
      "that used it ended (deno test runs test files one after another in one process). Run this code in a " +
      "process of its own, e.g. `deno test -A <this test file>` alone.",
  );
}

let probe: Promise<void> | undefined;

/**
 * Resolves when ONNX Runtime can create sessions in this isolate (checked once, with a one-node graph);
 * rejects with the reason otherwise. Every session is created after this check: once ORT's environment has
 * failed to start, touching it again can crash the process, so the failure is remembered instead.
 */
export function probeOrt(): Promise<void> {
  return probe ??= (async () => {
    try {
      const session = await ort.InferenceSession.create(identityModel(), { intraOpNumThreads: 1 });
      await session.release();
    } catch (e) {
      throw explainOrtError(e);
    }
  })();
}

/** A cached session and the runs using it (an evicted session is released when its last run ends). */
interface SessionEntry {
  session: Promise<ort.InferenceSession>;
  users: number;
  evicted: boolean;
}

function release(entry: SessionEntry): Promise<void> {
  // A session that failed to build has nothing to release.
  return entry.session.then((s) => s.release(), () => {});
}

/** Which fields of an edit a graph needs as inputs. */
function editFields(edit: Edit): EditFields {
  return {
    a: edit.a !== undefined,
    v: edit.v !== undefined,
    scale: edit.scale !== undefined,
    mask: !!edit.mask,
  };
}

/**
 * A tensor's values as a Float32Array, shared with the tensor where the backend stores one (tfjs's cpu backend
 * does, except after some casts) and converted otherwise. Read-only: ORT reads it, nobody writes it.
 */
async function float32Data(t: tf.Tensor): Promise<Float32Array> {
  const data = await t.data();
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

async function perUnitValues(
  value: PerUnit,
  channels: number,
  what: string,
  stage: string,
): Promise<Float32Array> {
  if (typeof value === "number") return new Float32Array(channels).fill(value);
  if (value instanceof tf.Tensor) {
    if (value.rank !== 1 || value.shape[0] !== channels) {
      throw new Error(`edit of ${stage}: ${what} must have shape [${channels}], got [${value.shape}]`);
    }
    return await float32Data(value);
  }
  if (value.length !== channels) {
    throw new Error(`edit of ${stage}: ${what} has ${value.length} values for ${channels} units`);
  }
  return Float32Array.from(value);
}

/** A mask `[H, W]` or `[N, H, W]` as the graph's `[1 or N, 1, H, W]` input. */
async function maskValues(mask: SpatialMask, n: number, size: number, stage: string): Promise<ort.Tensor> {
  const ok = mask.rank === 2
    ? mask.shape[0] === size && mask.shape[1] === size
    : mask.shape[0] === n && mask.shape[1] === size && mask.shape[2] === size;
  if (!ok) {
    throw new Error(
      `edit of ${stage}: mask must be [${size},${size}] or [${n},${size},${size}], got [${mask.shape}]`,
    );
  }
  const dims = [mask.rank === 2 ? 1 : n, 1, size, size]; // [1|N, 1, H, W]
  return new ort.Tensor("float32", await float32Data(mask), dims);
}

/** A generator on ONNX Runtime; holds compiled sessions until {@link OrtGenerator.dispose}. */
export class OrtGenerator {
  /** The engine's name (as `GeneratorRunner.engine` in ./select.ts reports it). */
  readonly engine = "ort";
  /** Intra-op threads of every session. */
  readonly threads: number;
  /** Where the sessions compute. */
  readonly device: OrtDevice;
  private readonly maxSessions: number;
  private readonly sessions = new Map<string, SessionEntry>();
  private builds = 0;
  private disposed = false;

  constructor(readonly model: GeneratorDescription, options: OrtGeneratorOptions = {}) {
    validateDescription(model);
    this.threads = options.threads ?? defaultThreads();
    if (!Number.isInteger(this.threads) || this.threads < 1) {
      throw new Error(`threads must be a positive integer; got ${options.threads}`);
    }
    this.device = options.device ?? "cpu";
    if (this.device !== "cpu" && this.device !== "cuda") {
      throw new Error(`device must be "cpu" or "cuda"; got "${this.device}"`);
    }
    this.maxSessions = options.maxSessions ?? 8;
    if (!Number.isInteger(this.maxSessions) || this.maxSessions < 1) {
      throw new Error(`maxSessions must be a positive integer; got ${options.maxSessions}`);
    }
  }

  /** Graphs compiled so far (a run of a cached variant compiles nothing). */
  get compiledGraphs(): number {
    return this.builds;
  }

  /** Sessions held now. */
  get cachedSessions(): number {
    return this.sessions.size;
  }

  /**
   * Run the stages (see {@link RunOptions}; the same semantics as {@link TfjsGenerator.run}). Resolves to NHWC
   * tensors that the caller owns. Throws for unknown stage names, wrong input shapes and bad edit values.
   */
  async run(input: tf.Tensor, options: RunOptions = {}): Promise<RunResult> {
    if (this.disposed) throw new Error("this OrtGenerator was disposed");
    const model = this.model;
    const edits = options.edits ?? {};
    const spec: GraphSpec = {
      from: options.from,
      to: options.to,
      trace: options.trace,
      clamp: options.clamp,
      edits: Object.fromEntries(Object.entries(edits).map(([name, e]) => [name, editFields(e)])),
    };
    const r = resolveSpec(model, spec);
    const n = this.checkInput(input, r.first, options.from);

    const feeds: Record<string, ort.Tensor> = {
      [GRAPH_INPUT]: new ort.Tensor("float32", await float32Data(input), input.shape),
    };
    for (const [name, fields] of r.edits) {
      const edit = edits[name];
      const stage = model.stages.find((s) => s.name === name)!;
      const c = stage.channels;
      for (const field of ["a", "v", "scale"] as const) {
        if (!fields[field]) continue;
        const values = await perUnitValues(edit[field]!, c, field, name);
        feeds[editInputName(name, field)] = new ort.Tensor("float32", values, [1, c, 1, 1]);
      }
      if (fields.mask) feeds[editInputName(name, "mask")] = await maskValues(edit.mask!, n, stage.size, name);
    }

    const key = graphKey(model, spec);
    const entry = this.session(key, spec);
    entry.users++;
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await (await entry.session).run(feeds);
    } finally {
      entry.users--;
      if (entry.evicted && entry.users === 0) await release(entry);
    }
    const toTf = (t: ort.Tensor) =>
      tf.tensor4d(t.data as Float32Array, t.dims as [number, number, number, number]);
    const traces: Record<string, tf.Tensor4D> = {};
    for (const name of r.trace) traces[name] = toTf(results[traceOutputName(name)]);
    return { output: toTf(results[GRAPH_OUTPUT]), traces };
  }

  /** Release every session; the generator cannot run afterwards. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const entries = [...this.sessions.values()];
    this.sessions.clear();
    for (const entry of entries) entry.evicted = true;
    await Promise.all(entries.filter((e) => e.users === 0).map(release));
  }

  /** Check the input's shape; returns N. */
  private checkInput(input: tf.Tensor, first: number, from: string | undefined): number {
    if (input.dtype !== "float32") throw new Error(`input must be float32, got ${input.dtype}`);
    if (from === undefined) {
      if (input.rank !== 2 || input.shape[1] !== this.model.zDim) {
        throw new Error(`latent z must be [N, ${this.model.zDim}], got [${input.shape}]`);
      }
    } else {
      const prev = this.model.stages[first - 1];
      const [, h, w, c] = input.shape;
      if (input.rank !== 4 || h !== prev.size || w !== prev.size || c !== prev.channels) {
        throw new Error(
          `input for a run from "${from}" must be [N, ${prev.size}, ${prev.size}, ${prev.channels}], ` +
            `got [${input.shape}]`,
        );
      }
    }
    return input.shape[0];
  }

  /** The cached session of a variant, compiling it on first use and evicting the least recently used. */
  private session(key: string, spec: GraphSpec): SessionEntry {
    const cached = this.sessions.get(key);
    // Re-inserted below: the map's order is least → most recently used.
    if (cached) this.sessions.delete(key);
    const entry = cached ?? this.compile(key, spec);
    this.sessions.set(key, entry);
    while (this.sessions.size > this.maxSessions) {
      const [oldKey, old] = this.sessions.entries().next().value!;
      this.sessions.delete(oldKey);
      old.evicted = true;
      if (old.users === 0) release(old);
    }
    return entry;
  }

  /** A new entry for a variant; a failed build is not cached (the next run tries again and reports it again). */
  private compile(key: string, spec: GraphSpec): SessionEntry {
    this.builds++;
    const entry: SessionEntry = {
      session: this.createSession(buildOnnxModel(this.model, spec)),
      users: 0,
      evicted: false,
    };
    entry.session.catch(() => {
      if (this.sessions.get(key) === entry) this.sessions.delete(key);
    });
    return entry;
  }

  private async createSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
    await probeOrt();
    const options: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: "all",
      intraOpNumThreads: this.threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      executionProviders: [this.device],
    };
    try {
      return await ort.InferenceSession.create(bytes, options);
    } catch (e) {
      if (this.device !== "cuda") throw explainOrtError(e);
      const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0];
      throw new Error(
        `device "cuda": ONNX Runtime's CUDA execution provider is not available here (${reason}). It needs an ` +
          `NVIDIA GPU with CUDA 12 and cuDNN 9 and onnxruntime-node's CUDA libraries; use device "cpu".`,
      );
    }
  }
}
