/**
 * Sweeps of sequential correction: one parameter at a time — the units per layer `n`, the scale `lambda` or the
 * stopping layer `stop` — over its values, the other two at the table's values (`base`), each point measured.
 *
 * {@link runSweeps} is the driver: it takes the measure of a point as a function, so that a caller can cache
 * each correction and each evaluation (as `experiments/correct.ts` does); {@link sequentialMeasure} is the plain
 * measure: Algorithm 1 fitted on some seeds, then the metrics of other seeds' corrected generations.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runSweeps } from "./sweep.ts";
 * const sweeps = await runSweeps(
 *   { n: 0.2, lambda: 0.9, stop: 6 },
 *   { n: [0.1, 0.2], lambda: [0.5], stop: [2, 4] },
 *   ({ n, lambda, stop }) => Promise.resolve({ fd: n + lambda + stop }),
 * );
 * assert.deepEqual(sweeps.stop, [{ value: 2, fd: 3.1 }, { value: 4, fd: 5.1 }]);
 * ```
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { GeneratorRunner } from "../engine/select.ts";
import type { FeatureExtractor } from "../models/features.ts";
import type { ArtifactMaskFn } from "./defective_score.ts";
import { evaluateGenerations, type GenerationMetrics, type RealReference } from "./evaluate.ts";
import { type Formula, type ScaleRule, sequentialCorrection } from "./sequential.ts";

/** The parameters of one sequential correction: units per layer, scale, and the stopping layer (a count). */
export interface CorrectionParams {
  n: number;
  lambda: number;
  stop: number;
}

/** The swept parameters, in the order they are swept. */
export const SWEPT_PARAMS = ["n", "lambda", "stop"] as const;

/** A swept parameter. */
export type SweptParam = typeof SWEPT_PARAMS[number];

/** The values each parameter is swept over (an empty list: that sweep has no point). */
export type SweepGrid = Record<SweptParam, readonly number[]>;

/** One point of a sweep: the parameter's value and what was measured there. */
export type SweepPoint = { value: number } & Record<string, number>;

/** Every sweep's points, by parameter (`sweeps.json`'s `sweeps`). */
export type Sweeps = Record<SweptParam, SweepPoint[]>;

/** One point to measure: which sweep, the swept value, and the full parameters. */
export interface SweepPlanPoint {
  param: SweptParam;
  value: number;
  params: CorrectionParams;
}

/**
 * The points of the sweeps, in order (every `n`, then every `lambda`, then every `stop`), each with the other
 * parameters at `base`. Stopping layers above `maxStop` (the generator's hidden layers) are left out.
 */
export function sweepPlan(
  base: CorrectionParams,
  grid: SweepGrid,
  options: { maxStop?: number } = {},
): SweepPlanPoint[] {
  const maxStop = options.maxStop ?? Infinity;
  return SWEPT_PARAMS.flatMap((param) =>
    grid[param]
      .filter((value) => param !== "stop" || value <= maxStop)
      .map((value) => ({ param, value, params: { ...base, [param]: value } }))
  );
}

/**
 * Measure every point of {@link sweepPlan}, one after another, with `measure` (e.g. the FD of the corrected
 * generations); returns the points by sweep, each `{ value, ...measured }`.
 */
export async function runSweeps(
  base: CorrectionParams,
  grid: SweepGrid,
  measure: (params: CorrectionParams) => Promise<Record<string, number>>,
  options: { maxStop?: number } = {},
): Promise<Sweeps> {
  const sweeps: Sweeps = { n: [], lambda: [], stop: [] };
  for (const { param, value, params } of sweepPlan(base, grid, options)) {
    sweeps[param].push({ value, ...(await measure(params)) });
  }
  return sweeps;
}

/** The numbers of a sweep point from an evaluation: `fd`, `realism` and the `extras` named (default all). */
export function sweepMetrics(
  metrics: GenerationMetrics,
  extras: readonly string[] = Object.keys(metrics.extras),
): Record<string, number> {
  return {
    fd: metrics.fd,
    realism: metrics.realism,
    ...Object.fromEntries(extras.map((name) => [name, metrics.extras[name]])),
  };
}

/** Options of {@link sequentialMeasure}. */
export interface SequentialMeasureOptions {
  /** Artifact seeds the correction is fitted on. */
  fit: readonly number[];
  /** Their artifact masks. */
  masks: ArtifactMaskFn;
  /** Seeds whose activations set the unit thresholds; default `fit`. */
  thresholdSeeds?: readonly number[];
  /** `P(a_u > T_u) = tau`; default 0.005. */
  tau?: number;
  /** Rescaling rule; default `"lambda(1-ds)"`. */
  rule?: ScaleRule;
  /** Formula ranking the units; default 1. */
  formula?: Formula;
  /** Seeds whose corrected generations are measured. */
  seeds: readonly number[];
  extractor: FeatureExtractor;
  real: RealReference;
  /** Per-image scores averaged into the metrics' `extras`. */
  extras?: Record<string, (images: tf.Tensor4D) => Promise<Float32Array>>;
  /** Images per generator run; default 16 (correction) and 32 (evaluation). */
  batch?: number;
  /** Report progress on stderr; default true. */
  progress?: boolean;
}

/**
 * The plain measure of a sweep point (nothing cached): sequential correction with the point's parameters, fitted
 * on `fit`, then the metrics of the corrected generations of `seeds` ({@link evaluateGenerations}).
 */
export function sequentialMeasure(
  gen: GeneratorRunner,
  options: SequentialMeasureOptions,
): (params: CorrectionParams) => Promise<GenerationMetrics> {
  return async ({ n, lambda, stop }) => {
    const { edits } = await sequentialCorrection(gen, {
      seeds: options.fit,
      masks: options.masks,
      thresholdSeeds: options.thresholdSeeds,
      tau: options.tau,
      rule: options.rule,
      formula: options.formula,
      n,
      lambda,
      stop,
      batch: options.batch,
      progress: options.progress,
    });
    return await evaluateGenerations(gen, options.seeds, {
      extractor: options.extractor,
      real: options.real,
      edits,
      extras: options.extras,
      batch: options.batch,
      progress: options.progress,
    });
  };
}
