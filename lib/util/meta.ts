/**
 * The `meta.json` every experiment writes beside its results: arguments, backend, git revision, timings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gitRevision } from "./meta.ts";
 * // e.g. "3f2c1ab6248d", "3f2c1ab6248d-dirty" (uncommitted changes) or "unknown"
 * assert.match(gitRevision(), /^([0-9a-f]{12,}(-dirty)?|unknown)$/);
 * ```
 * @module
 */
import { join } from "node:path";
import { type BackendInfo, backendInfo } from "../backend/backend.ts";
import { writeJsonAtomic } from "../io/atomic.ts";

/** What an experiment records about how it ran. */
export interface RunMeta {
  experiment: string;
  config: Record<string, unknown>;
  backend: BackendInfo | null;
  git: string;
  deno: string;
  started: string;
  seconds: number;
  /** Named timings in seconds (e.g. per stage of the experiment). */
  timings: Record<string, number>;
  [extra: string]: unknown;
}

/** The checkout's git revision (`<sha>` plus `-dirty` when there are uncommitted changes), or "unknown". */
export function gitRevision(cwd = Deno.cwd()): string {
  try {
    const git = (...args: string[]) =>
      new TextDecoder().decode(new Deno.Command("git", { args, cwd, stderr: "null" }).outputSync().stdout)
        .trim();
    const sha = git("rev-parse", "--short=12", "HEAD");
    if (!sha) return "unknown";
    return git("status", "--porcelain", "--untracked-files=no") ? `${sha}-dirty` : sha;
  } catch {
    return "unknown";
  }
}

/** Records timings of named stages and writes `meta.json` at the end. */
export class RunRecorder {
  readonly started = new Date();
  readonly timings: Record<string, number> = {};
  #t0 = performance.now();

  constructor(readonly experiment: string, readonly config: Record<string, unknown>) {}

  /** Time `fn` under `name` (seconds, added up over calls). */
  async time<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.timings[name] = (this.timings[name] ?? 0) + (performance.now() - t) / 1000;
    }
  }

  /** The meta record as it stands now. */
  meta(extra: Record<string, unknown> = {}): RunMeta {
    return {
      experiment: this.experiment,
      config: this.config,
      backend: backendInfo() ?? null,
      git: gitRevision(),
      deno: Deno.version.deno,
      started: this.started.toISOString(),
      seconds: (performance.now() - this.#t0) / 1000,
      timings: this.timings,
      ...extra,
    };
  }

  /** Write `<dir>/meta.json` atomically. */
  async write(dir: string, extra: Record<string, unknown> = {}): Promise<string> {
    const path = join(dir, "meta.json");
    await writeJsonAtomic(path, this.meta(extra));
    return path;
  }
}
