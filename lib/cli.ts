/**
 * The ganatomy command line: one entry, one sub-command per job. `deno task <name>` calls it.
 *
 *     deno task generate --checkpoint g.pth --seeds 0-15 [--trace layer4,layer6] [--correction c.json] --out grid.png|out.safetensors
 *     deno task convert in.pth out.safetensors
 *     deno task dissect --checkpoint g.safetensors --segmenter s.safetensors --layer layer4 [--samples 1000]
 *     deno task label --out labels.csv [--checkpoint g.pth] [--seeds 0-199]
 *
 * @module
 */
import { basename, extname, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, initBackend } from "./backend/backend.ts";
import type { OrtDevice } from "./engine/ort.ts";
import { createGenerator, type EngineName } from "./engine/select.ts";
import type { HostTensor } from "./io/dtype.ts";
import { writeJsonAtomic } from "./io/atomic.ts";
import { savePng } from "./io/png.ts";
import { readSafetensors, writeSafetensors } from "./io/safetensors.ts";
import { convertCheckpoint, loadGenerator } from "./models/load.ts";
import { stageIndex } from "./models/stages.ts";
import { latents } from "./tensor/rng.ts";
import { parseSeeds } from "./util/seeds.ts";
import {
  commandConfig,
  type CommandInfo,
  installErrorHandler,
  type Spec,
  usage as usageText,
  UsageError,
} from "./util/config.ts";
import { BACKEND, batchFlag, CHECKPOINT, DEVICE, ENGINE, seedsCheck } from "./util/flags.ts";
import { progress } from "./util/progress.ts";
import { imageGrid } from "./viz/grid.ts";
import type { FeatureExtractor } from "./models/features.ts";
import { loadFidInception } from "./metrics/inception.ts";
import {
  fidOfInputs,
  type InputOptions,
  isInputFile,
  loadDomainExtractor,
  prdcOfInputs,
} from "./metrics/inputs.ts";
import { loadVgg16 } from "./metrics/vgg.ts";
import { SCENE_CLASSES } from "./data/scene_classes.ts";
import { dissectLayer } from "./dissect/dissect_layer.ts";
import type { ThresholdMethod } from "./dissect/unit_iou.ts";
import { toUnitsJson } from "./dissect/units_json.ts";
import { disposeSegmenter, loadSegmenter, segment } from "./models/segmenter.ts";
import { hashKey } from "./io/hash.ts";
import { interpretableCounts, unitClassFigure } from "./dissect/figures.ts";
import { saveFigure } from "./viz/plotly_png.ts";
import { LABEL_COMMAND, labelCommand } from "./correct/label_cli.ts";
import { correctionEdits, readCorrection } from "./correct/correction_file.ts";

/** A sub-command: its flags, its usage, and what it does with them. */
export interface Command<S extends Spec = Spec> {
  spec: S;
  info: CommandInfo;
}

async function readZ(path: string, zDim: number): Promise<tf.Tensor2D> {
  const file = await readSafetensors(path);
  const z = file.tensors.get("z");
  if (!z) throw new Error(`${path}: no tensor "z" (found: ${[...file.tensors.keys()].join(", ") || "none"})`);
  if (z.shape.length !== 2 || z.shape[1] !== zDim || !(z.data instanceof Float32Array)) {
    throw new Error(
      `${path}: "z" must be float [N, ${zDim}] for this generator, got ${z.dtype} [${z.shape}]`,
    );
  }
  return tf.tensor2d(z.data, [z.shape[0], zDim]);
}

