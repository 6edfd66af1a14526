/**
 * Running top-k per unit: the `k` highest per-image scores of every unit and the images they came from (GAN
 * Dissection's top images of a unit: the images where it fires the most, scored by its maximum activation).
 *
 * Exact: a bounded min-heap per unit. Ties are broken by the smaller image index, so the result does not depend
 * on the order of batches or merges.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { RunningTopK } from "./topk.ts";
 * await initBackend({ backend: "cpu" });
 *
 * const top = new RunningTopK(2, { k: 2 }); // 2 units, keep 2 images each
 * const scores = tf.tensor2d([[1, 5], [3, 4], [2, 6]]); // [N=3 images, C=2 units]
 * top.add(scores, [10, 11, 12]); // image indices (e.g. latent seeds); default 0, 1, 2, …
 * scores.dispose();
 * const { values, indices } = top.result();
 * assert.deepEqual([values[0], indices[0]], [[3, 2], [11, 12]]); // unit 0: its two highest, highest first
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { formatShape } from "../tensor/shape.ts";
import { checkStatJSON, type Stat, type StatJSON } from "./protocol.ts";

const KIND = "RunningTopK";
const VERSION = 1;

/** Options of {@link RunningTopK}. */
export interface RunningTopKOptions {
  /** How many images to keep per unit; default 100. */
  k?: number;
}

/** The top entries of every unit, best first: `values[u][r]` is the r-th highest score of unit u. */
export interface TopKResult {
  values: number[][];
  indices: number[][];
}

/** The serialised form of a {@link RunningTopK}. */
export interface RunningTopKJSON extends StatJSON {
  units: number;
  k: number;
  count: number;
  /** Per unit, best first. */
  values: number[][];
  indices: number[][];
}

/** Per-image scores `[N, C]` as float32, from `[N, C]`, or `[N, H, W, C]` reduced by the maximum over H, W. */
function scoresOf(batch: tf.Tensor | Float32Array, units: number): { data: Float32Array; rows: number } {
  if (batch instanceof tf.Tensor) {
    if ((batch.rank !== 2 && batch.rank !== 4) || batch.shape[batch.rank - 1] !== units) {
      throw new Error(`scores: Expected [N,${units}] or [N,H,W,${units}], got ${formatShape(batch.shape)}`);
    }
    const reduced = batch.rank === 4 ? tf.tidy(() => tf.max(batch, [1, 2])) : batch;
    try {
      const raw = reduced.dataSync();
      return {
        data: raw instanceof Float32Array ? raw.slice() : Float32Array.from(raw as ArrayLike<number>),
        rows: reduced.shape[0],
      };
    } finally {
      if (reduced !== batch) reduced.dispose();
    }
  }
  if (batch.length % units !== 0) {
    throw new Error(`scores: Expected a multiple of ${units} values ([N,${units}]), got ${batch.length}`);
  }
  return { data: batch, rows: batch.length / units };
}

/**
 * The `k` best (score, image index) pairs of each of `units` units. Implements the statistic protocol of
 * `protocol.ts`.
 */
export class RunningTopK implements Stat<RunningTopK, tf.Tensor | Float32Array> {
  readonly units: number;
  readonly k: number;
  #count = 0;
  /** Min-heaps (worst entry at the root), `#sizes[u]` live entries each. */
  #values: Float64Array[];
  #indices: Float64Array[];
  #sizes: Int32Array;

  /**
   * @param units Number of units `C`.
   * @param options `k` (default 100).
   */
  constructor(units: number, options: RunningTopKOptions = {}) {
    if (!Number.isInteger(units) || units < 1) {
      throw new Error(`units: Expected a positive integer, got ${units}`);
    }
    const k = options.k ?? 100;
    if (!Number.isInteger(k) || k < 1) throw new Error(`k: Expected a positive integer, got ${k}`);
    this.units = units;
    this.k = k;
    this.#values = Array.from({ length: units }, () => new Float64Array(k));
    this.#indices = Array.from({ length: units }, () => new Float64Array(k));
    this.#sizes = new Int32Array(units);
  }

  /** Number of images (rows) added. */
  get count(): number {
    return this.#count;
  }

