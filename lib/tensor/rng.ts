/**
 * Seeded random numbers that do not depend on the tfjs backend: latent vectors `z` and data sampling.
 *
 * The generator is xoshiro128** (Blackman & Vigna; 128-bit state, period 2^128 - 1) in 32-bit integer
 * arithmetic, its state set from the seed by the MurmurHash3 finalizer (a bijection, so distinct seeds
 * give distinct states). Uniform floats take 53 random bits; normals use the Box–Muller transform in
 * float64. Latents are then rounded once to float32 and uploaded with `tf.tensor2d`, so the same seed gives
 * bit-identical `z` on every backend and in every run. (`Math.log`, `Math.cos` and `Math.sin` are
 * deterministic in V8, hence in Deno; ECMAScript itself leaves their last bit to the engine.)
 *
 * Streams are per seed: `latents([0, …, 15], d)` row 5 equals `latents(5, d)`. `tf.randomNormal` is not
 * used because its results differ between backends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { latents, Rng } from "./rng.ts";
 * import { initBackend } from "../backend/backend.ts";
 *
 * await initBackend({ backend: "cpu" });
 *
 * const z = latents([0, 1, 2, 3], 512); // the same on cpu, wasm and tensorflow
 * assert.deepEqual([z.shape, z.dtype], [[4, 512], "float32"]);
 * z.dispose();
 * const rng = new Rng(42);
 * const order = rng.shuffle([0, 1, 2, 3, 4]); // a seeded permutation, in place
 * const noise = rng.normal(); // standard normal float64
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

const TWO_POW_32 = 2 ** 32;

/** MurmurHash3's 32-bit finalizer: a bijection on uint32 with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`seed: Expected a non-negative safe integer, got ${seed}`);
  }
}

/**
 * A seeded pseudo-random generator (xoshiro128**) for latents and data sampling. Not cryptographic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "./rng.ts";
 * const rng = new Rng(7);
 * rng.uniform(); // in [0, 1)
 * rng.int(10); // in 0..9
 * rng.int(5, 8); // in 5..7
 * assert.deepEqual(rng.permutation(4), [1, 2, 0, 3]); // the same in every run
 * ```
 */
export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  /** The second Box–Muller value, returned by the next {@link Rng.normal} call. */
  #spare: number | undefined;

  /** @param seed A non-negative safe integer (0 ≤ seed < 2^53). */
  constructor(seed: number) {
    checkSeed(seed);
    const lo = seed % TWO_POW_32;
    const hi = Math.floor(seed / TWO_POW_32);
    // fmix32 is a bijection, so (s0, s1) alone already differ between seeds; the state is never all zero
    // because s0 = 0 needs lo = 0x9e3779b9, which makes s2 = fmix32(0x3c6ef372) ≠ 0.
    this.#s0 = fmix32((lo ^ 0x9e3779b9) >>> 0);
    this.#s1 = fmix32((hi ^ 0x7f4a7c15) >>> 0);
    this.#s2 = fmix32((lo + 0x9e3779b9) >>> 0);
    this.#s3 = fmix32((hi + 0x6a09e667) >>> 0);
    for (let i = 0; i < 8; i++) this.nextUint32(); // let nearby seeds' states decorrelate
  }

  /** The next raw 32-bit output, an integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** A uniform float64 in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992; // (hi·2^26 + lo) / 2^53
  }

  /**
   * A standard normal float64 (Box–Muller: two uniforms give two normals; the second is kept for the next
   * call).
   */
  normal(): number {
    if (this.#spare !== undefined) {
      const z = this.#spare;
      this.#spare = undefined;
      return z;
    }
    const u1 = 1 - this.uniform(); // (0, 1]: log is finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.#spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** `count` standard normals as a `Float64Array`. */
  normals(count: number): Float64Array {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = this.normal();
    return out;
  }

  /**
   * A uniform integer, without modulo bias: in `[0, a)` when called as `int(a)`, in `[a, b)` as `int(a, b)`.
   * The range may hold at most 2^32 integers.
   */
  int(a: number, b?: number): number {
    const [lo, hi] = b === undefined ? [0, a] : [a, b];
    const n = hi - lo;
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || n < 1 || n > TWO_POW_32) {
      throw new Error(`int: Expected integers lo < hi with hi - lo ≤ 2^32, got [${lo}, ${hi})`);
    }
    // Reject the top TWO_POW_32 % n outputs so every residue is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return lo + (x % n);
  }

  /** Shuffle `array` in place (Fisher–Yates) and return it. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [array[i], array[j]] = [array[j], array[i]];
    }
    return array;
  }

  /** A random permutation of `0 … n-1`. */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }
}

/**
 * Standard normal latent vectors, one row per seed, each row the first `dim` normals of `new Rng(seed)`.
 * Bit-identical across backends and runs; a seed's row does not depend on the other seeds in the batch.
 *
 * @param seeds One seed (→ `[1, dim]`) or several (→ `[N, dim]`, row `i` from `seeds[i]`).
 * @param dim Latent size.
 * @returns float32 `[N, dim]`; the caller disposes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { latents } from "./rng.ts";
 * import { initBackend } from "../backend/backend.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const z = latents(Array.from({ length: 16 }, (_, i) => i), 128);
 * assert.deepEqual(z.shape, [16, 128]);
 * z.dispose();
 * ```
 */
export function latents(seeds: number | readonly number[], dim: number): tf.Tensor2D {
  const list = typeof seeds === "number" ? [seeds] : seeds;
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`dim: Expected a positive integer, got ${dim}`);
  if (list.length === 0) throw new Error("seeds: Expected at least one seed, got []");
  list.forEach(checkSeed);
  const values = new Float32Array(list.length * dim); // [N, dim]
  list.forEach((seed, i) => values.set(new Rng(seed).normals(dim), i * dim));
  return tf.tensor2d(values, [list.length, dim]);
}