/** `generate`'s flags. */
export const GENERATE = {
  spec: {
    checkpoint: CHECKPOINT,
    seeds: {
      default: "",
      help: "latent seeds, e.g. 0-15 or 3,7,9 (z from the project's seeded normal draws)",
      meta: "<list>",
      check: seedsCheck,
    },
    z: {
      default: "",
      help: 'latents instead of seeds: a .safetensors with tensor "z" [N, zdim]',
      exists: true,
      meta: "<file>",
    },
    trace: {
      default: [] as string[],
      help: "layers whose activations are saved too (NHWC; needs a .safetensors --out)",
      meta: "<layer,…>",
    },
    correction: {
      default: "",
      help: "a correction file (from exp:correct) applied while sampling",
      exists: true,
      meta: "<file>",
    },
    out: {
      default: "",
      help: "output: grid.png (a labelled grid) or out.safetensors (images and traces)",
      required: true,
      meta: "<file>",
      check: (v: string) =>
        /\.(png|safetensors)$/i.test(v) ? undefined : `must end in .png or .safetensors, got "${v}"`,
    },
    batch: batchFlag(8),
    engine: ENGINE,
    device: DEVICE,
    backend: BACKEND,
  },
  info: {
    command: "deno task generate",
    summary:
      "Sample a generator by seeds or given latents; write a labelled image grid or images and traces.",
    validate: (c) => (c.z === "") === (c.seeds === "") ? "give exactly one of --seeds and --z" : undefined,
    details: "example: deno task generate --checkpoint churchoutdoor_lsun.pth --seeds 0-15 --out church.png",
  },
} satisfies Command;

/** `generate`: sample a generator by seeds or given latents; write images (and traces) or a labelled grid. */
export async function generate(args: string[]): Promise<void> {
  const values = commandConfig(GENERATE.spec, GENERATE.info, args);
  const outKind = extname(values.out).toLowerCase();
  const batch = values.batch;
  const info = await initBackend({ backend: (values.backend || undefined) as BackendName | undefined });
  const model = await loadGenerator(values.checkpoint);
  const trace = values.trace;
  for (const name of trace) stageIndex(model, name);
  const edits = values.correction
    ? correctionEdits(model, await readCorrection(values.correction))
    : undefined;

  const seeds = values.seeds === "" ? undefined : parseSeeds(values.seeds);
  const z = values.z ? await readZ(values.z, model.zDim) : latents(seeds!, model.zDim);
  const n = z.shape[0];
  // ORT by default (tfjs, with a warning, where its native addon cannot load); tfjs tensors in and out.
  const gen = await createGenerator(model, {
    engine: (values.engine || undefined) as EngineName | undefined,
    device: values.device as OrtDevice,
  });
  const chunks: Record<string, Float32Array[]> = { images: [] };
  const shapes: Record<string, number[]> = {};
  const engineLabel = gen.engine === "ort" ? "ort" : `tfjs ${info.backend}`;
  const bar = progress(n, { label: `generate (${engineLabel})`, unit: "img" });
  for (let start = 0; start < n; start += batch) {
    const size = Math.min(batch, n - start);
    const zb = tf.slice(z, [start, 0], [size, model.zDim]);
    const { output, traces } = await gen.run(zb, { trace, edits });
    for (const [name, t] of [["images", output] as const, ...Object.entries(traces)]) {
      (chunks[name] ??= []).push(await t.data() as Float32Array);
      shapes[name] = t.shape.slice(1);
    }
    tf.dispose([zb, output, ...Object.values(traces)]);
    bar.tick(size);
  }
  bar.done();
  await gen.dispose();
  z.dispose();

  const joined = (name: string): HostTensor => {
    const parts = chunks[name];
    const data = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) data.set(p, (at += p.length) - p.length);
    return { dtype: "F32", shape: [n, ...shapes[name]], data };
  };
  if (outKind === ".safetensors") {
    const tensors: Record<string, HostTensor> = {};
    for (const name of Object.keys(chunks)) tensors[name] = joined(name);
    await writeSafetensors(values.out, tensors, { metadata: { checkpoint: values.checkpoint } });
  } else {
    if (trace.length) console.warn("note: --trace is only saved with a .safetensors --out");
    const images = joined("images");
    const batchTensor = tf.tensor4d(
      images.data as Float32Array,
      images.shape as [number, number, number, number],
    );
    const scale = Math.max(1, Math.floor(96 / model.resolution));
    const captions = seeds?.map((s) => `seed ${s}`) ?? Array.from({ length: n }, (_, i) => `z[${i}]`);
    await savePng(values.out, imageGrid(batchTensor, { captions, scale }));
    batchTensor.dispose();
  }
  console.log(
    JSON.stringify({
      out: values.out,
      images: n,
      resolution: model.resolution,
      engine: gen.engine,
      backend: info.backend,
    }),
  );
}

