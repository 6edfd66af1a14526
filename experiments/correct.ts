/**
 * `deno task exp:correct`: automatic correction of internal units (Tousi et al., CVPR 2021) on a shipped model,
 * every step, and the paper's table.
 *
 *     deno task exp:correct [--model scenes|fashion] [--checkpoint g.pth] [--labels labels.csv]
 *     deno task exp:correct --model churchoutdoor.pth --real churches/ --backbone resnet18.pth --labels labels.csv
 *         [--layer layer4] [--n 0.2] [--lambda 0.9] [--stop 6] [--no-sweeps] …   (--help lists every flag)
 *
 * Steps and what each writes under `<out>/<model>/` (default `results/correction/scenes/`):
 * 1. labels: seeds `0 … labelSeeds−1` labelled by the domain's criterion (`lib/correct/auto_label.ts`; or
 *    `--labels` from the labelling page) → `labels.csv`, `labels.png` (most and least flawed generations);
 * 2. classifier: artifact / normal / real on the frozen domain network, trained on 1 − heldoutShare of the
 *    labelled seeds and real images → `classifier.json` (loss, accuracy, confusion matrix on the rest),
 *    `classifier.safetensors`;
 * 3. Grad-CAM of the artifact class → artifact masks; `gradcam.png`; for scenes `cam_iou.json`: the IoU of the
 *    masks of each CAM method with the ground-truth defect maps;
 * 4. defective scores of every unit of `layer1 … stop`, both formulas → `scores.json`, `ds1_per_layer.png`,
 *    `ds2_per_layer.png`;
 * 5. baselines (random units, FID-based units) on `layer`;
 * 6. corrections: single-layer ablation of the top-n units of `layer` by each ranking, and sequential correction;
 * 7. evaluation on held-out artifact seeds → `table.json`, `table.md`, `corrected.png`, `failures.png`; sweeps
 *    over n, lambda and the stopping layer → `sweeps.json`, `sweep_*.png`; the sequential correction itself →
 *    `correction.json` (`deno task generate --correction correction.json` samples the corrected generator);
 * and `meta.json`. `<out>/table.md` gathers the tables of every model run so far, one column per model.
 *
 * Seeds: labelled seeds and real images are split by a seeded shuffle into classifier-training and held-out
 * parts; the scores and corrections are fitted on training artifact seeds (`fitArtifacts` of them) and the table
 * is measured on held-out artifact seeds (up to `evalArtifacts`), against held-out real images.
 *
 * Resuming: each finished step is cached under `cache/` (`lib/util/experiment.ts`) by a hash of its inputs (the
 * generator's weights, the domain, the classifier's head, the seeds and every option the step reads), so a re-run
 * with the same flags continues after the last finished step, and a changed option reruns what it changes.
 *
 * In-process: `await run({ ...defaults(CONFIG), model: "fashion" })` (`defaults` from `lib/util/config.ts`) runs
 * the same steps and returns the output folder and the table. The method's steps are in `lib/correct/`.
 *
 * @module
 */
import { join } from "node:path";
import type * as tf from "@tensorflow/tfjs-core";
import * as lib from "../lib/mod.ts";
import { commandConfig, type Config, existsPath, usage, UsageError } from "../lib/util/config.ts";
import { Experiment } from "../lib/util/experiment.ts";
import * as flags from "../lib/util/flags.ts";
const { BACKEND_WASM, batchFlag, choiceFlag, ENGINE, FIGURE_PNG, fileFlag, intFlag, numFlag } = flags;

const file = (help: string, meta = "<file>") => fileFlag(help, "", meta);

