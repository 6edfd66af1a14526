/**
 * Plotly figures as plain JSON specs (`{data, layout}`): plotly.js cannot run in Deno, so figures are built
 * here, shown in notebooks through the `application/vnd.plotly.v1+json` MIME type, saved as standalone
 * offline HTML (plotly.js inlined from `node_modules`), or rendered to PNG by `plotly_png.ts`.
 *
 * Titles use the `{text}` form that plotly.js 3 requires.
 *
 * @example
 * ```ts
 * import { lineFigure, saveFigureHtml } from "./plotly.ts";
 * const fig = lineFigure([{ name: "loss", y: [1, 0.6, 0.4, 0.35] }], { title: "Training", xTitle: "step" });
 * await saveFigureHtml("/tmp/ganatomy_example/loss.html", fig);
 * ```
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../io/atomic.ts";
import { type ColormapName, plotlyColorscale } from "./colormap.ts";
import { displayBundle } from "./jupyter.ts";

/** One plotly trace (`scatter`, `bar`, `heatmap`, ...); any plotly.js trace attribute may be added. */
export interface PlotlyTrace {
  type: string;
  name?: string;
  [attribute: string]: unknown;
}

/** A plotly layout; any plotly.js layout attribute may be added. */
export interface PlotlyLayout {
  title?: { text: string };
  width?: number;
  height?: number;
  [attribute: string]: unknown;
}

/** A complete figure, the JSON that `Plotly.newPlot(div, data, layout, config)` takes. */
export interface PlotlyFigure {
  data: PlotlyTrace[];
  layout: PlotlyLayout;
  /** plotly.js config (e.g. `{displaylogo: false}`); optional. */
  config?: Record<string, unknown>;
}

/** Options shared by the figure builders. */
export interface FigureOptions {
  /** Figure title; default none. */
  title?: string;
  /** X axis title; default none. */
  xTitle?: string;
  /** Y axis title; default none. */
  yTitle?: string;
  /** Size in pixels; default: plotly's (responsive in HTML, 700x450 in PNG unless given at render time). */
  width?: number;
  height?: number;
}

function baseLayout(opts: FigureOptions): PlotlyLayout {
  const layout: PlotlyLayout = { margin: { l: 60, r: 20, t: opts.title ? 50 : 20, b: 50 } };
  if (opts.title) layout.title = { text: opts.title };
  layout.xaxis = opts.xTitle ? { title: { text: opts.xTitle } } : {};
  layout.yaxis = opts.yTitle ? { title: { text: opts.yTitle } } : {};
  if (opts.width !== undefined) layout.width = opts.width;
  if (opts.height !== undefined) layout.height = opts.height;
  return layout;
}

/** One line of a {@link lineFigure}. */
export interface LineSeries {
  y: number[];
  /** X values; default 0, 1, 2, ... */
  x?: number[];
  name?: string;
  /** Default `"lines"`. */
  mode?: "lines" | "markers" | "lines+markers";
}

/** Options of {@link lineFigure}. */
export interface LineFigureOptions extends FigureOptions {
  /** Logarithmic y axis; default false. */
  logY?: boolean;
}

/**
 * A line chart of one or more series (a plain number array is one unnamed series).
 *
 * @example
 * ```ts
 * import { lineFigure } from "./plotly.ts";
 * const fig = lineFigure([{ name: "G", y: [2, 1.5, 1.2] }, { name: "D", y: [0.7, 0.6, 0.65] }], { xTitle: "epoch" });
 * ```
 */
export function lineFigure(series: LineSeries[] | number[], opts: LineFigureOptions = {}): PlotlyFigure {
  const list: LineSeries[] = series.length > 0 && typeof series[0] === "number"
    ? [{ y: series as number[] }]
    : series as LineSeries[];
  const data = list.map((s, i): PlotlyTrace => {
    if (s.x !== undefined && s.x.length !== s.y.length) {
      throw new Error(
        `lineFigure: series ${s.name ?? i} has ${s.x.length} x values and ${s.y.length} y values`,
      );
    }
    const trace: PlotlyTrace = { type: "scatter", mode: s.mode ?? "lines", y: s.y };
    if (s.x !== undefined) trace.x = s.x;
    if (s.name !== undefined) trace.name = s.name;
    return trace;
  });
  const layout = baseLayout(opts);
  if (opts.logY) (layout.yaxis as Record<string, unknown>).type = "log";
  return { data, layout };
}

