/**
 * Progress reporting for long loops (training, dissection passes).
 *
 * On a terminal it draws one live line, redrawn at most 10 times a second:
 * `train  45% |█████████▌          | 450/1000 [00:12<00:15, 37.5 it/s] loss=0.123`.
 * Elsewhere (logs, CI, notebooks' captured stderr) it prints a plain line every `interval` seconds and a last
 * one at the end: `train: 450/1000 (45.0%), 37.5 it/s, elapsed 00:12, ETA 00:15, loss=0.123`.
 *
 * @example
 * ```ts
 * import { progress, withProgress } from "./progress.ts";
 * const p = progress(100, { label: "train" });
 * for (let step = 0; step < 100; step++) p.tick(1, { loss: 1 / (step + 1) });
 * p.done();
 * for (const _x of withProgress([1, 2, 3], { label: "items" })) {
 *   // work
 * }
 * ```
 * @module
 */

/** Where progress goes; `Deno.stderr` fits, and tests pass a collector. */
export interface ProgressWriter {
  writeSync(p: Uint8Array): number;
  isTerminal?(): boolean;
}

/** Live values shown after the counts, e.g. `{loss: 0.12, lr: 2e-4}`. */
export type ProgressFields = Record<string, number | string>;

/** Options of {@link progress}. */
export interface ProgressOptions {
  /** Name shown first; default none. */
  label?: string;
  /** Where to write; default `Deno.stderr`. */
  writer?: ProgressWriter;
  /** Draw a live bar (true) or print plain lines (false); default `writer.isTerminal()`. */
  tty?: boolean;
  /** Seconds between plain lines; default 10. */
  interval?: number;
  /** Unit of the rate; default `"it"`. */
  unit?: string;
  /** Bar width in characters; default 20. */
  barWidth?: number;
  /** Terminal width the live line is cut to; default the console width of stderr, else 100. */
  columns?: number;
  /** Clock in milliseconds, for tests; default `performance.now`. */
  now?: () => number;
}

/** A running progress report; see {@link progress}. */
export interface Progress {
  /** Add `n` (default 1) finished items and optionally update the live fields. */
  tick(n?: number, fields?: ProgressFields): void;
  /** Update the live fields without counting items. */
  set(fields: ProgressFields): void;
  /** Print the final state (and end the live line); later calls do nothing. */
  done(fields?: ProgressFields): void;
  /** Items finished so far. */
  readonly count: number;
}

const REDRAW_MS = 100;
const encoder = new TextEncoder();

/** `75` → `01:15`, `3700` → `1:01:40`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Compact number display: integers as is, others with 4 significant digits (exponent when tiny or huge). */
export function formatValue(value: number | string): string {
  if (typeof value === "string") return value;
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e5)) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

function formatRate(rate: number, unit: string): string {
  if (!Number.isFinite(rate) || rate <= 0) return `? ${unit}/s`;
  return rate >= 1
    ? `${formatValue(Number(rate.toFixed(1)))} ${unit}/s`
    : `${formatValue(1 / rate)} s/${unit}`;
}

function formatFields(fields: ProgressFields): string {
  return Object.entries(fields).map(([k, v]) => `${k}=${formatValue(v)}`).join(" ");
}

/** Eighth blocks give the bar sub-character resolution. */
const PARTIAL_BLOCKS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

function bar(fraction: number, width: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, fraction)) * width * 8);
  const full = Math.floor(eighths / 8);
  const partial = PARTIAL_BLOCKS[eighths % 8];
  return "█".repeat(full) + partial + " ".repeat(width - full - (partial ? 1 : 0));
}

/** Width of the terminal on stderr; undefined when unknown (pseudo-terminals may report 0). */
function consoleColumns(): number | undefined {
  try {
    const { columns } = Deno.consoleSize();
    return columns > 0 ? columns : undefined;
  } catch {
    return undefined;
  }
}

function writeAllSync(writer: ProgressWriter, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += writer.writeSync(bytes.subarray(written));
}

/**
 * Start reporting progress over `total` items (`undefined` when unknown: no bar, percentage or ETA).
 *
 * @example
 * ```ts
 * import { progress } from "./progress.ts";
 * const p = progress(50, { label: "dissect layer4", interval: 5 });
 * for (let batch = 0; batch < 50; batch++) p.tick(1, { iou: 0.1 });
 * p.done();
 * ```
 */
