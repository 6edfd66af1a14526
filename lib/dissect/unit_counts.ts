/**
 * The counts behind unit–concept IoU (`unit_iou.ts`): for U units and K concepts, over every pixel of a data
 * set, how many pixels each unit mask covers, each concept mask covers, and both cover.
 *
 * {@link UnitConceptCounts} is a streaming statistic (the protocol of `lib/stats/protocol.ts`): batches of
 * binary masks are added one matrix product at a time, counts from different batches or processes merge, and
 * it round-trips through JSON, so a dissection's counting pass can be cached and resumed (`stats/tally.ts`).
 * Unions and IoU follow from the three counts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { UnitConceptCounts } from "./unit_counts.ts";
 * await initBackend({ backend: "cpu" });
 *
 * // One 2x2 image; unit 0 covers the top row, unit 1 the right column; concept 0 is the top row.
 * const unitMasks = tf.tensor4d([1, 0, 1, 1, 0, 0, 0, 1], [1, 2, 2, 2]); // [N, H, W, U]
 * const conceptMasks = tf.tensor4d([1, 0, 1, 0, 0, 1, 0, 1], [1, 2, 2, 2]); // [N, H, W, K]
 * const counts = new UnitConceptCounts(2, 2);
 * counts.add({ unitMasks, conceptMasks });
 * assert.deepEqual(counts.iou(), Float64Array.of(1, 0, 1 / 3, 1 / 3)); // [u0·k0, u0·k1, u1·k0, u1·k1]
 * tf.dispose([unitMasks, conceptMasks]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkStatJSON, type Stat, type StatJSON } from "../stats/protocol.ts";
import { assertImageBatch } from "../tensor/shape.ts";

/** Pixels per matrix product: float32 sums of at most 2^22 ones are exact. */
const CHUNK_PIXELS = 2 ** 22;

/** A batch of {@link UnitConceptCounts}: unit masks and concept masks of the same images and size. */
export interface UnitConceptBatch {
  /** Binary unit masks `[N, H, W, U]`. */
  unitMasks: tf.Tensor;
  /** Binary concept masks `[N, H, W, K]`. */
  conceptMasks: tf.Tensor;
}

/** The serialised form of {@link UnitConceptCounts}. */
export interface UnitConceptCountsJSON extends StatJSON {
  units: number;
  concepts: number;
  pixels: number;
  unitArea: number[];
  conceptArea: number[];
  intersection: number[];
}

/**
 * Streaming unit × concept pixel counts: `intersection[u·K + k]`, `unitArea[u]`, `conceptArea[k]` over all
 * pixels added; unions and IoU follow. Counts are exact (float32 sums of at most 2^22 ones per matrix product,
 * accumulated in float64). Implements the statistic protocol.
 */
export class UnitConceptCounts implements Stat<UnitConceptCounts, UnitConceptBatch> {
  readonly units: number;
  readonly concepts: number;
  #pixels = 0;
  readonly #unitArea: Float64Array;
  readonly #conceptArea: Float64Array;
  readonly #intersection: Float64Array;

