/**
 * Shape assertions with clear errors, for the checks every public tensor function starts with.
 *
 * Each assertion names the argument it checks, and states what was expected and what came:
 * `images: Expected [N,H,W,C], got [3,4]`. Symbolic dimensions (`"N"`, `"H"`...) accept any size but must
 * agree wherever the same symbol appears; the sizes they took are returned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertImageBatch } from "./shape.ts";
 *
 * // Tensors or bare shapes: x.shape is [2, 8, 8, 3].
 * const { n, h, w, c } = assertImageBatch([2, 8, 8, 3], "images", { channels: 3 });
 * assert.deepEqual([n, h, w, c], [2, 8, 8, 3]);
 * const message = "images: Expected [N,H,W,C], got [3,4]";
 * assert.throws(() => assertImageBatch([3, 4], "images"), { message });
 * ```
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/** A tensor or a bare shape: every assertion accepts either. */
export type Shaped = tf.Tensor | readonly number[];

/**
 * One dimension of an expected shape: a size, a symbol (any size, equal wherever the symbol repeats),
 * or `null` (any size, unnamed; shown as `?`).
 */
export type DimPattern = number | string | null;

function shapeOf(x: Shaped): readonly number[] {
  return Array.isArray(x) ? x as readonly number[] : (x as tf.Tensor).shape;
}

/** Format a shape as in the error messages: `[2,8,8,3]`. */
export function formatShape(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => d ?? "?").join(",")}]`;
}

function prefix(name: string | undefined): string {
  return name ? `${name}: ` : "";
}

/** Options of {@link assertShape}. */
export interface AssertShapeOptions {
  /** The argument's name, put first in the error message; default none. */
  name?: string;
}

/**
 * Assert that `x` has the shape `pattern` and return the sizes its symbols took.
 *
 * @param x A tensor or a shape.
 * @param pattern Expected dimensions: numbers must match, symbols (`"N"`) match any size consistently,
 *   `null` matches anything.
 * @returns The size of each symbol, e.g. `{ N: 2, H: 8 }`.
 * @throws Error `features: Expected [N,4,4,512], got [2,4,4,256]` on a mismatch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertShape } from "./shape.ts";
 * const { N } = assertShape([2, 4, 4, 512], ["N", 4, 4, 512], { name: "features" });
 * assert.equal(N, 2);
 * ```
 */
export function assertShape(
  x: Shaped,
  pattern: readonly DimPattern[],
  options: AssertShapeOptions = {},
): Record<string, number> {
  const shape = shapeOf(x);
  const fail = (): never => {
    throw new Error(`${prefix(options.name)}Expected ${formatShape(pattern)}, got ${formatShape(shape)}`);
  };
  if (shape.length !== pattern.length) fail();
  const sizes: Record<string, number> = {};
  pattern.forEach((p, i) => {
    if (typeof p === "number") {
      if (shape[i] !== p) fail();
    } else if (typeof p === "string") {
      if (p in sizes && sizes[p] !== shape[i]) fail();
      sizes[p] = shape[i];
    }
  });
  return sizes;
}

/** Options of {@link assertRank}. */
export interface AssertRankOptions {
  /** The argument's name, put first in the error message; default none. */
  name?: string;
}

/**
 * Assert that `x` has one of the given ranks.
 *
 * @param rank The rank, or the allowed ranks.
 * @returns The rank of `x`.
 * @throws Error `masks: Expected rank 3 or 4, got [2,8]`.
 */
export function assertRank(
  x: Shaped,
  rank: number | readonly number[],
  options: AssertRankOptions = {},
): number {
  const shape = shapeOf(x);
  const ranks = typeof rank === "number" ? [rank] : rank;
  if (!ranks.includes(shape.length)) {
    const expected = ranks.length === 1
      ? `${ranks[0]}`
      : `${ranks.slice(0, -1).join(", ")} or ${ranks[ranks.length - 1]}`;
    throw new Error(`${prefix(options.name)}Expected rank ${expected}, got ${formatShape(shape)}`);
  }
  return shape.length;
}

/** Options of {@link assertImageBatch}; each size is checked only when given. */
export interface AssertImageBatchOptions {
  /** Required batch size N. */
  batch?: number;
  /** Required height H. */
  height?: number;
  /** Required width W. */
  width?: number;
  /** Required channels C. */
  channels?: number;
}

/** Sizes of an NHWC batch, as returned by {@link assertImageBatch}. */
export interface ImageBatchSize {
  n: number;
  h: number;
  w: number;
  c: number;
}

/**
 * Assert that `x` is an NHWC batch `[N, H, W, C]` (optionally with given sizes) and return its sizes.
 *
 * @param name The argument's name for the error message.
 * @throws Error `images: Expected [N,H,W,C], got [3,4]`, or `images: Expected [N,H,W,3], got [2,8,8,1]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertImageBatch } from "./shape.ts";
 * const { h, w } = assertImageBatch([1, 16, 16, 3], "images", { channels: 3 });
 * assert.deepEqual([h, w], [16, 16]);
 * ```
 */
export function assertImageBatch(
  x: Shaped,
  name: string,
  options: AssertImageBatchOptions = {},
): ImageBatchSize {
  const { batch, height, width, channels } = options;
  const s = assertShape(x, [batch ?? "N", height ?? "H", width ?? "W", channels ?? "C"], { name });
  const shape = shapeOf(x);
  return { n: s.N ?? shape[0], h: s.H ?? shape[1], w: s.W ?? shape[2], c: s.C ?? shape[3] };
}

/** Options of {@link assertSameShape}. */
export interface AssertSameShapeOptions {
  /** Names of the two arguments for the error message; default `["a", "b"]`. */
  names?: readonly [string, string];
}

/**
 * Assert that two tensors (or shapes) have the same shape.
 *
 * @throws Error `Expected units and concepts to have the same shape, got [1,4,4,2] and [1,8,8,2]`.
 */
export function assertSameShape(a: Shaped, b: Shaped, options: AssertSameShapeOptions = {}): void {
  const [na, nb] = options.names ?? ["a", "b"];
  const sa = shapeOf(a);
  const sb = shapeOf(b);
  if (sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) {
    throw new Error(
      `Expected ${na} and ${nb} to have the same shape, got ${formatShape(sa)} and ${formatShape(sb)}`,
    );
  }
}

/** Options of {@link assertDtype}. */
export interface AssertDtypeOptions {
  /** The argument's name, put first in the error message; default none. */
  name?: string;
}

/**
 * Assert that a tensor has one of the given dtypes.
 *
 * @throws Error `labels: Expected dtype int32, got float32`.
 */
export function assertDtype(
  x: tf.Tensor,
  dtype: tf.DataType | readonly tf.DataType[],
  options: AssertDtypeOptions = {},
): void {
  const dtypes = typeof dtype === "string" ? [dtype] : dtype;
  if (!dtypes.includes(x.dtype)) {
    throw new Error(`${prefix(options.name)}Expected dtype ${dtypes.join(" or ")}, got ${x.dtype}`);
  }
}
