/**
 * `deno task label`: label a generator's samples by hand in the browser (see `label_server.ts`).
 *
 *     deno task label --out labels.csv [--checkpoint g.safetensors] [--seeds 0-199] [--port 0] [--scale 4]
 *
 * Samples are drawn from seeded latents (`latents`, the same `z` as `deno task generate --seeds`), clamped
 * to [-1, 1] and upscaled by nearest neighbour so a 64x64 sample is easy to judge. The command prints the
 * page's URL and a progress line per answer, and returns when every seed is answered or on Ctrl-C; each
 * answer is already saved, and running the same command again resumes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, initBackend } from "../backend/backend.ts";
import { createGenerator, type EngineName, type GeneratorRunner } from "../engine/select.ts";
import { encodePng } from "../io/png.ts";
import { loadGenerator } from "../models/load.ts";
import { latents } from "../tensor/rng.ts";
import { upsampleNearest } from "../tensor/upsample.ts";
import { commandConfig } from "../util/config.ts";
import { BACKEND, ENGINE, seedsCheck } from "../util/flags.ts";
import { parseSeeds } from "../util/seeds.ts";
import { startLabelServer } from "./label_server.ts";

/** The generator labelled when no `--checkpoint` is given. */
export const DEFAULT_LABEL_CHECKPOINT = "data/models/scenes_pggan64.safetensors";

/** The `label` command's flags and usage. */
export const LABEL_COMMAND = {
  spec: {
    out: {
      default: "",
      help: "the label file (CSV seed,label,source); resumed when it exists",
      required: true,
      meta: "<labels.csv>",
    },
    checkpoint: {
      default: DEFAULT_LABEL_CHECKPOINT,
      help: "generator checkpoint (.pth or .safetensors)",
      exists: true,
      meta: "<file>",
    },
    seeds: {
      default: "0-199",
      help: "the seeds to label, e.g. 0-199 or 3,7,9",
      meta: "<list>",
      check: seedsCheck,
    },
    port: { default: 0, help: "port on localhost (0: any free port)", integer: true, min: 0, max: 65535 },
    scale: {
      default: 4,
      help: "nearest-neighbour upscaling of each sample on the page",
      integer: true,
      min: 1,
      max: 64,
    },
    engine: ENGINE,
    backend: BACKEND,
  },
  info: {
    command: "deno task label",
    summary:
      "Label a generator's samples normal / artifact / skip by key in the browser; saved after every answer.",
  },
};

/** Options of {@link sampleRenderer}. */
export interface SampleRendererOptions {
  /** Nearest-neighbour upscaling factor, a positive integer; default 4. */
  scale?: number;
}

/**
 * A render function for the labelling server: the PNG of seed `s` is `gen`'s sample of `latents(s)`, clamped
 * to [-1, 1] and upscaled `scale` times. Frees every tensor it makes; `gen` stays the caller's.
 *
 * @example
 * ```ts
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { sampleRenderer } from "./label_cli.ts";
 * await initBackend({ backend: "cpu" });
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
 * const png = await sampleRenderer(gen, { scale: 4 })(7); // a 32x32 PNG of seed 7
 * await gen.dispose();
 * ```
 */
export function sampleRenderer(
  gen: GeneratorRunner,
  options: SampleRendererOptions = {},
): (seed: number) => Promise<Uint8Array> {
  const scale = options.scale ?? 4;
  if (!Number.isInteger(scale) || scale < 1) {
    throw new Error(`scale: Expected a positive integer, got ${scale}`);
  }
  return async (seed) => {
    const z = latents(seed, gen.model.zDim); // [1, zDim]
    const { output } = await gen.run(z, { clamp: true }).finally(() => z.dispose()); // [1, H, W, C] in [-1, 1]
    const big = scale === 1 ? output : upsampleNearest(output, { factor: scale }); // [1, H·scale, W·scale, C]
    try {
      return await encodePng(big);
    } finally {
      tf.dispose([output, big]);
    }
  };
}

/** Resolves when the user presses Ctrl-C; `stop()` removes the listener. */
function onCtrlC(): { pressed: Promise<void>; stop(): void } {
  let listener = () => {};
  const pressed = new Promise<void>((resolve) => listener = resolve);
  Deno.addSignalListener("SIGINT", listener);
  return { pressed, stop: () => Deno.removeSignalListener("SIGINT", listener) };
}

/**
 * `label`: serve the labelling page for a generator's samples until every seed is answered or Ctrl-C
 * (see the module documentation; flags in {@link LABEL_COMMAND}).
 *
 * @example
 * ```ts ignore
 * // Waits for a person to answer in the browser.
 * import { labelCommand } from "./label_cli.ts";
 * await labelCommand(["--seeds", "0-99", "--out", "results/labels/scenes.csv"]);
 * ```
 */
export async function labelCommand(args: string[]): Promise<void> {
  const values = commandConfig(LABEL_COMMAND.spec, LABEL_COMMAND.info, args);
  const seeds = parseSeeds(values.seeds);
  const { port, scale } = values;
  await initBackend({ backend: (values.backend || undefined) as BackendName | undefined });
  const model = await loadGenerator(values.checkpoint);
  const gen = await createGenerator(model, {
    engine: (values.engine || undefined) as EngineName | undefined,
  });
  const ctrlC = onCtrlC();
  try {
    const server = await startLabelServer({
      seeds,
      render: sampleRenderer(gen, { scale }),
      out: values.out,
      port,
      onChange: (state) => console.log(state.progress),
    });
    try {
      console.log(
        `labelling ${seeds.length} samples of ${values.checkpoint} (${gen.engine}) into ${values.out}`,
      );
      console.log(`open ${server.url} (Ctrl-C stops; every answer is saved at once)`);
      const finished = await Promise.race([server.done.then(() => true), ctrlC.pressed.then(() => false)]);
      console.log(
        finished
          ? `done: every seed is answered; labels in ${values.out}`
          : `stopped; answers so far are in ${values.out}; run the same command again to go on`,
      );
    } finally {
      await server.close();
    }
  } finally {
    ctrlC.stop();
    await gen.dispose();
  }
}
