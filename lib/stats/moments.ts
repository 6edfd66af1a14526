/**
 * Streaming, mergeable mean and covariance of feature vectors in float64: the statistics behind the Fréchet
 * distance (FID), computed once per image set and saved (`mu`, `sigma` as in pytorch-fid's `.npz` files).
 *
 * Rows are folded in blocks of at most 256: each block's own mean and centred scatter `Σ (x − x̄_b)(x − x̄_b)ᵀ` are
 * computed exactly, then combined with the running ones by Chan, Golub & LeVeque's pairwise update
 *
 *     n = n_a + n_b,   δ = x̄_b − x̄_a,   x̄ = x̄_a + δ n_b / n,   S = S_a + S_b + δ δᵀ n_a n_b / n,
 *
 * which never subtracts large uncentred sums (the textbook `Σxxᵀ − n x̄x̄ᵀ` loses digits when the mean is large
 * against the spread). {@link RunningMoments.merge} is the same update, so shards computed separately add up
 * to the statistic of the whole set, to rounding. The block scatter is a symmetric `Xᵀ X`, computed by the
 * cache-blocked kernel of `lib/tensor/linalg.ts` (upper half only): 10,000 × 2048 features take ≈ 15 s on one
 * core. Storage is `D²` float64 (32 MB for D = 2048).
 *
 * The covariance is the unbiased one (`numpy.cov`, divisor `N − 1`), as pytorch-fid, clean-fid and
 * torch-fidelity use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RunningMoments } from "./moments.ts";
 * const a = new RunningMoments(2);
 * a.add(new Float32Array([1, 2, 3, 4])); // rows [1, 2], [3, 4]
 * const b = new RunningMoments(2);
 * b.add(new Float32Array([5, 6]));
 * a.merge(b);
 * assert.equal(a.count, 3);
 * assert.deepEqual([a.mean(), a.covariance()], [Float64Array.of(3, 4), Float64Array.of(4, 4, 4, 4)]);
 * const copy = RunningMoments.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
 * await a.save("/tmp/ganatomy_example/stats.safetensors", { metadata: { features: "toy" } });
 * const back = await RunningMoments.load("/tmp/ganatomy_example/stats.safetensors");
 * assert.deepEqual([copy.count, back.count, back.mean()], [3, 3, Float64Array.of(3, 4)]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { Buffer } from "node:buffer";
import type { HostTensor } from "../io/dtype.ts";
import { readSafetensors, writeSafetensors } from "../io/safetensors.ts";
import { formatShape } from "../tensor/shape.ts";
import { type Matrix, mirrorUpper, multiplyABt } from "../tensor/linalg.ts";
import { checkStatJSON, type Stat, type StatJSON } from "./protocol.ts";

const KIND = "RunningMoments";
const VERSION = 1;
/** Rows folded at a time: the centred block, transposed, is `D × 256` float64 (4 MB for D = 2048). */
const BLOCK_ROWS = 256;
/** Metadata keys of the statistics file. */
const COUNT_KEY = "ganatomy.count";
const KIND_KEY = "ganatomy.kind";

/** A batch of feature rows: a tensor `[N, D]`, or `N·D` values row after row. */
export type MomentsBatch = tf.Tensor | Float32Array | Float64Array;

/** The serialised form of {@link RunningMoments}: float64 arrays as base64 little-endian bytes. */
export interface RunningMomentsJSON extends StatJSON {
  dim: number;
  count: number;
  /** `[D]` float64. */
  mean: string;
  /** Upper triangle of the centred scatter matrix, row by row: `D (D + 1) / 2` float64. */
  scatter: string;
}

/** Options of {@link RunningMoments.save}. */
export interface SaveMomentsOptions {
  /** Extra metadata strings (e.g. the feature extractor's name); default none. */
  metadata?: Record<string, string>;
}

/** A statistics file read by {@link RunningMoments.load}: the statistic and the file's metadata. */
export interface LoadedMoments {
  moments: RunningMoments;
  metadata: Record<string, string>;
}

/**
 * Mean and covariance of `D`-dimensional rows, accumulated in float64 batch by batch (see the module
 * documentation for the algorithm). Follows the statistics protocol of `protocol.ts`.
 */
export class RunningMoments implements Stat<RunningMoments, MomentsBatch> {
  readonly dim: number;
  #count = 0;
  #mean: Float64Array;
  /** Centred scatter `Σ (x − x̄)(x − x̄)ᵀ`, `[D, D]`; only the upper triangle is kept up to date. */
  #scatter: Float64Array;

  /** @param dim Length `D` of each row. */
  constructor(dim: number) {
    if (!Number.isInteger(dim) || dim < 1) {
      throw new Error(`RunningMoments: dim must be a positive integer, got ${dim}`);
    }
    this.dim = dim;
    this.#mean = new Float64Array(dim);
    this.#scatter = new Float64Array(dim * dim);
  }

  /** Number of rows added. */
  get count(): number {
    return this.#count;
  }