  constructor(units: number, concepts: number) {
    for (const [name, v] of [["units", units], ["concepts", concepts]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: Expected a positive integer, got ${v}`);
    }
    this.units = units;
    this.concepts = concepts;
    this.#unitArea = new Float64Array(units);
    this.#conceptArea = new Float64Array(concepts);
    this.#intersection = new Float64Array(units * concepts);
  }

  /** Counts from arrays (e.g. computed elsewhere); lengths U, K and U·K. */
  static fromCounts(
    counts: { unitArea: ArrayLike<number>; conceptArea: ArrayLike<number>; intersection: ArrayLike<number> },
    pixels: number,
  ): UnitConceptCounts {
    const out = new UnitConceptCounts(counts.unitArea.length, counts.conceptArea.length);
    if (counts.intersection.length !== out.units * out.concepts) {
      throw new Error(
        `intersection: Expected ${out.units * out.concepts} counts, got ${counts.intersection.length}`,
      );
    }
    out.#unitArea.set(counts.unitArea);
    out.#conceptArea.set(counts.conceptArea);
    out.#intersection.set(counts.intersection);
    out.#pixels = pixels;
    return out;
  }

  /** Pixels counted. */
  get count(): number {
    return this.#pixels;
  }

  /** Count a batch: `intersection += unitsᵀ · concepts` over its pixels, chunked to stay exact. */
  add(batch: UnitConceptBatch): void {
    const { n, h, w, c: u } = assertImageBatch(batch.unitMasks, "unitMasks");
    if (u !== this.units) throw new Error(`unitMasks: Expected ${this.units} units, got ${u}`);
    assertImageBatch(batch.conceptMasks, "conceptMasks", {
      batch: n,
      height: h,
      width: w,
      channels: this.concepts,
    });
    const perImage = h * w;
    const chunk = Math.max(1, Math.floor(CHUNK_PIXELS / perImage));
    for (let start = 0; start < n; start += chunk) {
      const size = Math.min(chunk, n - start);
      const [inter, unitArea, conceptArea] = tf.tidy(() => {
        const um = tf.reshape(tf.slice(batch.unitMasks, [start, 0, 0, 0], [size, -1, -1, -1]), [
          size * perImage,
          u,
        ]); // [P, U]
        const cm = tf.reshape(
          tf.slice(batch.conceptMasks, [start, 0, 0, 0], [size, -1, -1, -1]),
          [size * perImage, this.concepts],
        ); // [P, K]
        const umf = tf.cast(tf.notEqual(um, 0), "float32");
        const cmf = tf.cast(tf.notEqual(cm, 0), "float32");
        return [tf.matMul(umf, cmf, true, false), tf.sum(umf, 0), tf.sum(cmf, 0)]; // [U, K], [U], [K]
      });
      const accumulate = (into: Float64Array, t: tf.Tensor) => {
        const values = t.dataSync();
        for (let i = 0; i < into.length; i++) into[i] += values[i];
      };
      accumulate(this.#intersection, inter);
      accumulate(this.#unitArea, unitArea);
      accumulate(this.#conceptArea, conceptArea);
      tf.dispose([inter, unitArea, conceptArea]);
    }
    this.#pixels += n * perImage;
  }

  /** Fold `other` (same units and concepts) into this one. */
  merge(other: UnitConceptCounts): void {
    if (other.units !== this.units || other.concepts !== this.concepts) {
      throw new Error(
        `UnitConceptCounts.merge: Expected ${this.units} units × ${this.concepts} concepts, got ${other.units} × ${other.concepts}`,
      );
    }
    this.#pixels += other.#pixels;
    other.#unitArea.forEach((v, i) => this.#unitArea[i] += v);
    other.#conceptArea.forEach((v, i) => this.#conceptArea[i] += v);
    other.#intersection.forEach((v, i) => this.#intersection[i] += v);
  }

  /** `[U·K]` intersections (copy). */
  intersection(): Float64Array {
    return this.#intersection.slice();
  }

  /** `[U]` unit mask areas (copy). */
  unitArea(): Float64Array {
    return this.#unitArea.slice();
  }

  /** `[K]` concept areas (copy). */
  conceptArea(): Float64Array {
    return this.#conceptArea.slice();
  }

  /** `[U·K]` unions, `|unit| + |concept| − |both|`. */
  union(): Float64Array {
    const k = this.concepts;
    return this.#intersection.map((v, i) => this.#unitArea[Math.floor(i / k)] + this.#conceptArea[i % k] - v);
  }

  /** `[U·K]` IoU, 0 where the union is empty. */
  iou(): Float64Array {
    const union = this.union();
    return this.#intersection.map((v, i) => (union[i] > 0 ? v / union[i] : 0));
  }

  /** A JSON-safe snapshot. */
  toJSON(): UnitConceptCountsJSON {
    return {
      kind: "UnitConceptCounts",
      version: 1,
      units: this.units,
      concepts: this.concepts,
      pixels: this.#pixels,
      unitArea: Array.from(this.#unitArea),
      conceptArea: Array.from(this.#conceptArea),
      intersection: Array.from(this.#intersection),
    };
  }

  /** Rebuild from {@link UnitConceptCounts.toJSON}'s output. */
  static fromJSON(json: unknown): UnitConceptCounts {
    const j = checkStatJSON(
      json,
      "UnitConceptCounts",
      1,
      "UnitConceptCounts.fromJSON",
    ) as UnitConceptCountsJSON;
    if (j.unitArea.length !== j.units || j.conceptArea.length !== j.concepts) {
      throw new Error("UnitConceptCounts.fromJSON: areas do not match units and concepts");
    }
    return UnitConceptCounts.fromCounts(j, j.pixels);
  }
}
