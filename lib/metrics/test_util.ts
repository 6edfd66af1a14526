/**
 * Test helpers for lib/metrics (not re-exported by `mod.ts`): the reference data written by
 * `tests/fixtures/make_metric_fixtures.py` and relative-error checks (shared with lib/stats, whose
 * `test_util.ts` holds them), and the numpy / scipy reference values.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { HostTensor } from "../io/dtype.ts";
import { fixturePath } from "../stats/test_util.ts";

export {
  fixturePath,
  FIXTURES,
  loadFeatureFixtures,
  maxRelativeError,
  relativeError,
} from "../stats/test_util.ts";

/** `expected.json`: the numpy / scipy reference values (see make_metric_fixtures.py for the layout). */
// deno-lint-ignore no-explicit-any
export async function loadExpected(): Promise<any> {
  return JSON.parse(await Deno.readTextFile(fixturePath("expected.json")));
}

/** A fixture tensor `[N, D]` as a tfjs tensor; the caller disposes it. */
export function toTensor2d(t: HostTensor | undefined, name = "fixture"): tf.Tensor2D {
  if (!t || t.shape.length !== 2) throw new Error(`${name}: Expected a [N,D] fixture tensor`);
  return tf.tensor2d(Float32Array.from(t.data as Float32Array), [t.shape[0], t.shape[1]]);
}
