/**
 * Training curves from a run's `metrics.jsonl`: series averaged down to a few hundred points, saved as plotly HTML
 * and (where Chromium is installed) PNG beside the run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { averagedSeries } from "./curves.ts";
 * const rows = Array.from({ length: 1000 }, (_, step) => ({ step, loss: 1 / (1 + step) }));
 * const { x, y } = averagedSeries(rows, "loss", 100); // x = steps done
 * // 100 points, each the mean of 10 rows
 * assert.deepEqual([x.length, y.length, x[0], x.at(-1)], [100, 100, 10, 1000]);
 * ```
 * @module
 */
import { join } from "node:path";
import type { PlotlyFigure } from "../viz/plotly.ts";
import { saveFigure } from "../viz/plotly_png.ts";
import type { StepMetrics } from "./loop.ts";

/**
 * The values of `key` averaged over consecutive windows so that at most `points` remain; `x` is the number of
 * steps done at the end of each window. Rows without `key` (e.g. lazy R1 steps) are skipped.
 */
export function averagedSeries(
  metrics: (StepMetrics & { step: number })[],
  key: string,
  points = 200,
): { x: number[]; y: number[] } {
  const rows = metrics.filter((m) => m[key] !== undefined);
  const k = Math.max(1, Math.floor(rows.length / points));
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i + k <= rows.length; i += k) {
    x.push(rows[i + k - 1].step + 1);
    y.push(rows.slice(i, i + k).reduce((s, m) => s + m[key], 0) / k);
  }
  return { x, y };
}

/**
 * Save `fig` as `<dir>/curves.html`, and `<dir>/curves.png` when `png` and Chromium is there (a failed PNG is
 * reported, not thrown).
 */
export async function saveCurves(
  dir: string,
  fig: PlotlyFigure,
  options: { png?: boolean } = {},
): Promise<void> {
  // A failed PNG is reported, not thrown: training must not stop for a figure.
  await saveFigure(join(dir, "curves"), fig, { png: options.png ?? true }).catch((e) =>
    console.error(`curves.png: ${(e as Error).message}`)
  );
}