/** `convert`'s arguments. */
export const CONVERT = {
  spec: {},
  info: {
    command: "deno task convert",
    summary:
      "Convert a PyTorch checkpoint to the project's safetensors format (verified by loading it back).",
    positionals: [
      {
        name: "in.pth",
        help: "a checkpoint: GAN Dissection .pth (either PyTorch format) or .safetensors",
        exists: true,
      },
      { name: "out.safetensors", help: "the converted file (NHWC/HWIO layout)" },
    ],
    validate: (c) =>
      extname(c._[1]).toLowerCase() === ".safetensors"
        ? undefined
        : `<out.safetensors> must end in .safetensors, got "${c._[1]}"`,
  },
} satisfies Command;

/** `convert`: a checkpoint to the project's safetensors format (verified by loading it back). */
export async function convert(args: string[]): Promise<void> {
  const [input, output] = commandConfig(CONVERT.spec, CONVERT.info, args)._;
  const model = await convertCheckpoint(input, output);
  console.log(
    JSON.stringify({
      out: output,
      arch: model.arch,
      resolution: model.resolution,
      stages: model.stages.length,
    }),
  );
}

/** One feature extractor for both inputs of a metric command, loaded on first use. */
function sharedExtractor(load: (() => Promise<FeatureExtractor>) | undefined): InputOptions["extractor"] {
  if (!load) return undefined;
  let pending: Promise<FeatureExtractor> | undefined;
  return () => (pending ??= load());
}

const INPUT_HELP =
  "a folder of PNGs (needs a feature network), a statistics file (mu, sigma: .safetensors, " +
  "pytorch-fid's or clean-fid's .npz) or a feature file (.safetensors, .npy [N, D])";

/** `fid`'s flags. */
export const FID = {
  spec: {
    inception: {
      default: "",
      help: "pytorch-fid's Inception weights (pt_inception-2015-12-05-6726825d.pth): FID",
      exists: true,
      meta: "<file>",
    },
    net: {
      default: "",
      help: "a domain network (e.g. data/models/scenes_net.safetensors): FD in its features",
      exists: true,
      meta: "<file>",
    },
    features: { default: false, help: "the inputs are feature or statistics files, not folders" },
    featuresName: {
      default: "",
      help: "name of the feature space of inputs that carry none (features made elsewhere)",
      meta: "<name>",
    },
    resize: {
      default: false,
      help: "resize images to the feature network's input size (bilinear) instead of refusing",
    },
    saveA: {
      default: "",
      help: "save the statistics of <a> (mu, sigma) to this .safetensors",
      meta: "<file>",
    },
    saveB: { default: "", help: "save the statistics of <b> to this .safetensors", meta: "<file>" },
    batch: batchFlag(16),
    backend: BACKEND,
  },
  info: {
    command: "deno task fid",
    summary:
      "The Fréchet distance between two image sets: FID in Inception features, or FD in a domain network's.",
    positionals: [{ name: "a", help: INPUT_HELP, exists: true }, {
      name: "b",
      help: INPUT_HELP,
      exists: true,
    }],
    validate: (c) => c.net && c.inception ? "give one of --net and --inception, not both" : undefined,
  },
} satisfies Command;

/** `fid`: the Fréchet distance between two image sets (FID with pytorch-fid's Inception weights). */
export async function fid(args: string[]): Promise<void> {
  const values = commandConfig(FID.spec, FID.info, args);
  const positionals = values._;
  const batch = values.batch;
  await initBackend({ backend: (values.backend || undefined) as BackendName | undefined });
  if (values.features) {
    for (const p of positionals) {
      if (!isInputFile(p)) {
        throw new UsageError(`--features: "${p}" is not a feature or statistics file`, usageOf(FID));
      }
    }
  }
  const { report } = await fidOfInputs(positionals[0], positionals[1], {
    batch,
    extractor: sharedExtractor(
      values.inception
        ? () => loadFidInception(values.inception)
        : values.net
        ? () => loadDomainExtractor(values.net)
        : undefined,
    ),
    extractorHint: "pass --inception <pt_inception-2015-12-05-6726825d.pth> (pytorch-fid's weights), " +
      "or --net data/models/scenes_net.safetensors for the domain distance FD (scenes-net)",
    featuresName: values.featuresName || undefined,
    resize: values.resize,
    saveA: values.saveA || undefined,
    saveB: values.saveB || undefined,
  });
  console.log(JSON.stringify(report));
}

