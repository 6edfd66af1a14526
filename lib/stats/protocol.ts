/**
 * The protocol every streaming statistic follows (after davidbau/dissect's `runningstats`).
 *
 * A statistic is filled batch by batch with `add`, read out at any time by its own methods (`mean()`,
 * `quantiles(q)`, `topk()`, …), serialised with `toJSON` and rebuilt with the class's static `fromJSON`, and
 * combined with `merge`, so shards computed in different processes (or sessions) add up to the statistic of the
 * whole data set. `add` takes tensors or typed arrays and never keeps a reference to its input; tensors a
 * statistic returns belong to the caller. Host-side state is float64 where sums accumulate.
 *
 * @example
 * ```ts ignore
 * const a = new RunningMoments(); a.add(batch1);
 * const b = new RunningMoments(); b.add(batch2);
 * a.merge(b); // == one statistic over both batches
 * const copy = RunningMoments.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
 * ```
 * @module
 */

/** The serialised form of a statistic: its kind, a format version, and plain JSON data. */
export interface StatJSON {
  kind: string;
  version: number;
  [field: string]: unknown;
}

/** What every streaming statistic implements (plus a static `fromJSON(json): Self`). */
export interface Stat<Self, Batch> {
  /** Add a batch of observations; the statistic keeps no reference to `batch`. */
  add(batch: Batch): void;
  /** Fold `other` (same kind and shape) into this one; `other` is left unchanged. */
  merge(other: Self): void;
  /** Number of observations added (for per-unit statistics: rows, e.g. samples × positions). */
  readonly count: number;
  /** A JSON-safe snapshot that `fromJSON` turns back into an equal statistic. */
  toJSON(): StatJSON;
}

/** Check a serialised statistic's kind and version; throws naming what was expected. */
export function checkStatJSON(json: unknown, kind: string, version: number, source = "statistic"): StatJSON {
  const j = json as StatJSON;
  if (typeof j !== "object" || j === null || j.kind !== kind) {
    throw new Error(`${source}: expected a serialised ${kind}, got ${JSON.stringify((j as StatJSON)?.kind)}`);
  }
  if (j.version !== version) {
    throw new Error(`${source}: ${kind} format version ${j.version}, expected ${version}`);
  }
  return j;
}
