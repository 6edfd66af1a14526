/**
 * Test helpers for lib/tensor (not re-exported by `mod.ts`): a tensor-leak check, a tolerance check and
 * the reference data shared by the cpu and wasm tests.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Run `fn` and assert that it leaves as many live tensors as it found: `fn` must dispose its inputs and
 * every returned tensor, so any leak comes from the code under test.
 */
export async function assertNoLeak(fn: () => void | Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  const after = tf.memory().numTensors;
  if (after !== before) {
    throw new Error(`Leaked ${after - before} tensor(s): ${before} before, ${after} after`);
  }
}

/**
 * Assert `|actual[i] - expected[i]| ≤ tol` for every `i` (and equal lengths); returns the max error.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  label = "values",
): number {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: Expected ${expected.length} values, got ${actual.length}`);
  }
  let maxErr = 0;
  let worst = -1;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= maxErr)) {
      maxErr = err;
      worst = i;
    }
  }
  if (!(maxErr <= tol)) {
    throw new Error(
      `${label}: max |error| ${maxErr} > ${tol} at index ${worst} (got ${actual[worst]}, expected ${
        expected[worst]
      })`,
    );
  }
  return maxErr;
}

/** One case of tests/fixtures/upsample.json, arrays decoded (flat NHWC; see make_upsample_fixture.py). */
export interface UpsampleCase {
  name: string;
  alignCorners: boolean;
  inShape: [number, number, number, number];
  size: [number, number];
  input: Float32Array;
  output: Float32Array;
  /** `dy` of the gradient check (small cases only). */
  weight?: Float32Array;
  /** torch's `d sum(output * weight) / d input`. */
  grad?: Float32Array;
}

/** Decode base64 of little-endian float32 bytes. */
export function decodeFloat32(base64: string): Float32Array {
  const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(4 * i, true));
}

/** The PyTorch reference cases, shared by the cpu and wasm tests. */
export async function loadUpsampleFixture(): Promise<UpsampleCase[]> {
  const url = new URL("../../tests/fixtures/upsample.json", import.meta.url);
  type Arrays = "input" | "output" | "weight" | "grad";
  type Stored = Omit<UpsampleCase, Arrays> & {
    input: string;
    output: string;
    weight?: string;
    grad?: string;
  };
  const doc: { cases: Stored[] } = JSON.parse(await Deno.readTextFile(url));
  return doc.cases.map((c) => ({
    name: c.name,
    alignCorners: c.alignCorners,
    inShape: c.inShape,
    size: c.size,
    input: decodeFloat32(c.input),
    output: decodeFloat32(c.output),
    weight: c.weight === undefined ? undefined : decodeFloat32(c.weight),
    grad: c.grad === undefined ? undefined : decodeFloat32(c.grad),
  }));
}

/** [2, 3, 4, 5] values ((37 i) mod 101) / 7 - 5: shuffled, with ties across channels. */
export function quantileInput(): tf.Tensor4D {
  return tf.tensor4d(Array.from({ length: 120 }, (_, i) => ((i * 37) % 101) / 7 - 5), [2, 3, 4, 5]);
}

/** The levels of {@link NUMPY_QUANTILES}. */
export const QUANTILE_LEVELS = [0, 0.1, 0.33, 0.5, 0.99, 1];

/** `numpy.quantile(x.reshape(-1, 5), QUANTILE_LEVELS, axis=0)` (numpy 1.24, default linear method). */
export const NUMPY_QUANTILES = [
  [-5.0, -5.0, -4.5714287757873535, -4.0, -3.5714285373687744],
  [-2.957142877578735, -4.6714287281036375, -4.242857027053833, -3.6714284896850584, -3.2428571939468385],
  [-0.3442857235670089, -0.9628571003675446, -0.5342857015132889, -0.10571426868438571, 0.4657142686843887],
  [2.0714285373687744, 1.214285671710968, 1.714285671710968, 2.1428571343421936, 2.6428571343421936],
  [9.252857131958008, 7.39571409702301, 7.824285798072815, 8.395714464187622, 8.824285430908203],
  [9.285714149475098, 7.4285712242126465, 7.857142925262451, 8.428571701049805, 8.857142448425293],
];