/** `prdc`'s flags. */
export const PRDC = {
  spec: {
    k: {
      default: 3,
      help: "neighbours of the k-NN hyperspheres (Kynkäänniemi et al. use 3)",
      integer: true,
      min: 1,
      max: 1000,
    },
    out: {
      default: "",
      help: "write per-sample realism and manifold membership to this JSON",
      meta: "<file>",
    },
    vgg: {
      default: "",
      help: "torchvision's VGG-16 weights (the official choice of features)",
      exists: true,
      meta: "<file>",
    },
    inception: { default: "", help: "pytorch-fid's Inception weights", exists: true, meta: "<file>" },
    net: {
      default: "",
      help: "a domain network (e.g. data/models/scenes_net.safetensors)",
      exists: true,
      meta: "<file>",
    },
    featuresName: {
      default: "",
      help: "name of the feature space of inputs that carry none",
      meta: "<name>",
    },
    resize: {
      default: false,
      help: "resize images to the feature network's input size (bilinear) instead of refusing",
    },
    saveReal: { default: "", help: "save the features of <real> to this .safetensors", meta: "<file>" },
    saveFake: { default: "", help: "save the features of <fake> to this .safetensors", meta: "<file>" },
    batch: batchFlag(16),
    backend: BACKEND,
  },
  info: {
    command: "deno task prdc",
    summary:
      "k-NN precision, recall, density, coverage and per-sample realism of fake images against real ones.",
    positionals: [
      {
        name: "real",
        help: "a folder of PNGs (needs --vgg, --inception or --net) or a feature file (.safetensors, .npy)",
        exists: true,
      },
      { name: "fake", help: "the same kinds as <real>", exists: true },
    ],
    validate: (c) =>
      [c.vgg, c.inception, c.net].filter(Boolean).length > 1
        ? "give one of --vgg, --inception and --net"
        : undefined,
  },
} satisfies Command;

/** `prdc`: k-NN precision, recall, density, coverage and per-sample realism of fake images against real ones. */
export async function prdc(args: string[]): Promise<void> {
  const values = commandConfig(PRDC.spec, PRDC.info, args);
  const positionals = values._;
  const { k, batch } = values;
  await initBackend({ backend: (values.backend || undefined) as BackendName | undefined });
  const load = values.vgg
    ? () => loadVgg16(values.vgg)
    : values.inception
    ? () => loadFidInception(values.inception)
    : values.net
    ? () => loadDomainExtractor(values.net)
    : undefined;
  const { report, scores } = await prdcOfInputs(positionals[0], positionals[1], {
    batch,
    k,
    extractor: sharedExtractor(load),
    extractorHint: "pass --vgg <vgg16.pth> (torchvision's VGG-16, the official choice), --inception <pth>, " +
      "or --net data/models/scenes_net.safetensors (a domain network)",
    featuresName: values.featuresName || undefined,
    resize: values.resize,
    saveReal: values.saveReal || undefined,
    saveFake: values.saveFake || undefined,
  });
  if (values.out) await writeJsonAtomic(values.out, scores);
  console.log(JSON.stringify(report));
}

