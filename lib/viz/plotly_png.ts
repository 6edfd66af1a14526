/**
 * Static PNG export of plotly figures: the offline HTML of {@link figureHtml} is rendered in headless Debian
 * Chromium driven by npm `playwright-core`, and the plot element is screenshotted. All network requests are
 * blocked, so rendering works offline.
 *
 * Needs `/usr/bin/chromium` (`apt-get install chromium`) or another Chromium given by `executablePath` or
 * the `GANATOMY_CHROMIUM` environment variable. `playwright-core` is imported on first use.
 *
 * @example
 * ```ts
 * // requires: chromium
 * import { lineFigure } from "./plotly.ts";
 * import { saveFigurePng } from "./plotly_png.ts";
 * const fig = lineFigure([1, 0.5, 0.3], { title: "loss" });
 * await saveFigurePng("/tmp/ganatomy_example/loss.png", fig, { width: 640, height: 400 });
 * ```
 * @module
 */
import { writeFileAtomic } from "../io/atomic.ts";
import { figureHtml, type PlotlyFigure, saveFigureHtml } from "./plotly.ts";

/** Where Debian installs Chromium. */
export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/** Flags for a quiet, offline, sandbox-less headless Chromium (the sandbox needs privileges containers lack). */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Options of {@link renderFigurePng} and {@link saveFigurePng}. */
export interface FigurePngOptions {
  /** Plot size in CSS pixels; default the figure's layout size, else 800x500. */
  width?: number;
  height?: number;
  /** Device pixel ratio (2 doubles the PNG resolution); default 1. */
  scale?: number;
  /** Chromium binary; default `GANATOMY_CHROMIUM` or `/usr/bin/chromium`. */
  executablePath?: string;
  /** Give up after this many milliseconds; default 60000. */
  timeoutMs?: number;
}

/** The Chromium binary to use; throws with the install hint when it is missing. */
export function chromiumPath(explicit?: string): string {
  const path = explicit ?? Deno.env.get("GANATOMY_CHROMIUM") ?? DEFAULT_CHROMIUM;
  try {
    if (Deno.statSync(path).isFile) return path;
  } catch {
    // reported below
  }
  throw new Error(`Chromium not found at ${path}; install Debian's chromium: apt-get install chromium`);
}

/** Whether a usable Chromium is installed (for tests and optional features). */
export function hasChromium(explicit?: string): boolean {
  try {
    chromiumPath(explicit);
    return true;
  } catch {
    return false;
  }
}

/**
 * Render `fig` to PNG bytes in headless Chromium, waiting until plotly has drawn it.
 * Interactive extras (mode bar, hover) are turned off.
 */
export async function renderFigurePng(fig: PlotlyFigure, opts: FigurePngOptions = {}): Promise<Uint8Array> {
  const executablePath = chromiumPath(opts.executablePath);
  const width = opts.width ?? fig.layout.width ?? 800;
  const height = opts.height ?? fig.layout.height ?? 500;
  const timeout = opts.timeoutMs ?? 60_000;
  const staticFig: PlotlyFigure = {
    data: fig.data,
    layout: { ...fig.layout, width, height },
    config: { ...fig.config, staticPlot: true, responsive: false },
  };
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout });
  try {
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: opts.scale ?? 1 });
    const pageErrors: string[] = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.route("**/*", (route) => route.abort());
    await page.setContent(figureHtml(staticFig), { waitUntil: "load", timeout });
    // Page code runs in the browser; strings keep DOM types out of this Deno module.
    await page.waitForFunction(
      "document.body.dataset.plotted === 'true' || 'plotError' in document.body.dataset",
      undefined,
      {
        timeout,
      },
    );
    const plotError = (await page.locator("body").getAttribute("data-plot-error")) ?? undefined;
    if (plotError !== undefined || pageErrors.length > 0) {
      throw new Error(`plotly could not draw the figure: ${plotError ?? pageErrors.join("; ")}`);
    }
    const png = await page.locator("#figure").screenshot({ type: "png", timeout });
    return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
  } finally {
    await browser.close();
  }
}

/**
 * Render `fig` to a PNG file (see {@link renderFigurePng}), written atomically.
 *
 * @example
 * ```ts
 * // requires: chromium
 * import { heatmapFigure } from "./plotly.ts";
 * import { saveFigurePng } from "./plotly_png.ts";
 * await saveFigurePng("/tmp/ganatomy_example/iou.png", heatmapFigure([[0.1, 0.4], [0.3, 0.2]]), { scale: 2 });
 * ```
 */
export async function saveFigurePng(
  path: string,
  fig: PlotlyFigure,
  opts: FigurePngOptions = {},
): Promise<void> {
  await writeFileAtomic(path, await renderFigurePng(fig, opts));
}

/** Options of {@link saveFigure}. */
export interface SaveFigureOptions extends FigurePngOptions {
  /** Also write the PNG (when Chromium is there); default true. */
  png?: boolean;
}

/**
 * Save a figure the one way every command does: `<base>.html` always, and `<base>.png` when asked and Chromium
 * is installed. Returns whether the PNG was written.
 *
 * @example
 * ```ts
 * import { strict as assert } from "node:assert";
 * import { lineFigure } from "./plotly.ts";
 * import { saveFigure } from "./plotly_png.ts";
 * const wrote = await saveFigure("/tmp/ganatomy_example/curve", lineFigure([1, 2]), { png: false });
 * assert.equal(wrote, false);
 * ```
 */
export async function saveFigure(
  base: string,
  fig: PlotlyFigure,
  opts: SaveFigureOptions = {},
): Promise<boolean> {
  await saveFigureHtml(`${base}.html`, fig);
  if (!(opts.png ?? true) || !hasChromium(opts.executablePath)) return false;
  await saveFigurePng(`${base}.png`, fig, opts);
  return true;
}
