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
import { parseArgs } from "node:util";
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
import { progress } from "./util/progress.ts";
import { imageGrid } from "./viz/grid.ts";
import { frechetDistance } from "./metrics/fid.ts";
import { type FeatureExtractor, FEATURES_KEY, frechetMetricName, writeFeatures } from "./metrics/features.ts";
import { loadDomainNet } from "./metrics/domain.ts";
import { loadFidInception } from "./metrics/inception.ts";
import { featuresOfInput, type InputOptions, momentsOfInput } from "./metrics/inputs.ts";
import { percentile, precisionRecall } from "./metrics/prdc.ts";
import { loadVgg16 } from "./metrics/vgg.ts";
import { SCENE_CLASSES } from "./data/scene_classes.ts";
import { dissectLayer, type ThresholdMethod, toUnitsJson } from "./dissect/unit_iou.ts";
import { disposeSegmenter, loadSegmenter, segment } from "./models/segmenter.ts";
import { hashKey } from "./stats/tally.ts";
import { interpretableCounts, unitClassFigure } from "./viz/dissection.ts";
import { saveFigureHtml } from "./viz/plotly.ts";
import { hasChromium, saveFigurePng } from "./viz/plotly_png.ts";
import { LABEL_USAGE, labelCommand } from "./correct/label_cli.ts";
import { correctionEdits, readCorrection } from "./correct/correction_file.ts";

const USAGE = `usage:
  ganatomy generate --checkpoint <file.pth|file.safetensors> (--z <z.safetensors> | --seeds 0-15)
                    [--trace layerK[,layerJ]] [--batch 8] [--engine ort|tfjs] [--device cpu|cuda]
                    [--backend wasm|cpu|tensorflow] [--correction correction.json] --out <out.safetensors|grid.png>
  ganatomy convert <in.pth> <out.safetensors>
  ganatomy fid <a> <b> [--inception <pt_inception.pth> | --net <domain net.safetensors>] [--features] [--save-a <stats.safetensors>]
               [--save-b <stats.safetensors>] [--batch 16] [--backend wasm|cpu|tensorflow]
      <a>, <b>: a folder of PNGs (needs --inception or --net), a statistics file (mu, sigma) or a feature file
  ganatomy prdc <real> <fake> [--k 3] [--out scores.json] [--vgg <vgg16.pth> | --inception <pth> | --net <domain net.safetensors>]
                [--save-real <features.safetensors>] [--save-fake <features.safetensors>] [--batch 16] [--backend …]
      <real>, <fake>: a folder of PNGs (needs --vgg, --inception or --net) or a feature file (tensor "features" [N, D])
  ganatomy dissect --checkpoint <g.pth|g.safetensors> --segmenter <segmenter.safetensors> --layer layerK
                   [--samples 1000] [--threshold quantile|iqr] [--batch 16] [--cache <dir>] [--out <units.json>]
                   [--engine ort|tfjs] [--backend …]
${LABEL_USAGE}`;

class UsageError extends Error {}

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