export const CONFIG = {
  model: {
    default: "scenes",
    help: "a shipped domain, or a generator checkpoint (then --real, --backbone, --labels)",
    meta: "<scenes|fashion|file>",
  },
  checkpoint: file("a generator checkpoint of the domain's image size instead of the shipped one"),
  real: file("a checkpoint's real images: a folder of PNGs", "<dir>"),
  backbone: file("a checkpoint's frozen backbone: torchvision ResNet-18 weights"),
  backboneSize: intFlag(0, "resize images to this before the ResNet (0: the generator's size)", 0, 1024),
  inception: file("pytorch-fid's Inception weights: FD becomes FID (default: the backbone's features)"),
  labels: file("a label file (e.g. from `deno task label`) instead of the automatic labeller"),
  labelSeeds: intFlag(2400, "seeds 0 … labelSeeds−1 are labelled", 10),
  labelRule: choiceFlag("rank", "labeller: rank (most/least flawed shares) or cutoffs", ["rank", "cutoffs"]),
  labelFraction: numFlag(0.3, "rank rule: the share labelled artifact, and that labelled normal", 0.01, 0.5),
  artifactAbove: numFlag(0.05, "cutoffs rule: artifact at or above this score", 0, 1),
  normalBelow: numFlag(0.01, "cutoffs rule: normal at or below this score", 0, 1),
  realImages: intFlag(800, 'real images in the classifier\'s data (class "real")'),
  heldoutShare: numFlag(0.25, "share of labelled seeds and real images the classifier holds out", 0.05, 0.9),
  headSteps: intFlag(500, "Adam steps of the classifier's fully connected layer"),
  cam: choiceFlag("gradcam", "CAM method of the artifact masks", ["gradcam", "gradcam++", "scorecam"]),
  camThreshold: numFlag(0.5, "artifact mask = normalised CAM above this", 0, 1),
  tau: numFlag(0.005, "unit thresholds T_u: P(a_u > T_u) = tau", 1e-6, 0.5),
  thresholdSeeds: intFlag(500, "generations (seeds 0 … n−1) whose activations set the thresholds"),
  layer: { default: "layer4", help: "the layer of the single-layer rows", meta: "<layer>" },
  n: { default: 0.2, help: "units corrected per layer: a fraction (< 1) or a count", min: 0 },
  lambda: numFlag(0.9, "scale λ of sequential correction: units × λ·(1 − DS) or 1 − λ·DS", 0, 1),
  stop: intFlag(6, "sequential correction: layer1 … layer<stop>"),
  rule: choiceFlag("lambda(1-ds)", "rescaling rule (lib/correct/sequential.ts)", [
    "lambda(1-ds)",
    "1-lambda·ds",
  ]),
  fitArtifacts: intFlag(200, "training artifact seeds the scores are fitted on"),
  evalArtifacts: intFlag(200, "held-out artifact seeds the table is measured on (at most)"),
  fidSeeds: intFlag(1000, "FID-based baseline: generations the units' top images come from"),
  fidTopK: intFlag(100, "FID-based baseline: top images per unit", 2),
  realReference: intFlag(2000, "held-out real images of the metrics", 2),
  sweeps: { default: true, help: "run the sweeps of n, λ and the stopping layer" },
  sweepN: { default: [0.05, 0.1, 0.2, 0.35, 0.5], help: "sweep of n (units corrected per layer)", min: 0 },
  sweepLambda: { default: [0.5, 0.7, 0.9, 1], help: "sweep of λ", min: 0, max: 1 },
  sweepStop: { default: [1, 2, 4, 6, 8], help: "sweep of the stopping layer", integer: true, min: 1 },
  sweepFit: intFlag(100, "fit seeds per sweep point (of --fit-artifacts)"),
  show: intFlag(8, "images per row of the grids", 1, 64),
  seed: intFlag(0, "seed of every random choice (splits, random units, training)", 0),
  batch: batchFlag(32),
  backend: BACKEND_WASM,
  engine: { ...ENGINE, default: "ort", defaultText: undefined },
  out: { default: "results/correction", help: "output folder", meta: "<dir>" },
  figurePng: FIGURE_PNG,
};

