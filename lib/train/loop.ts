/**
 * A small, reusable training loop: resumable, checkpointed, logged, with progress.
 *
 * The loop owns the bookkeeping around a `step(i)` the caller writes: it resumes from `<dir>/checkpoint.safetensors`
 * when one exists, saves a checkpoint every `checkpointSeconds` (and on SIGINT/SIGTERM, at the end and when the
 * `maxSeconds` budget runs out), appends each step's metrics to `<dir>/metrics.jsonl` (trimmed back to the
 * checkpoint's step on resume, so the log never holds steps the model has forgotten) and shows progress with the
 * latest losses. Batches should derive from `(seed, step)` (see {@link stepRng}) so a resumed run draws the same
 * data as an uninterrupted one.
 *
 * @example
 * ```ts ignore
 * const result = await trainLoop({ dir: "runs/gan", steps: 3000, parts: { params, optimizers }, step: (i) => gan.step(i) });
 * ```
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { Rng } from "../tensor/rng.ts";
import { progress } from "../util/progress.ts";
import { type CheckpointParts, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";

/** Metrics of one step, by name (losses, penalties, …). */
export type StepMetrics = Record<string, number>;

/** Options of {@link trainLoop}. */
export interface TrainLoopOptions {
  /** Run folder: `checkpoint.safetensors`, `metrics.jsonl`. Created if missing. */
  dir: string;
  /** Total steps of the run (a resumed run continues up to this count). */
  steps: number;
  /** What the checkpoint saves and restores. */
  parts: CheckpointParts;
  /** One training step; `i` counts from 0. */
  step: (i: number) => StepMetrics | Promise<StepMetrics>;
  /** Resume from an existing checkpoint (default true); false starts over and overwrites it. */
  resume?: boolean;
  /** Seconds between checkpoints; default 300. */
  checkpointSeconds?: number;
  /** Stop (after a checkpoint) once this many seconds of this process have passed; default no limit. */
  maxSeconds?: number;
  /** Called after every checkpoint with the steps done and the seconds spent over all runs (e.g. to export). */
  onCheckpoint?: (done: { steps: number; seconds: number }) => void | Promise<void>;
  /** Extra JSON saved with the checkpoint (e.g. the config, to refuse resuming a different one). */
  meta?: Record<string, unknown>;
  /** Progress label; default "train". */
  label?: string;
}

/** How a {@link trainLoop} ended. */
export interface TrainLoopResult {
  /** Steps done in all, this run and earlier ones. */
  steps: number;
  /** Steps done by this process. */
  stepsThisRun: number;
  /** Why it stopped. */
  reason: "done" | "time" | "signal";
  /** Wall seconds of this process; and over all runs, as recorded in the checkpoints. */
  seconds: number;
  totalSeconds: number;
}

interface LoopState {
  step: number;
  seconds: number;
  meta?: Record<string, unknown>;
}

/** A per-step random generator: the same `(seed, step)` always gives the same stream. */
export function stepRng(seed: number, step: number): Rng {
  return new Rng((seed * 1_000_003 + step) % Number.MAX_SAFE_INTEGER);
}

async function trimMetrics(path: string, steps: number): Promise<void> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return;
  }
  const kept = text.split("\n").filter((line) => line.trim() !== "" && JSON.parse(line).step < steps);
  await writeFileAtomic(path, kept.map((l) => l + "\n").join(""));
}

/** Run the loop (see the module documentation). */
export async function trainLoop(options: TrainLoopOptions): Promise<TrainLoopResult> {
  const { dir, parts } = options;
  await Deno.mkdir(dir, { recursive: true });
  const ckpt = join(dir, "checkpoint.safetensors");
  const metricsPath = join(dir, "metrics.jsonl");
  let state: LoopState = { step: 0, seconds: 0, meta: options.meta };
  const exists = await Deno.stat(ckpt).then(() => true, () => false);
  if (exists && (options.resume ?? true)) {
    state = await loadCheckpoint<LoopState>(ckpt, parts);
    if (options.meta && JSON.stringify(state.meta) !== JSON.stringify(options.meta)) {
      throw new Error(
        `${ckpt}: was made with another configuration; resume with the same one or pass resume: false.\n` +
          `  saved: ${JSON.stringify(state.meta)}\n  now:   ${JSON.stringify(options.meta)}`,
      );
    }
    await trimMetrics(metricsPath, state.step);
    console.error(`${options.label ?? "train"}: resumed at step ${state.step} from ${ckpt}`);
  } else {
    await writeFileAtomic(metricsPath, "");
  }

  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  let lastSave = performance.now();
  let signalled = false;
  const onSignal = () => (signalled = true);
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);

  const start = state.step;
  const bar = progress(options.steps - start, { label: options.label ?? "train", unit: "step" });
  const log = await Deno.open(metricsPath, { append: true, create: true });
  const encoder = new TextEncoder();
  const save = async (step: number) => {
    const seconds = state.seconds + elapsed();
    await saveCheckpoint(ckpt, { ...parts, state: { step, seconds, meta: options.meta } });
    lastSave = performance.now();
    await options.onCheckpoint?.({ steps: step, seconds });
  };
  let reason: TrainLoopResult["reason"] = "done";
  let step = start;
  try {
    for (; step < options.steps; step++) {
      if (signalled) {
        reason = "signal";
        break;
      }
      if (options.maxSeconds !== undefined && elapsed() >= options.maxSeconds) {
        reason = "time";
        break;
      }
      const metrics = await options.step(step);
      await log.write(encoder.encode(JSON.stringify({ step, t: +elapsed().toFixed(2), ...metrics }) + "\n"));
      bar.tick(1, metrics);
      if ((performance.now() - lastSave) / 1000 >= (options.checkpointSeconds ?? 300)) await save(step + 1);
    }
    await save(step);
  } finally {
    log.close();
    bar.done();
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
  return {
    steps: step,
    stepsThisRun: step - start,
    reason,
    seconds: elapsed(),
    totalSeconds: state.seconds + elapsed(),
  };
}

/** Read `metrics.jsonl` of a run folder (for curves and reports). */
export async function readMetrics(dir: string): Promise<(StepMetrics & { step: number })[]> {
  const text = await Deno.readTextFile(join(dir, "metrics.jsonl"));
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}