/** `generate`: sample a generator by seeds or given latents; write images (and traces) or a labelled grid. */
export async function generate(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      checkpoint: { type: "string" },
      z: { type: "string" },
      seeds: { type: "string" },
      trace: { type: "string" },
      out: { type: "string" },
      batch: { type: "string", default: "8" },
      backend: { type: "string" },
      engine: { type: "string" },
      device: { type: "string" },
      correction: { type: "string" },
    },
  });
  if (!values.checkpoint || !values.out) throw new UsageError("generate needs --checkpoint and --out");
  if ((values.z === undefined) === (values.seeds === undefined)) {
    throw new UsageError("generate needs exactly one of --z and --seeds");
  }
  const outKind = extname(values.out).toLowerCase();
  if (outKind !== ".png" && outKind !== ".safetensors") {
    throw new UsageError(`--out must end in .png or .safetensors, got "${values.out}"`);
  }
  const batch = Number(values.batch);
  if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch must be a positive integer`);
  if (values.engine !== undefined && values.engine !== "ort" && values.engine !== "tfjs") {
    throw new UsageError(`--engine must be ort or tfjs, got "${values.engine}"`);
  }
  if (values.device !== undefined && values.device !== "cpu" && values.device !== "cuda") {
    throw new UsageError(`--device must be cpu or cuda, got "${values.device}"`);
  }
  const info = await initBackend({ backend: values.backend as BackendName | undefined });
  const model = await loadGenerator(values.checkpoint);
  const trace = values.trace ? values.trace.split(",").map((s) => s.trim()) : [];
  for (const name of trace) stageIndex(model, name);
  const edits = values.correction
    ? correctionEdits(model, await readCorrection(values.correction))
    : undefined;

  const seeds = values.seeds === undefined ? undefined : parseSeeds(values.seeds);
  const z = values.z ? await readZ(values.z, model.zDim) : latents(seeds!, model.zDim);
  const n = z.shape[0];
  // ORT by default (tfjs, with a warning, where its native addon cannot load); tfjs tensors in and out.
  const gen = await createGenerator(model, {
    engine: values.engine as EngineName | undefined,
    device: values.device as OrtDevice | undefined,
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

/** `convert`: a checkpoint to the project's safetensors format (verified by loading it back). */
export async function convert(args: string[]): Promise<void> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 2) throw new UsageError("convert takes <in.pth> <out.safetensors>");
  const [input, output] = positionals;
  if (extname(output).toLowerCase() !== ".safetensors") throw new UsageError(`output must be .safetensors`);
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

function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  }
  return n;
}

/** `fid`: the Fréchet distance between two image sets (FID with pytorch-fid's Inception weights). */
export async function fid(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      inception: { type: "string" },
      net: { type: "string" },
      features: { type: "boolean", default: false },
      "save-a": { type: "string" },
      "save-b": { type: "string" },
      batch: { type: "string", default: "16" },
      backend: { type: "string" },
    },
  });
  if (positionals.length !== 2) throw new UsageError("fid takes two inputs <a> <b>");
  const batch = positiveInteger(values.batch, "--batch");
  await initBackend({ backend: values.backend as BackendName | undefined });
  if (values.net && values.inception) throw new UsageError("give one of --net and --inception");
  const options: InputOptions = {
    batch,
    extractor: sharedExtractor(
      values.inception
        ? () => loadFidInception(values.inception!)
        : values.net
        ? () => loadDomainNet(values.net!)
        : undefined,
    ),
    extractorHint: "pass --inception <pt_inception-2015-12-05-6726825d.pth> (pytorch-fid's weights), " +
      "or --net data/models/scenes_net.safetensors for the domain distance FD (scenes-net)",
  };
  if (values.features) {
    for (const p of positionals) {
      if (!p.endsWith(".safetensors")) {
        throw new UsageError(`--features: "${p}" is not a .safetensors feature file`);
      }
    }
  }
  const [a, b] = [
    await momentsOfInput(positionals[0], options),
    await momentsOfInput(positionals[1], options),
  ];
  if (a.features !== b.features) {
    throw new Error(
      `the inputs are in different feature spaces ("${a.features}" vs "${b.features}"); ` +
        `a distance between them means nothing`,
    );
  }
  for (const [file, m] of [[values["save-a"], a], [values["save-b"], b]] as const) {
    if (file) await m.moments.save(file, { metadata: { [FEATURES_KEY]: m.features } });
  }
  const result = frechetDistance(a.moments, b.moments);
  console.log(JSON.stringify({
    fid: result.value,
    n_a: a.moments.count,
    n_b: b.moments.count,
    metric: frechetMetricName(a.features),
    features: a.features,
  }));
}

/** `prdc`: k-NN precision, recall, density, coverage and per-sample realism of fake images against real ones. */
export async function prdc(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      k: { type: "string", default: "3" },
      out: { type: "string" },
      vgg: { type: "string" },
      inception: { type: "string" },
      net: { type: "string" },
      "save-real": { type: "string" },
      "save-fake": { type: "string" },
      batch: { type: "string", default: "16" },
      backend: { type: "string" },
    },
  });
  if (positionals.length !== 2) throw new UsageError("prdc takes two inputs <real> <fake>");
  if ([values.vgg, values.inception, values.net].filter(Boolean).length > 1) {
    throw new UsageError("give one of --vgg, --inception and --net");
  }
  const k = positiveInteger(values.k, "--k");
  const batch = positiveInteger(values.batch, "--batch");
  await initBackend({ backend: values.backend as BackendName | undefined });
  const load = values.vgg
    ? () => loadVgg16(values.vgg!)
    : values.inception
    ? () => loadFidInception(values.inception!)
    : values.net
    ? () => loadDomainNet(values.net!)
    : undefined;
  const options: InputOptions = {
    batch,
    extractor: sharedExtractor(load),
    extractorHint: "pass --vgg <vgg16.pth> (torchvision's VGG-16, the official choice), --inception <pth>, " +
      "or --net data/models/scenes_net.safetensors (a domain network)",
  };
  const real = await featuresOfInput(positionals[0], options);
  const fake = await featuresOfInput(positionals[1], options);
  if (real.name !== fake.name) {
    throw new Error(`the inputs are in different feature spaces ("${real.name}" vs "${fake.name}")`);
  }
  for (const [file, f] of [[values["save-real"], real], [values["save-fake"], fake]] as const) {
    if (file) await writeFeatures(file, f.data, { dim: f.dim, name: f.name });
  }
  const realT = tf.tensor2d(real.data, [real.count, real.dim]);
  const fakeT = tf.tensor2d(fake.data, [fake.count, fake.dim]);
  const r = await precisionRecall(realT, fakeT, { k });
  tf.dispose([realT, fakeT]);
  const realism = [...r.realism];
  if (values.out) {
    await writeJsonAtomic(values.out, {
      features: real.name,
      k,
      fake: positionals[1],
      files: fake.files?.map((f) => basename(f)) ?? null,
      realism,
      in_real_manifold: [...r.inRealManifold],
    });
  }
  console.log(JSON.stringify({
    precision: r.precision,
    recall: r.recall,
    density: r.density,
    coverage: r.coverage,
    realism: {
      mean: realism.reduce((s, v) => s + v, 0) / realism.length,
      median: percentile(realism, 50),
      min: realism.reduce((m, v) => Math.min(m, v), Infinity),
      max: realism.reduce((m, v) => Math.max(m, v), -Infinity),
    },
    n_real: r.nReal,
    n_fake: r.nFake,
    k,
    features: real.name,
  }));
}

/**
 * `dissect`: GAN Dissection of one layer, unit–concept IoU over `--samples` latent seeds (0 … N−1); writes
 * `units.json` and the unit-class distribution (`unit_classes.html`, and `.png` where Chromium is installed).
 */
export async function dissect(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      checkpoint: { type: "string" },
      segmenter: { type: "string" },
      layer: { type: "string" },
      samples: { type: "string", default: "1000" },
      threshold: { type: "string", default: "quantile" },
      batch: { type: "string", default: "16" },
      cache: { type: "string" },
      out: { type: "string" },
      engine: { type: "string" },
      backend: { type: "string" },
    },
  });
  const { checkpoint, layer } = values;
  if (!checkpoint || !values.segmenter || !layer) {
    throw new UsageError("dissect needs --checkpoint, --segmenter and --layer");
  }
  const samples = positiveInteger(values.samples, "--samples");
  const batch = positiveInteger(values.batch, "--batch");
  if (values.threshold !== "quantile" && values.threshold !== "iqr") {
    throw new UsageError(`--threshold must be quantile or iqr, got "${values.threshold}"`);
  }
  if (values.engine !== undefined && values.engine !== "ort" && values.engine !== "tfjs") {
    throw new UsageError(`--engine must be ort or tfjs, got "${values.engine}"`);
  }
  await initBackend({ backend: values.backend as BackendName | undefined });
  const model = await loadGenerator(checkpoint);
  stageIndex(model, layer);
  const seg = await loadSegmenter(values.segmenter);
  const classes = seg.config.classes;
  const concepts = classes === SCENE_CLASSES.length
    ? SCENE_CLASSES.map((c) => c.name)
    : Array.from({ length: classes }, (_, k) => `class${k}`);
  const segmenterKey = `${basename(values.segmenter)}:${hashKey(await Deno.readFile(values.segmenter))}`;
  const gen = await createGenerator(model, { engine: values.engine as EngineName | undefined });
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
  const out = values.out ?? join("results/dissection", basename(checkpoint, extname(checkpoint)), layer);
  const units = toUnitsJson(result);
  await writeJsonAtomic(join(out, "units.json"), units);
  const figure = unitClassFigure(units);
  await saveFigureHtml(join(out, "unit_classes.html"), figure);
  if (hasChromium()) await saveFigurePng(join(out, "unit_classes.png"), figure);
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

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  generate,
  convert,
  fid,
  prdc,
  dissect,
  label: labelCommand,
};

if (import.meta.main) {
  const [command, ...rest] = Deno.args;
  const run = COMMANDS[command];
  if (!run) {
    console.error(command ? `unknown command "${command}"\n${USAGE}` : USAGE);
    Deno.exit(2);
  }
  try {
    await run(rest);
  } catch (e) {
    const err = e as Error;
    const usage = err instanceof UsageError ||
      err.name === "TypeError" && /ERR_PARSE_ARGS/.test(String((e as { code?: string }).code));
    console.error(`error: ${err.message}${usage ? `\n${USAGE}` : ""}`);
    Deno.exit(usage ? 2 : 1);
  }
}