  /** Whether entry (va, ia) ranks below (vb, ib): a lower score, or an equal score of a larger index. */
  static #worse(va: number, ia: number, vb: number, ib: number): boolean {
    return va < vb || (va === vb && ia > ib);
  }

  #siftDown(u: number, from: number): void {
    const v = this.#values[u];
    const ix = this.#indices[u];
    const n = this.#sizes[u];
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const c = r < n && RunningTopK.#worse(v[r], ix[r], v[l], ix[l]) ? r : l;
      if (!RunningTopK.#worse(v[c], ix[c], v[i], ix[i])) return;
      [v[c], v[i]] = [v[i], v[c]];
      [ix[c], ix[i]] = [ix[i], ix[c]];
      i = c;
    }
  }

  #offer(u: number, value: number, index: number): void {
    const v = this.#values[u];
    const ix = this.#indices[u];
    const n = this.#sizes[u];
    if (n < this.k) {
      let i = n;
      v[i] = value;
      ix[i] = index;
      this.#sizes[u] = n + 1;
      while (i > 0) { // sift up
        const p = (i - 1) >> 1;
        if (!RunningTopK.#worse(v[i], ix[i], v[p], ix[p])) break;
        [v[p], v[i]] = [v[i], v[p]];
        [ix[p], ix[i]] = [ix[i], ix[p]];
        i = p;
      }
    } else if (RunningTopK.#worse(v[0], ix[0], value, index)) {
      v[0] = value;
      ix[0] = index;
      this.#siftDown(u, 0);
    }
  }

  /**
   * Add per-image scores: `[N, C]`, or activations `[N, H, W, C]` scored by their maximum over positions, or a
   * `Float32Array` of `N·C` scores. `indices` name the N images (default: the running count, 0, 1, 2, …).
   * Throws on NaN scores.
   */
  add(scores: tf.Tensor | Float32Array, indices?: ArrayLike<number>): void {
    const { data, rows } = scoresOf(scores, this.units);
    if (indices !== undefined && indices.length !== rows) {
      throw new Error(`indices: Expected ${rows} image indices, got ${indices.length}`);
    }
    for (let i = 0; i < rows; i++) {
      const index = indices === undefined ? this.#count + i : indices[i];
      for (let u = 0; u < this.units; u++) {
        const value = data[i * this.units + u];
        if (value !== value) throw new Error(`RunningTopK.add: NaN score for unit ${u}`);
        this.#offer(u, value, index);
      }
    }
    this.#count += rows;
  }

  /** Fold `other` (same units and k) into this one; `other` is left unchanged. */
  merge(other: RunningTopK): void {
    if (other.units !== this.units || other.k !== this.k) {
      throw new Error(
        `RunningTopK.merge: Expected units ${this.units} and k ${this.k}, got units ${other.units} and k ${other.k}`,
      );
    }
    for (let u = 0; u < this.units; u++) {
      for (let i = 0; i < other.#sizes[u]; i++) this.#offer(u, other.#values[u][i], other.#indices[u][i]);
    }
    this.#count += other.#count;
  }

  /** The kept entries of every unit, best first (fewer than k while fewer images were added). */
  result(): TopKResult {
    const values: number[][] = [];
    const indices: number[][] = [];
    for (let u = 0; u < this.units; u++) {
      const order = Array.from({ length: this.#sizes[u] }, (_, i) => i);
      const v = this.#values[u];
      const ix = this.#indices[u];
      order.sort((a, b) => v[b] - v[a] || ix[a] - ix[b]);
      values.push(order.map((i) => v[i]));
      indices.push(order.map((i) => ix[i]));
    }
    return { values, indices };
  }

  /** A JSON-safe snapshot. */
  toJSON(): RunningTopKJSON {
    const { values, indices } = this.result();
    return {
      kind: KIND,
      version: VERSION,
      units: this.units,
      k: this.k,
      count: this.#count,
      values,
      indices,
    };
  }

  /** Rebuild from {@link RunningTopK.toJSON}'s output. */
  static fromJSON(json: unknown): RunningTopK {
    const j = checkStatJSON(json, KIND, VERSION, "RunningTopK.fromJSON") as RunningTopKJSON;
    const top = new RunningTopK(j.units, { k: j.k });
    if (j.values.length !== j.units || j.indices.length !== j.units) {
      throw new Error(`RunningTopK.fromJSON: Expected ${j.units} units, got ${j.values.length}`);
    }
    for (let u = 0; u < j.units; u++) {
      if (j.values[u].length !== j.indices[u].length || j.values[u].length > j.k) {
        throw new Error(`RunningTopK.fromJSON: unit ${u} has ${j.values[u].length} values`);
      }
      j.values[u].forEach((value, i) => top.#offer(u, value, j.indices[u][i]));
    }
    top.#count = j.count;
    return top;
  }
}