/** One group of bars of a {@link barFigure}. */
export interface BarSeries {
  name: string;
  values: number[];
}

/** Options of {@link barFigure}. */
export interface BarFigureOptions extends FigureOptions {
  /** Horizontal bars (labels on the y axis, top to bottom); default false. */
  horizontal?: boolean;
}

/**
 * A bar chart: one bar per label, or grouped bars for several series.
 *
 * @example
 * ```ts
 * import { barFigure } from "./plotly.ts";
 * const fig = barFigure(["tree", "grass", "sky"], [12, 7, 3], { title: "Units per concept" });
 * ```
 */
export function barFigure(
  labels: string[],
  values: number[] | BarSeries[],
  opts: BarFigureOptions = {},
): PlotlyFigure {
  const list: BarSeries[] = values.length > 0 && typeof values[0] === "number"
    ? [{ name: "", values: values as number[] }]
    : values as BarSeries[];
  const data = list.map((s): PlotlyTrace => {
    if (s.values.length !== labels.length) {
      throw new Error(
        `barFigure: ${labels.length} labels but ${s.values.length} values${s.name ? ` in ${s.name}` : ""}`,
      );
    }
    const trace: PlotlyTrace = opts.horizontal
      ? { type: "bar", orientation: "h", x: s.values, y: labels }
      : { type: "bar", x: labels, y: s.values };
    if (s.name) trace.name = s.name;
    return trace;
  });
  const layout = baseLayout(opts);
  if (list.length > 1) layout.barmode = "group";
  if (opts.horizontal) (layout.yaxis as Record<string, unknown>).autorange = "reversed";
  return { data, layout };
}

/** Options of {@link heatmapFigure}. */
export interface HeatmapFigureOptions extends FigureOptions {
  /** Column labels or coordinates; default 0, 1, 2, ... */
  x?: (string | number)[];
  /** Row labels or coordinates; default 0, 1, 2, ... */
  y?: (string | number)[];
  /** Colour map (same tables as the image overlays); default `"viridis"`. */
  colormap?: ColormapName;
  /** Colour range; default the data range. */
  zmin?: number;
  zmax?: number;
  /** Draw row 0 at the top, like an image; default true. */
  rowsTopDown?: boolean;
}

/**
 * A heat-map of a matrix `z[row][col]` (e.g. IoU of units x concepts).
 *
 * @example
 * ```ts
 * import { heatmapFigure } from "./plotly.ts";
 * const fig = heatmapFigure([[0.1, 0.3], [0.05, 0.2]], { x: ["tree", "sky"], y: ["u1", "u2"] });
 * ```
 */
export function heatmapFigure(z: number[][], opts: HeatmapFigureOptions = {}): PlotlyFigure {
  const cols = z[0]?.length ?? 0;
  const ragged = z.findIndex((row) => row.length !== cols);
  if (ragged >= 0) {
    throw new Error(`heatmapFigure: row 0 has ${cols} values, row ${ragged} has ${z[ragged].length}`);
  }
  if (opts.x !== undefined && opts.x.length !== cols) {
    throw new Error(`heatmapFigure: ${opts.x.length} x labels for ${cols} columns`);
  }
  if (opts.y !== undefined && opts.y.length !== z.length) {
    throw new Error(`heatmapFigure: ${opts.y.length} y labels for ${z.length} rows`);
  }
  const trace: PlotlyTrace = { type: "heatmap", z, colorscale: plotlyColorscale(opts.colormap ?? "viridis") };
  if (opts.x !== undefined) trace.x = opts.x;
  if (opts.y !== undefined) trace.y = opts.y;
  if (opts.zmin !== undefined) trace.zmin = opts.zmin;
  if (opts.zmax !== undefined) trace.zmax = opts.zmax;
  const layout = baseLayout(opts);
  if (opts.rowsTopDown ?? true) (layout.yaxis as Record<string, unknown>).autorange = "reversed";
  return { data: [trace], layout };
}