export function progress(total: number | undefined, opts: ProgressOptions = {}): Progress {
  if (total !== undefined && !(total >= 0)) throw new Error(`progress: total must be >= 0, got ${total}`);
  const writer = opts.writer ?? Deno.stderr;
  const tty = opts.tty ?? writer.isTerminal?.() ?? false;
  const now = opts.now ?? (() => performance.now());
  const intervalMs = (opts.interval ?? 10) * 1000;
  const unit = opts.unit ?? "it";
  const barWidth = opts.barWidth ?? 20;
  const label = opts.label ?? "";
  const start = now();
  let count = 0;
  let fields: ProgressFields = {};
  let lastDraw = -Infinity;
  let lastLine = start;
  let lastLineKey = "";
  let finished = false;

  const stats = () => {
    const elapsed = (now() - start) / 1000;
    const rate = elapsed > 0 ? count / elapsed : NaN;
    const eta = total !== undefined && rate > 0 ? (total - count) / rate : NaN;
    return { elapsed, rate, eta };
  };

  const liveLine = (): string => {
    const { elapsed, rate, eta } = stats();
    const head = label ? `${label} ` : "";
    const extra = Object.keys(fields).length > 0 ? ` ${formatFields(fields)}` : "";
    const line = total !== undefined && total > 0
      ? `${head}${String(Math.floor((100 * count) / total)).padStart(3)}% |${
        bar(count / total, barWidth)
      }| ${count}/${total} [${formatDuration(elapsed)}<${formatDuration(eta)}, ${
        formatRate(rate, unit)
      }]${extra}`
      : `${head}${count} ${unit} [${formatDuration(elapsed)}, ${formatRate(rate, unit)}]${extra}`;
    const columns = opts.columns ?? consoleColumns() ?? 100;
    return [...line].slice(0, Math.max(10, columns - 1)).join("");
  };

  const plainLine = (): string => {
    const { elapsed, rate, eta } = stats();
    const head = label ? `${label}: ` : "";
    const counts = total !== undefined && total > 0
      ? `${count}/${total} (${((100 * count) / total).toFixed(1)}%)`
      : `${count} ${unit}`;
    const parts = [counts, formatRate(rate, unit), `elapsed ${formatDuration(elapsed)}`];
    if (total !== undefined && total > 0) parts.push(`ETA ${formatDuration(eta)}`);
    if (Object.keys(fields).length > 0) parts.push(formatFields(fields));
    return `${head}${parts.join(", ")}\n`;
  };

  const report = (final: boolean) => {
    const t = now();
    if (tty) {
      if (!final && t - lastDraw < REDRAW_MS) return;
      lastDraw = t;
      writeAllSync(writer, `\r${liveLine()}\x1b[K${final ? "\n" : ""}`);
    } else if (final || t - lastLine >= intervalMs) {
      // The final line repeats nothing: not when the last periodic line already showed this count and these fields.
      const key = `${count} ${formatFields(fields)}`;
      if (final && key === lastLineKey) return;
      lastLine = t;
      lastLineKey = key;
      writeAllSync(writer, plainLine());
    }
  };

  return {
    tick(n = 1, newFields?: ProgressFields) {
      if (finished) return;
      count += n;
      if (newFields) fields = { ...fields, ...newFields };
      report(false);
    },
    set(newFields: ProgressFields) {
      if (finished) return;
      fields = { ...fields, ...newFields };
      report(false);
    },
    done(newFields?: ProgressFields) {
      if (finished) return;
      if (newFields) fields = { ...fields, ...newFields };
      finished = true;
      report(true);
    },
    get count() {
      return count;
    },
  };
}

/** Options of {@link withProgress}. */
export interface WithProgressOptions extends ProgressOptions {
  /** Number of items; default the length or size of the iterable when it has one. */
  total?: number;
}

function sizeOf(items: unknown): number | undefined {
  const s = items as { length?: unknown; size?: unknown };
  if (typeof s.length === "number") return s.length;
  if (typeof s.size === "number") return s.size;
  return undefined;
}

function* syncProgress<T>(items: Iterable<T>, p: Progress): Generator<T> {
  try {
    for (const item of items) {
      yield item;
      p.tick();
    }
  } finally {
    p.done();
  }
}

async function* asyncProgress<T>(items: AsyncIterable<T>, p: Progress): AsyncGenerator<T> {
  try {
    for await (const item of items) {
      yield item;
      p.tick();
    }
  } finally {
    p.done();
  }
}

/**
 * Iterate over `items`, counting each one after the loop body has run; the report ends when the loop ends
 * (also on `break` or an exception). Sync iterables give a generator usable with `for` and `for await`,
 * async iterables an async generator.
 *
 * @example
 * ```ts
 * import { withProgress } from "./progress.ts";
 * let sum = 0;
 * for (const x of withProgress([1, 2, 3, 4], { label: "sum" })) sum += x;
 * ```
 */
export function withProgress<T>(items: Iterable<T>, opts?: WithProgressOptions): Generator<T>;
export function withProgress<T>(items: AsyncIterable<T>, opts?: WithProgressOptions): AsyncGenerator<T>;
export function withProgress<T>(
  items: Iterable<T> | AsyncIterable<T>,
  opts: WithProgressOptions = {},
): Generator<T> | AsyncGenerator<T> {
  const p = progress(opts.total ?? sizeOf(items), opts);
  return Symbol.asyncIterator in items
    ? asyncProgress(items as AsyncIterable<T>, p)
    : syncProgress(items as Iterable<T>, p);
}
