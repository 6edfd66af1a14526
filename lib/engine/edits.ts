/**
 * Edits are data: what to do to a stage's output, the same for every engine.
 *
 * For a stage output `x` of shape `[N, H, W, C]` an {@link Edit} computes
 *
 *     x' = (x · (1 − a·m) + v · a·m) · scale
 *
 * where `a`, `v` and `scale` are per unit (length `C`, or one number for all units) and `m` is an optional
 * spatial mask (`[H, W]` for every image or `[N, H, W]` per image, values in [0, 1]; absent means 1). Ablation
 * is `a = 1, v = 0` on some units; insertion is `a = 1, v = value`; per-unit rescaling is `scale`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ablate } from "./edits.ts";
 * const edit = ablate([3, 7], 16); // zero units 3 and 7 of a 16-unit layer
 * assert.deepEqual(edit.a, Float32Array.from({ length: 16 }, (_, u) => (u === 3 || u === 7 ? 1 : 0)));
 * assert.deepEqual(edit.v, new Float32Array(16)); // a = 1, v = 0 on units 3 and 7
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** A per-unit quantity: one number for every unit, one value per unit, or a `[C]` tensor (e.g. a variable). */
export type PerUnit = number | ArrayLike<number> | tf.Tensor1D;

/** A spatial mask at the stage's resolution: `[H, W]` (all images) or `[N, H, W]` (per image). */
export type SpatialMask = tf.Tensor2D | tf.Tensor3D;

/** An edit of one stage's output; see the module documentation for the formula. */
export interface Edit {
  /** Replacement strength per unit, in [0, 1]; default 0 (no replacement). */
  a?: PerUnit;
  /** Replacement value per unit; default 0. */
  v?: PerUnit;
  /** Where the replacement applies; default everywhere. */
  mask?: SpatialMask;
  /** Multiplicative factor per unit, applied after the replacement; default 1. */
  scale?: PerUnit;
}

/** Edits by stage name. */
export type Edits = Record<string, Edit>;

function unitVector(units: number[], channels: number, value: number | number[], fill = 0): Float32Array {
  const out = new Float32Array(channels).fill(fill);
  units.forEach((u, i) => {
    if (!Number.isInteger(u) || u < 0 || u >= channels) {
      throw new Error(`unit ${u} is out of range for a layer of ${channels} units`);
    }
    out[u] = Array.isArray(value) ? value[i] : value;
  });
  return out;
}

/** Zero `units` of a `channels`-unit stage (everywhere, or where `mask` is 1). */
export function ablate(units: number[], channels: number, mask?: SpatialMask): Edit {
  return { a: unitVector(units, channels, 1), v: new Float32Array(channels), mask };
}

/** Set `units` to `values` (one number or one per unit) everywhere, or where `mask` is 1. */
export function insert(
  units: number[],
  channels: number,
  values: number | number[],
  mask?: SpatialMask,
): Edit {
  if (Array.isArray(values) && values.length !== units.length) {
    throw new Error(`insert: ${units.length} units but ${values.length} values`);
  }
  return { a: unitVector(units, channels, 1), v: unitVector(units, channels, values), mask };
}

/** Multiply `units` by `factors` (one number or one per unit); other units keep scale 1. */
export function rescale(units: number[], channels: number, factors: number | number[]): Edit {
  if (Array.isArray(factors) && factors.length !== units.length) {
    throw new Error(`rescale: ${units.length} units but ${factors.length} factors`);
  }
  return { scale: unitVector(units, channels, factors, 1) };
}

function perUnitTensor(value: PerUnit, channels: number, what: string, stage: string): tf.Tensor {
  if (typeof value === "number") return tf.scalar(value);
  if (value instanceof tf.Tensor) {
    if (value.rank !== 1 || value.shape[0] !== channels) {
      throw new Error(`edit of ${stage}: ${what} must have shape [${channels}], got [${value.shape}]`);
    }
    return value;
  }
  if (value.length !== channels) {
    throw new Error(`edit of ${stage}: ${what} has ${value.length} values for ${channels} units`);
  }
  return tf.tensor1d(Array.from(value));
}

function maskTensor(mask: SpatialMask, x: tf.Tensor4D, stage: string): tf.Tensor {
  const [n, h, w] = x.shape;
  const ok = mask.rank === 2
    ? mask.shape[0] === h && mask.shape[1] === w
    : mask.shape[0] === n && mask.shape[1] === h && mask.shape[2] === w;
  if (!ok) {
    throw new Error(`edit of ${stage}: mask must be [${h},${w}] or [${n},${h},${w}], got [${mask.shape}]`);
  }
  return tf.reshape(mask, mask.rank === 2 ? [1, h, w, 1] : [n, h, w, 1]); // [N|1, H, W, 1]
}

/** Apply `edit` to a stage output `x` `[N, H, W, C]` with tfjs ops (differentiable in `a`, `v`, `scale`). */
export function applyEditTf(x: tf.Tensor4D, edit: Edit, stage = "stage"): tf.Tensor4D {
  return tf.tidy(() => {
    const channels = x.shape[3];
    let y: tf.Tensor = x;
    if (edit.a !== undefined) {
      let am = perUnitTensor(edit.a, channels, "a", stage);
      if (edit.mask) am = tf.mul(am, maskTensor(edit.mask, x, stage));
      const v = perUnitTensor(edit.v ?? 0, channels, "v", stage);
      y = tf.add(tf.mul(y, tf.sub(1, am)), tf.mul(v, am));
    } else if (edit.v !== undefined || edit.mask !== undefined) {
      throw new Error(`edit of ${stage}: 'v' and 'mask' need 'a' (the replacement strength)`);
    }
    if (edit.scale !== undefined) y = tf.mul(y, perUnitTensor(edit.scale, channels, "scale", stage));
    return y as tf.Tensor4D;
  });
}