/** The plotly MIME type understood by JupyterLab (with its plotly renderer) and VS Code notebooks. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** A one-line description of a figure, the `text/plain` fallback of notebooks. */
export function describeFigure(fig: PlotlyFigure): string {
  const types = fig.data.map((t) => t.type).join(", ");
  const title = fig.layout.title?.text ? ` "${fig.layout.title.text}"` : "";
  return `<plotly figure${title}: ${fig.data.length} trace(s) (${types})>`;
}

/**
 * Show a figure inline in the Deno Jupyter kernel (`application/vnd.plotly.v1+json` plus a text fallback).
 * Throws outside Jupyter; use {@link saveFigureHtml} or `saveFigurePng` in scripts.
 */
export async function showFigure(fig: PlotlyFigure): Promise<void> {
  await displayBundle({ [PLOTLY_MIME]: fig, "text/plain": describeFigure(fig) }, "showFigure");
}

let plotlyScript: string | undefined;

/** Path of `plotly.js-dist/plotly.js` in the project's node_modules. */
export function plotlyJsPath(): string {
  const candidates: string[] = [];
  try {
    const resolved = import.meta.resolve("plotly.js-dist");
    if (resolved.startsWith("file:")) candidates.push(fileURLToPath(resolved));
  } catch {
    // Not resolvable as a file (no node_modules folder): fall back to searching upwards.
  }
  for (let dir = dirname(fileURLToPath(import.meta.url));; dir = dirname(dir)) {
    candidates.push(join(dir, "node_modules", "plotly.js-dist", "plotly.js"));
    if (dirname(dir) === dir) break;
  }
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // try the next candidate
    }
  }
  throw new Error(
    `plotly.js-dist not found in node_modules (looked at ${
      candidates[0]
    }); run \`deno install\` in the project`,
  );
}

/** The plotly.js source, read once per process (about 11 MB). */
function plotlySource(): string {
  // A literal "</script" would end the inline script early; "<\/script" means the same in JavaScript.
  plotlyScript ??= Deno.readTextFileSync(plotlyJsPath()).replace(/<\/script/gi, "<\\/script");
  return plotlyScript;
}

/** JSON safe to embed in an HTML script element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(
    /\u2029/g,
    "\\u2029",
  );
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * A standalone HTML page drawing `fig` with plotly.js inlined: it works offline and loads nothing from the
 * network. When the plot is drawn, `document.body.dataset.plotted` becomes `"true"` (or `plotError` is
 * set).
 */
export function figureHtml(fig: PlotlyFigure): string {
  const config = { displaylogo: false, responsive: true, ...fig.config };
  const title = escapeHtml(fig.layout.title?.text ?? "ganatomy figure");
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>${title}</title>
<style>body { margin: 0; background: #fff; }</style>
<script>${plotlySource()}</script>
</head>
<body>
<div id="figure"></div>
<script>
const figure = ${scriptJson({ data: fig.data, layout: fig.layout })};
Plotly.newPlot("figure", figure.data, figure.layout, ${scriptJson(config)})
  .then(() => { document.body.dataset.plotted = "true"; })
  .catch((err) => { document.body.dataset.plotError = String(err); });
</script>
</body>
</html>
`;
}

/**
 * Save `fig` as a standalone offline HTML page (see {@link figureHtml}), atomically.
 *
 * @example
 * ```ts
 * import { barFigure, saveFigureHtml } from "./plotly.ts";
 * await saveFigureHtml("/tmp/ganatomy_example/bars.html", barFigure(["a", "b"], [1, 2]));
 * ```
 */
export async function saveFigureHtml(path: string, fig: PlotlyFigure): Promise<void> {
  await writeFileAtomic(path, figureHtml(fig));
}