const INFO = {
  command: "deno task exp:correct",
  summary: "Automatic correction of internal units (Tousi et al.): labels, classifier, Grad-CAM, " +
    "defective scores, baselines, corrections, table.",
  validate: (c: Record<string, unknown>) =>
    (lib.DOMAINS as readonly string[]).includes(c.model as string) || existsPath(c.model as string)
      ? undefined
      : `--model ${c.model}: neither a shipped domain (${lib.DOMAINS.join(", ")}) nor an existing checkpoint`,
};

/** What {@link run} made: the model's output folder, its table and its `meta.json`. */
export type CorrectRun = { out: string; table: lib.CorrectionTable; meta: string };

/**
 * Every step of the module documentation for one model; `log` receives the progress lines (default stderr).
 * Each step's inputs are named as the options of the lib call it makes, plus what identifies the models.
 */
export async function run(
  config: Config<typeof CONFIG>,
  options: { log?: (line: string) => void } = {},
): Promise<CorrectRun> {
  const { batch, layer, show, tau, fidTopK: topK, realReference: reference } = config;
  const info = await lib.initBackend({ backend: config.backend as lib.BackendName });
  console.error(`tfjs backend: ${info.backend}, ${info.threads} thread(s)`);
  const loading = performance.now();
  const domain = await lib.openDomain({ ...config, engine: config.engine as lib.EngineName });
  const disposals: (() => unknown)[] = [() => domain.dispose()];
  try {
    const { gen, features } = domain;
    const layers = gen.model.stages.slice(0, -1).map((s) => s.name);
    const stops = [config.stop, ...(config.sweeps ? config.sweepStop : [])];
    const problem = lib.layerProblem(domain, layer, stops); // before any long step
    if (problem) throw new UsageError(problem, usage(CONFIG, INFO));
    const out = join(config.out, domain.name);
    const exp = new Experiment("correct", config, { out, figurePng: config.figurePng, log: options.log });
    exp.run.timings.load = (performance.now() - loading) / 1000;
    // What every step depends on: the generator's weights, the domain, its networks and data (files by content).
    const models = await lib.domainKey(domain, { ...config, files: [config.backbone, config.inception] });
    const seeds = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
    const png = async (name: string, image: Promise<lib.RawImage>) =>
      lib.savePng(join(out, name), await image);

    // 1. Labels.
    let labels: lib.LabelSet;
    if (config.labels) {
      labels = await lib.readLabels(config.labels);
      exp.say(`labels from ${config.labels}`);
    } else {
      const { labelFraction: fraction, artifactAbove, normalBelow } = config;
      const rule = config.labelRule as "rank" | "cutoffs";
      const cut = { rule, fraction, artifactAbove, normalBelow };
      const inputs = { models, seeds: seeds(config.labelSeeds), ...cut, batch };
      const auto = await exp.step("labels", inputs, (o) => lib.autoLabel(gen, domain.criterion!, o));
      labels = lib.autoLabelSet(auto);
      await png("labels.png", lib.labelGrid(gen, auto, show)); // the extremes, for a person to check
    }
    await lib.writeLabels(join(out, "labels.csv"), labels);
    const counts = lib.countLabels(labels);
    exp.say(`labels: ${counts.artifact} artifact, ${counts.normal} normal, ${counts.skip} skipped`);
    lib.checkLabelCounts(counts, {
      min: 10,
      hint: config.labels ? ` in ${config.labels}` : "; try --label-rule rank",
    });

    // 2. The artifact classifier.
    const split = { realImages: config.realImages, heldoutShare: config.heldoutShare, seed: config.seed };
    const splits = lib.artifactSplits(labels, split);
    const classifierInputs = { models, labels: [...labels], ...split, steps: config.headSteps, batch };
    const trained = await exp.step(
      "classifier",
      classifierInputs,
      (o) => lib.trainArtifactRecord(domain, labels, o),
    );
    const { report } = trained;
    const classifier = lib.recordClassifier(domain.backbone, trained);
    disposals.push(() => classifier.dispose());
    await classifier.save(join(out, "classifier.safetensors"));
    await exp.json("classifier.json", report);
    exp.say(
      `classifier (${domain.backbone.name} + fc): held-out accuracy ${report.heldout.accuracy.toFixed(3)}, ` +
        `confusion ${JSON.stringify(report.heldout.confusion)}`,
    );

    // 3. Grad-CAM: the artifact masks, and how well each CAM method finds the defects.
    const fitSeeds = splits.artifact.train.slice(0, config.fitArtifacts);
    const evalSeeds = splits.artifact.heldout.slice(0, config.evalArtifacts);
    const head = lib.hashKey(trained.head);
    const mask = { method: config.cam as lib.CamMethodName, threshold: config.camThreshold };
    const masks = (m: typeof mask) => lib.artifactMasks(classifier, m);
    const cams = { ...mask, target: lib.ARTIFACT, truth: domain.truthMasks };
    await png("gradcam.png", lib.camGrid(classifier, gen, fitSeeds.slice(0, show), cams));
    if (domain.truthMasks) {
      const { threshold } = mask;
      const byMethod = Object.fromEntries(
        lib.CAM_METHOD_NAMES.map((m) => [m, masks({ method: m, threshold })]),
      );
      const camIou = await exp.step(
        "cam_iou",
        { models, head, seeds: fitSeeds, threshold, batch },
        (o) =>
          lib.camMaskAgreement(o.seeds, (part) => lib.generateImages(gen, part), {
            masks: byMethod,
            truth: domain.truthMasks!,
            batch: o.batch,
          }),
      );
      await exp.json("cam_iou.json", camIou);
      const ious = Object.entries(camIou).map(([k, v]) => `${k} ${v.iou.toFixed(3)}`);
      exp.say(`CAM masks vs defect maps (mean IoU): ${ious.join(", ")}`);
    }

    // 4. Defective scores of every layer up to the stopping layer; thresholds over images of every label.
    const thresholdSeeds = seeds(config.thresholdSeeds);
    const fit = { models, head, seeds: fitSeeds, thresholdSeeds, tau, mask, batch };
    const scores: Record<string, lib.DefectiveScoresJSON> = {};
    for (const l of new Set([...lib.layersUpTo(gen.model, config.stop), layer])) {
      const score = async (o: typeof fit & { layer: string }) =>
        lib.defectiveScoresToJSON(await lib.defectiveScores(gen, o.layer, { ...o, masks: masks(o.mask) }));
      scores[l] = await exp.step(`scores-${l}`, { ...fit, layer: l }, score);
    }
    await exp.json("scores.json", scores);
    for (const f of [1, 2] as const) {
      await exp.figure(`ds${f}_per_layer`, lib.defectiveScoreFigure(scores, f));
    }

    // 5. Baselines (the random units are drawn with the table's rows).
    const realSide = () => lib.realReference(domain.realHeldout, features, { count: reference });
    const real = await exp.run.time("real reference", realSide);
    disposals.push(() => real.dispose());
    const fidInputs = { models, layer, seeds: seeds(config.fidSeeds, 5_000_000), topK, reference, batch };
    const fidBased = await exp.step(
      "fid-based",
      fidInputs,
      async (o) =>
        Array.from(await lib.fidBasedScores(gen, o.layer, { ...o, extractor: features, real: real.stats })),
    );

    // 6. Corrections: sequential (by each reading of the rule), and single-layer ablations.
    const sequential = (p: lib.CorrectionParams, seeds: number[], rule = config.rule as lib.ScaleRule) =>
      exp.step(
        `seq-${p.n}-${p.lambda}-${p.stop}-${seeds.length}${rule === "lambda(1-ds)" ? "" : "-gentle"}`,
        { ...fit, seeds, ...p, rule },
        async (o): Promise<lib.CorrectedLayer[]> =>
          (await lib.sequentialCorrection(gen, { ...o, masks: masks(o.mask) })).steps
            .map(({ layer, units, scales }) => ({ layer, units, scales })),
      );
    const base = { n: config.n, lambda: config.lambda, stop: config.stop };
    const seq = await sequential(base, fitSeeds);
    // The correction as a file: `deno task generate --checkpoint … --correction correction.json` samples it.
    const file = lib.makeCorrection("sequential", seq, {
      checkpoint: domain.checkpoint,
      ...base,
      rule: config.rule,
      formula: 1,
      tau,
      cam: config.cam,
      fitArtifacts: fitSeeds.length,
    });
    await lib.writeCorrection(join(out, "correction.json"), file);
    const other = config.rule === "lambda(1-ds)" ? "1-lambda·ds" : "lambda(1-ds)"; // for comparison
    const rows = lib.tableCorrections(gen.model, {
      layer,
      ...base,
      seed: config.seed,
      scores: { fid_based: fidBased, ds1: scores[layer].ds1, ds2: scores[layer].ds2 },
      sequential: { seq, seq_gentle: await sequential(base, fitSeeds, other) },
    });

    // 7. Evaluation on held-out artifact seeds: the table, the grids, the sweeps.
    const extras = {
      p_artifact: (images: tf.Tensor4D) => classifier.artifactProbability(images),
      ...(domain.defectFraction ? { defect_fraction: domain.defectFraction } : {}),
    };
    const evaluate = (name: string, edits: lib.Edits) =>
      exp.step(
        `eval-${name}`,
        { models, head, edits, seeds: evalSeeds, reference, batch },
        (o) => lib.evaluateGenerations(gen, o.seeds, { ...o, extractor: features, real, extras }),
      );
    const metrics: Record<string, lib.GenerationMetrics> = {};
    for (const [name, row] of Object.entries(rows)) metrics[name] = await evaluate(name, row.edits);
    const table = lib.correctionTable(domain, rows, metrics, evalSeeds.length);
    await exp.json("table.json", table);
    const note = lib.tableNote(reference, features.name, Boolean(domain.truthMasks));
    const md = lib.tableMarkdown(table, { note });
    await lib.writeFileAtomic(join(out, "table.md"), md + "\n");
    console.log(md);
    await png("corrected.png", lib.correctedGrid(gen, evalSeeds.slice(0, show), rows));
    const failures = await lib.failureCases(gen, evalSeeds, { edits: rows.seq.edits, count: show, batch });
    await png("failures.png", lib.failureGrid(gen, failures, rows.seq.edits));
    if (config.sweeps) {
      const sweepSeeds = fitSeeds.slice(0, config.sweepFit);
      const grid = { n: config.sweepN, lambda: config.sweepLambda, stop: config.sweepStop };
      const sweeps = await lib.runSweeps(base, grid, async (p) => {
        const steps = lib.makeCorrection("sequential", await sequential(p, sweepSeeds));
        const edits = lib.correctionEdits(gen.model, steps);
        const name = `seq-${p.n}-${p.lambda}-${p.stop}-${sweepSeeds.length}`;
        return lib.sweepMetrics(await evaluate(name, edits), ["p_artifact"]);
      }, { maxStop: layers.length });
      const none = { label: rows.none.label, ...metrics.none };
      await exp.json("sweeps.json", { fit: sweepSeeds.length, none, sweeps });
      for (const p of lib.SWEPT_PARAMS) {
        await exp.figure(
          `sweep_${p}`,
          lib.sweepFigure(p, sweeps[p], { metric: table.metric, uncorrected: none.fd }),
        );
      }
    }

    // Every model's table side by side.
    const tables = await lib.readCorrectionTables(config.out);
    await lib.writeFileAtomic(join(config.out, "table.md"), lib.combinedTableMarkdown(tables) + "\n");
    const meta = await exp.finish({
      labels: counts,
      fitArtifacts: fitSeeds.length,
      evalArtifacts: evalSeeds.length,
      classifierHeldoutAccuracy: report.heldout.accuracy,
    });
    exp.say(`done: ${out}`);
    return { out, table, meta };
  } finally {
    for (const dispose of disposals.reverse()) await dispose();
  }
}

if (import.meta.main) await run(commandConfig(CONFIG, INFO));