  /**
   * Add rows: a tensor `[N, D]` (read, not disposed) or a typed array of `N·D` values, row after row. The
   * statistic keeps no reference to the batch.
   */
  add(batch: MomentsBatch): void {
    const d = this.dim;
    let data: Float32Array | Float64Array;
    if (batch instanceof tf.Tensor) {
      if (batch.rank !== 2 || batch.shape[1] !== d) {
        throw new Error(`RunningMoments.add: Expected [N,${d}], got ${formatShape(batch.shape)}`);
      }
      const raw = batch.dataSync();
      data = raw instanceof Float32Array ? raw : Float32Array.from(raw as ArrayLike<number>);
    } else {
      if (batch.length % d !== 0) {
        throw new Error(
          `RunningMoments.add: Expected a multiple of ${d} values ([N,${d}]), got ${batch.length}`,
        );
      }
      data = batch;
    }
    const rows = data.length / d;
    for (let r0 = 0; r0 < rows; r0 += BLOCK_ROWS) this.#addBlock(data, r0, Math.min(rows, r0 + BLOCK_ROWS));
  }

  /** Fold rows `r0 … r1−1` of `data` in: the block's exact mean and scatter, then the pairwise update. */
  #addBlock(data: Float32Array | Float64Array, r0: number, r1: number): void {
    const d = this.dim;
    const nb = r1 - r0;
    const mean = new Float64Array(d);
    for (let r = r0; r < r1; r++) {
      const o = r * d;
      for (let j = 0; j < d; j++) mean[j] += data[o + j];
    }
    for (let j = 0; j < d; j++) {
      mean[j] /= nb;
      if (!Number.isFinite(mean[j])) {
        throw new Error(`RunningMoments.add: non-finite value in feature ${j} of rows ${r0}…${r1 - 1}`);
      }
    }
    // The centred block, transposed: feature j's values across the block are contiguous.
    const xt: Matrix = { rows: d, cols: nb, data: new Float64Array(d * nb) }; // [D, nb]
    for (let r = 0; r < nb; r++) {
      const o = (r0 + r) * d;
      for (let j = 0; j < d; j++) xt.data[j * nb + r] = data[o + j] - mean[j];
    }
    this.#combine(nb, mean, (into) => multiplyABt(xt, xt, { into, upper: true }));
  }

  /**
   * The pairwise update with a part of `nb` rows, mean `meanB`, whose scatter `addScatter` adds (upper triangle)
   * to the given matrix.
   */
  #combine(nb: number, meanB: Float64Array, addScatter: (into: Matrix) => void): void {
    const d = this.dim;
    const na = this.#count;
    const n = na + nb;
    const scatter: Matrix = { rows: d, cols: d, data: this.#scatter };
    addScatter(scatter);
    if (na > 0) {
      const delta = new Float64Array(d);
      for (let j = 0; j < d; j++) delta[j] = meanB[j] - this.#mean[j];
      const w = (na * nb) / n;
      const s = this.#scatter;
      for (let i = 0; i < d; i++) {
        const di = delta[i] * w;
        const row = i * d;
        for (let j = i; j < d; j++) s[row + j] += di * delta[j];
      }
      for (let j = 0; j < d; j++) this.#mean[j] += (delta[j] * nb) / n;
    } else {
      this.#mean.set(meanB);
    }
    this.#count = n;
  }

  /** Fold `other` (same `dim`) into this statistic; `other` is unchanged. */
  merge(other: RunningMoments): void {
    if (other.dim !== this.dim) throw new Error(`RunningMoments.merge: dim ${other.dim} ≠ ${this.dim}`);
    if (other.#count === 0) return;
    const theirs = other.#scatter;
    this.#combine(other.#count, other.#mean, (into) => {
      const s = into.data, d = this.dim;
      for (let i = 0; i < d; i++) {
        for (let j = i; j < d; j++) s[i * d + j] += theirs[i * d + j];
      }
    });
  }

  /** The mean `[D]` (a copy); zeros before the first row. */
  mean(): Float64Array {
    return Float64Array.from(this.#mean);
  }

  /**
   * The covariance `[D, D]` row-major (a new array): the scatter over `count − ddof`.
   *
   * @param options `ddof`: 1 (default, unbiased, `numpy.cov`) or 0 (maximum likelihood).
   * @throws Error if `count ≤ ddof`.
   */
  covariance(options: { ddof?: 0 | 1 } = {}): Float64Array {
    const ddof = options.ddof ?? 1;
    if (this.#count <= ddof) {
      throw new Error(`RunningMoments.covariance: needs more than ${ddof} row(s), has ${this.#count}`);
    }
    const d = this.dim;
    const out = Float64Array.from(this.#scatter);
    mirrorUpper({ rows: d, cols: d, data: out });
    const f = 1 / (this.#count - ddof);
    for (let i = 0; i < out.length; i++) out[i] *= f;
    return out;
  }

  /** A JSON-safe snapshot; {@link RunningMoments.fromJSON} restores it exactly (float64 bytes in base64). */
  toJSON(): RunningMomentsJSON {
    const d = this.dim;
    const upper = new Float64Array((d * (d + 1)) / 2);
    let at = 0;
    for (let i = 0; i < d; i++) {
      upper.set(this.#scatter.subarray(i * d + i, i * d + d), at);
      at += d - i;
    }
    return {
      kind: KIND,
      version: VERSION,
      dim: d,
      count: this.#count,
      mean: encodeFloat64(this.#mean),
      scatter: encodeFloat64(upper),
    };
  }

  /** Rebuild a statistic from {@link RunningMoments.toJSON}'s output (checks kind, version and sizes). */
  static fromJSON(json: unknown): RunningMoments {
    const j = checkStatJSON(json, KIND, VERSION, "RunningMoments.fromJSON") as RunningMomentsJSON;
    const out = new RunningMoments(j.dim);
    const d = j.dim;
    const mean = decodeFloat64(j.mean, "RunningMoments.fromJSON: mean");
    const upper = decodeFloat64(j.scatter, "RunningMoments.fromJSON: scatter");
    if (mean.length !== d || upper.length !== (d * (d + 1)) / 2) {
      throw new Error(
        `RunningMoments.fromJSON: Expected ${d} mean and ${(d * (d + 1)) / 2} scatter values, got ` +
          `${mean.length} and ${upper.length}`,
      );
    }
    if (!Number.isSafeInteger(j.count) || j.count < 0) {
      throw new Error(`RunningMoments.fromJSON: bad count ${j.count}`);
    }
    out.#count = j.count;
    out.#mean.set(mean);
    let at = 0;
    for (let i = 0; i < d; i++) {
      out.#scatter.set(upper.subarray(at, at + d - i), i * d + i);
      at += d - i;
    }
    return out;
  }

  /**
   * Write `mu` `[D]` and `sigma` `[D, D]` (unbiased covariance) as float64 safetensors, the count in the
   * metadata (`ganatomy.count`), so the file is both a pytorch-fid-style statistics file and a statistic that
   * {@link RunningMoments.load} can keep merging.
   */
  async save(path: string, options: SaveMomentsOptions = {}): Promise<void> {
    const d = this.dim;
    const tensors: Record<string, HostTensor> = {
      mu: { dtype: "F64", shape: [d], data: this.mean() },
      sigma: { dtype: "F64", shape: [d, d], data: this.covariance() },
    };
    await writeSafetensors(path, tensors, {
      metadata: { ...options.metadata, [KIND_KEY]: KIND, [COUNT_KEY]: String(this.#count) },
    });
  }

  /**
   * Read a statistics file written by {@link RunningMoments.save} (or any safetensors file with float `mu` `[D]`,
   * `sigma` `[D, D]` and `ganatomy.count` metadata). The scatter is rebuilt as `sigma · (count − 1)`.
   */
  static async load(path: string): Promise<RunningMoments> {
    return (await RunningMoments.loadWithMetadata(path)).moments;
  }

  /** {@link RunningMoments.load}, also returning the file's metadata (e.g. the feature extractor's name). */
  static async loadWithMetadata(path: string): Promise<LoadedMoments> {
    const file = await readSafetensors(path);
    const mu = file.tensors.get("mu");
    const sigma = file.tensors.get("sigma");
    if (!mu || !sigma) {
      throw new Error(
        `${path}: not a statistics file: needs tensors "mu" and "sigma" ` +
          `(found: ${[...file.tensors.keys()].join(", ") || "none"})`,
      );
    }
    const d = mu.shape[0];
    if (mu.shape.length !== 1 || sigma.shape.length !== 2 || sigma.shape[0] !== d || sigma.shape[1] !== d) {
      throw new Error(`${path}: Expected mu [D] and sigma [D,D], got [${mu.shape}] and [${sigma.shape}]`);
    }
    const count = Number(file.metadata[COUNT_KEY]);
    if (!Number.isSafeInteger(count) || count < 2) {
      throw new Error(
        `${path}: metadata "${COUNT_KEY}" must give the number of rows (≥ 2), got ` +
          `${JSON.stringify(file.metadata[COUNT_KEY])}`,
      );
    }
    if (
      !(mu.data instanceof Float64Array || mu.data instanceof Float32Array) ||
      !(sigma.data instanceof Float64Array || sigma.data instanceof Float32Array)
    ) {
      throw new Error(`${path}: mu and sigma must be float, got ${mu.dtype} and ${sigma.dtype}`);
    }
    const out = new RunningMoments(d);
    out.#count = count;
    out.#mean.set(mu.data);
    for (let i = 0; i < d * d; i++) out.#scatter[i] = sigma.data[i] * (count - 1);
    return { moments: out, metadata: file.metadata };
  }
}

function encodeFloat64(values: Float64Array): string {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(8 * i, values[i], true);
  return Buffer.from(bytes).toString("base64");
}

function decodeFloat64(text: string, what: string): Float64Array {
  const bytes = Buffer.from(text, "base64");
  if (bytes.length % 8 !== 0) throw new Error(`${what}: base64 float64 data of ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return Float64Array.from({ length: bytes.length / 8 }, (_, i) => view.getFloat64(8 * i, true));
}
