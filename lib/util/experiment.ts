/**
 * The experiment kit: what every script under `experiments/` needs besides the method — cached steps whose keys
 * are their inputs, figures saved once (HTML, and PNG where Chromium is), timings and `meta.json`.
 *
 * A step is `exp.step(name, inputs, compute)`: `compute` receives `inputs` and nothing else it needs should come
 * from elsewhere, so the cache key — a hash of the step's name and `inputs` (typed arrays by content, e.g. a
 * model's weights) — cannot miss an option: a changed input is a new key and the step runs again. Results are
 * JSON (`cache/<name>.json`, written atomically); a step's result is read back unchanged.
 *
 * @example
 * ```ts
 * import { strict as assert } from "node:assert";
 * import { Experiment } from "./experiment.ts";
 * const exp = new Experiment("example", { n: 3 }, { out: await Deno.makeTempDir(), figurePng: false, log: () => {} });
 * let runs = 0;
 * const square = ({ n }: { n: number }) => (runs++, n * n);
 * assert.equal(await exp.step("square", { n: 3 }, square), 9);
 * assert.equal(await exp.step("square", { n: 3 }, square), 9); // read from the cache
 * assert.equal(await exp.step("square", { n: 4 }, square), 16); // another input, another key
 * assert.equal(runs, 2);
 * ```
 * @module
 */
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.ts";
import { hashKey } from "../io/hash.ts";
import type { PlotlyFigure } from "../viz/plotly.ts";
import { hasChromium, saveFigure } from "../viz/plotly_png.ts";
import { RunRecorder } from "./meta.ts";

/** Options of an {@link Experiment}. */
export interface ExperimentOptions {
  /** Output folder (created); the cache is `<out>/cache`. */
  out: string;
  /** Also write figures as PNG where Chromium is installed; default true. */
  figurePng?: boolean;
  /** Where progress lines go; default stderr, prefixed with the experiment's name. */
  log?: (line: string) => void;
}

/** One run of an experiment: its output folder, cached steps, figures and run record. */
export class Experiment {
  readonly out: string;
  readonly cacheDir: string;
  readonly run: RunRecorder;
  /** Whether figures are also written as PNG (asked for, and Chromium is there). */
  readonly pngFigures: boolean;
  readonly #log: (line: string) => void;

  constructor(readonly name: string, readonly config: Record<string, unknown>, options: ExperimentOptions) {
    this.out = options.out;
    this.cacheDir = join(options.out, "cache");
    Deno.mkdirSync(this.cacheDir, { recursive: true });
    this.run = new RunRecorder(name, config);
    const png = options.figurePng ?? true;
    this.pngFigures = png && hasChromium();
    this.#log = options.log ?? ((line) => console.error(`[${name}] ${line}`));
    if (png && !this.pngFigures) this.say("Chromium is missing: figures are written as HTML only");
  }

  /** A progress line. */
  say(line: string): void {
    this.#log(line);
  }

  /**
   * Run `compute(inputs)` once per distinct `inputs` (see the module documentation); timed under `name`.
   * The result must be JSON (numbers, strings, arrays, plain objects).
   */
  async step<I, T>(name: string, inputs: I, compute: (inputs: I) => T | Promise<T>): Promise<T> {
    const path = join(this.cacheDir, `${name}.json`);
    const hash = hashKey({ step: name, inputs });
    try {
      const file = JSON.parse(await Deno.readTextFile(path));
      if (file.hash === hash) {
        this.say(`${name}: cached`);
        return file.value as T;
      }
    } catch {
      // no cache yet, or an unreadable one: compute again
    }
    const value = await this.run.time(name, () => compute(inputs));
    await writeJsonAtomic(path, { hash, value });
    return value;
  }

  /** Save a figure as `<path>.html` and, where Chromium is, `<path>.png` (`path` relative to `out`). */
  async figure(path: string, fig: PlotlyFigure): Promise<void> {
    await this.run.time("figures", () => saveFigure(join(this.out, path), fig, { png: this.pngFigures }));
  }

  /** Write `value` as JSON to `<out>/<path>` (atomically). */
  async json(path: string, value: unknown): Promise<void> {
    await writeJsonAtomic(join(this.out, path), value);
  }

  /** Write `<out>/meta.json`: the config, backend, git revision and timings, plus `extra`. */
  async finish(extra: Record<string, unknown> = {}): Promise<string> {
    return await this.run.write(this.out, extra);
  }
}
