/**
 * Tally: compute a statistic over many samples in batches, with progress, a cache and checkpoints, so a pass
 * over 10k samples is computed once and survives an interruption (after davidbau/dissect's `tally`).
 *
 * `compute(batch, start)` returns the statistic of one batch of samples (any {@link Statistic}: see
 * `protocol.ts`); tally merges the batches' statistics in order. With `cache`, the result is stored as JSON
 * under `cache.dir`, named by `cache.name` and a SHA-256 hash of `cache.key` and the samples (the arguments
 * that determine the result; typed arrays inside the key, e.g. model weights, are hashed by content). A later
 * call with the same key reads the file instead of computing. Every `checkpointEvery` batches the partial
 * statistic is written to the same file (atomically, marked incomplete), and a call that finds a partial file
 * resumes after the samples it covers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RunningTopK } from "./topk.ts";
 * import { tally } from "./tally.ts";
 *
 * const seeds = Array.from({ length: 10 }, (_, i) => i);
 * const top = await tally((batch: number[]) => {
 *   const stat = new RunningTopK(1, { k: 3 });
 *   stat.add(Float32Array.from(batch, (s) => (s * 7) % 10), batch); // score of sample s: (7s) mod 10
 *   return stat;
 * }, seeds, { batch: 4, progress: false, cache: { dir: "/tmp/ganatomy_example/tally", name: "demo", key: { v: 1 }, fromJSON: RunningTopK.fromJSON } });
 * assert.deepEqual(top.result().indices[0], [7, 4, 1]); // the samples of scores 9, 8 and 7
 * ```
 * @module
 */
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.ts";
import { hashKey } from "../io/hash.ts";
import { progress as startProgress, type ProgressOptions } from "../util/progress.ts";
import type { StatJSON } from "./protocol.ts";

/** What tally needs of a statistic: merge and serialisation (every statistic of `protocol.ts` has them). */
export interface Statistic<Self> {
  merge(other: Self): void;
  toJSON(): StatJSON;
  readonly count: number;
}

/** Where and under which key {@link tally} caches its result. */
export interface TallyCache<S> {
  /** Folder of the cache files (created when missing). */
  dir: string;
  /** File name prefix, e.g. `"layer4-quantiles"`. */
  name: string;
  /** Everything besides the samples that determines the result (JSON values and typed arrays). */
  key: unknown;
  /** Rebuilds the statistic from its JSON (the class's static `fromJSON`). */
  fromJSON: (json: unknown) => S;
  /** Write a checkpoint of the partial statistic every this many batches; default 10 (0: never). */
  checkpointEvery?: number;
}

/** Options of {@link tally}. */
export interface TallyOptions<S> {
  /** Samples per batch; default 32. */
  batch?: number;
  /** Cache and checkpoint the result (see {@link TallyCache}); default none. */
  cache?: TallyCache<S>;
  /** Report progress (true, or options of `util/progress.ts` such as a `label`); default true. */
  progress?: boolean | ProgressOptions;
}

/** The content of a cache file. */
interface CacheFile {
  hash: string;
  complete: boolean;
  /** Samples covered by `stat` (a prefix of the sample list). */
  processed: number;
  total: number;
  stat: StatJSON;
}

async function readCache(path: string, hash: string): Promise<CacheFile | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const file = JSON.parse(text) as CacheFile;
  if (file.hash !== hash) throw new Error(`tally cache ${path}: hash ${file.hash}, expected ${hash}`);
  return file;
}

/**
 * Run `compute` over `samples` in batches and merge the per-batch statistics into one (see the module
 * documentation for the cache and checkpoints).
 *
 * @param compute The statistic of one batch: `batch` is a slice of `samples`, `start` its offset.
 * @param samples The samples (latent seeds, file names, …); with a cache they must be JSON values.
 * @param options `batch` (default 32), `cache` (default none), `progress` (default true).
 * @returns The statistic over all samples (the first batch's statistic, with the others merged into it).
 */
export async function tally<S extends Statistic<S>, T>(
  compute: (batch: T[], start: number) => S | Promise<S>,
  samples: readonly T[],
  options: TallyOptions<S> = {},
): Promise<S> {
  const batchSize = options.batch ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batch: Expected a positive integer, got ${batchSize}`);
  }
  if (samples.length === 0) throw new Error("tally: Expected at least one sample, got none");
  const cache = options.cache;
  const hash = cache ? hashKey({ key: cache.key, samples }) : "";
  const path = cache ? join(cache.dir, `${cache.name}-${hash.slice(0, 16)}.json`) : "";
  let total: S | undefined;
  let start = 0;
  if (cache) {
    const file = await readCache(path, hash);
    if (file) {
      total = cache.fromJSON(file.stat);
      if (file.complete) return total;
      start = file.processed;
    }
  }
  const save = async (complete: boolean, processed: number) => {
    const file: CacheFile = { hash, complete, processed, total: samples.length, stat: total!.toJSON() };
    await writeJsonAtomic(path, file);
  };
  const report = options.progress ?? true;
  const bar = report === false
    ? undefined
    : startProgress(samples.length, { label: cache?.name ?? "tally", ...(report === true ? {} : report) });
  bar?.tick(start);
  const every = cache?.checkpointEvery ?? 10;
  let batches = 0;
  try {
    for (let offset = start; offset < samples.length; offset += batchSize) {
      const batch = samples.slice(offset, offset + batchSize);
      const stat = await compute(batch, offset);
      if (total === undefined) total = stat;
      else total.merge(stat);
      bar?.tick(batch.length);
      batches++;
      const processed = offset + batch.length;
      if (cache && every > 0 && batches % every === 0 && processed < samples.length) {
        await save(false, processed);
      }
    }
  } finally {
    bar?.done();
  }
  if (cache) await save(true, samples.length);
  return total!;
}
