/**
 * Test helpers for lib/stats and lib/metrics (not re-exported by `mod.ts`): the float feature sets and numpy
 * statistics written by `tests/fixtures/make_metric_fixtures.py`, and relative-error checks. The moments are
 * checked against them here; `lib/metrics/test_util.ts` re-exports these for the metrics.
 * @module
 */
import type { HostTensor } from "../io/dtype.ts";
import { readSafetensors } from "../io/safetensors.ts";

/** The fixture folder, `tests/fixtures/metrics/`. */
export const FIXTURES = new URL("../../tests/fixtures/metrics/", import.meta.url);

/** The path of a file in the fixture folder. */
export function fixturePath(name: string): string {
  return new URL(name, FIXTURES).pathname;
}

/** The float feature sets and numpy statistics of `features.safetensors`, by name. */
export async function loadFeatureFixtures(): Promise<Map<string, HostTensor>> {
  return (await readSafetensors(fixturePath("features.safetensors"))).tensors;
}

/** `|actual − expected| / max(|expected|, floor)`. */
export function relativeError(actual: number, expected: number, floor = 1e-300): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), floor);
}

/** The largest {@link relativeError} over two arrays (relative to the largest expected magnitude). */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`Expected ${expected.length} values, got ${actual.length}`);
  }
  let scale = 0, err = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
  }
  return err / (scale || 1);
}