/** `dissect`'s flags. */
export const DISSECT = {
  spec: {
    checkpoint: CHECKPOINT,
    segmenter: {
      default: "",
      help: "a segmenter returning per-class labels (e.g. data/models/scenes_segmenter.safetensors)",
      required: true,
      exists: true,
      meta: "<file>",
    },
    layer: { default: "", help: "the layer to dissect, e.g. layer4", required: true, meta: "<layer>" },
    samples: {
      default: 1000,
      help: "dissection latents: seeds 0 … samples−1",
      integer: true,
      min: 1,
      max: 10_000_000,
    },
    threshold: {
      default: "quantile",
      help: "unit thresholds: top-quantile (GAN Dissection's dissect()) or IQR (its GAN command line)",
      choices: ["quantile", "iqr"],
    },
    cache: {
      default: "",
      help: "folder caching the statistics passes (keyed by their inputs)",
      meta: "<dir>",
    },
    out: {
      default: "",
      help: "output folder",
      meta: "<dir>",
      defaultText: "results/dissection/<checkpoint>/<layer>",
    },
    batch: batchFlag(16),
    engine: ENGINE,
    backend: BACKEND,
  },
  info: {
    command: "deno task dissect",
    summary: "GAN Dissection of one layer: unit–concept IoU; writes units.json and the unit-class chart.",
  },
} satisfies Command;

/**
 * `dissect`: GAN Dissection of one layer, unit–concept IoU over `--samples` latent seeds (0 … N−1); writes
 * `units.json` and the unit-class distribution (`unit_classes.html`, and `.png` where Chromium is installed).
 */
export async function dissect(args: string[]): Promise<void> {
  const values = commandConfig(DISSECT.spec, DISSECT.info, args);
  const { checkpoint, layer, samples, batch } = values;
  await initBackend({ backend: (values.backend || undefined) as BackendName | undefined });
  const model = await loadGenerator(checkpoint);
  stageIndex(model, layer);
  const seg = await loadSegmenter(values.segmenter);
  const classes = seg.config.classes;
  const concepts = classes === SCENE_CLASSES.length
    ? SCENE_CLASSES.map((c) => c.name)
    : Array.from({ length: classes }, (_, k) => `class${k}`);
  const segmenterKey = `${basename(values.segmenter)}:${hashKey(await Deno.readFile(values.segmenter))}`;
  const gen = await createGenerator(model, {
    engine: (values.engine || undefined) as EngineName | undefined,
  });
  const result = await dissectLayer(gen, (images) => segment(seg, images), layer, {
    samples,
    batch,
    concepts,
    threshold: values.threshold as ThresholdMethod,
    cache: values.cache ? { dir: values.cache, segmenter: segmenterKey } : undefined,
  }).finally(async () => {
    await gen.dispose();
    disposeSegmenter(seg);
  });
  const out = values.out || join("results/dissection", basename(checkpoint, extname(checkpoint)), layer);
  const units = toUnitsJson(result);
  await writeJsonAtomic(join(out, "units.json"), units);
  const figure = unitClassFigure(units);
  await saveFigure(join(out, "unit_classes"), figure);
  const counts = interpretableCounts(units);
  console.log(JSON.stringify({
    out,
    layer,
    samples,
    units: units.units.length,
    interpretable: Object.fromEntries(concepts.map((c, k) => [c, counts[k]]).filter(([, n]) => n)),
    engine: gen.engine,
  }));
}

const COMMANDS: Record<string, { run: (args: string[]) => Promise<void>; about: Command }> = {
  generate: { run: generate, about: GENERATE },
  convert: { run: convert, about: CONVERT },
  fid: { run: fid, about: FID },
  prdc: { run: prdc, about: PRDC },
  dissect: { run: dissect, about: DISSECT },
  label: { run: labelCommand, about: LABEL_COMMAND },
};

/** The usage text of one command. */
function usageOf(c: Command): string {
  return usageText(c.spec, c.info);
}

/** The command line's own usage: its sub-commands, one line each. */
export function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    "usage: deno run -A lib/cli.ts <command> [flags]   (or: deno task <command> [flags])",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.about.info.summary}`),
    "",
    "`deno task <command> --help` describes a command's flags.",
  ].join("\n");
}

if (import.meta.main) {
  installErrorHandler();
  const [command, ...rest] = Deno.args;
  if (command === undefined || command === "--help" || command === "-h") {
    console.log(mainUsage());
    Deno.exit(command === undefined ? 2 : 0);
  }
  const entry = COMMANDS[command];
  if (!entry) {
    console.error(`error: unknown command "${command}"\n\n${mainUsage()}`);
    Deno.exit(2);
  }
  await entry.run(rest);
}
