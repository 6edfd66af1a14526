/**
 * `deno task exp:dissect`: GAN Dissection of a scenes generator (Bau et al. 2019) — which units draw which
 * concepts, and what happens when they are switched off or forced on. In-process: `run(config)`.
 *
 * Writes under `<out>/<model>/`: per layer `units.json`, `unit_classes.png/.html` and `top_units.png`;
 * `layers.png/.html`; `interventions.json`: removal of `--remove` by `--remove-layer`'s units ranked by
 * `--remove-by` (the optimised causal set, IoU or single-unit ACE) with a random control, insertion of
 * `--insert` on `--insert-layer` (on `--insert-on` vs in the sky), the rankings compared; `remove_trees.png`,
 * `insert_doors.png`, `ace_vs_iou.png/.html`; `meta.json`; `cache/`: the dissection's passes and every step,
 * keyed by its inputs, so that a re-run reuses them. The methods and figures are `lib/dissect/`
 * (`dissect_layer.ts`, `removal.ts`, `insertion.ts`, `figures.ts`).
 *
 * Seeds: the dissection uses `0 … samples−1`, the insertion values, the ACE ranking and the causal set the
 * first of those; every intervention is measured on the held-out seeds `heldoutSeedOffset + 0 … heldout−1`.
 *
 * @module
 */
import { basename, extname, join } from "node:path";
import { type BackendName, initBackend } from "../lib/backend/backend.ts";
import * as dissect from "../lib/dissect/mod.ts";
import { createGenerator, type EngineName } from "../lib/engine/select.ts";
import { hashKey } from "../lib/io/hash.ts";
import { savePng } from "../lib/io/png.ts";
import { loadGenerator } from "../lib/models/load.ts";
import { disposeSegmenter, forward, loadSegmenter, segment } from "../lib/models/segmenter.ts";
import { type GeneratorDescription, stageIndex } from "../lib/models/stages.ts";
import { commandConfig, type Config } from "../lib/util/config.ts";
import { Experiment } from "../lib/util/experiment.ts";
import { BACKEND_WASM, batchFlag, ENGINE, FIGURE_PNG, fileFlag, intFlag } from "../lib/util/flags.ts";

export const CONFIG = {
  model: fileFlag("generator checkpoint (.safetensors or .pth)", "data/models/scenes_pggan64.safetensors"),
  segmenter: fileFlag(
    "the segmenter (per-class labels) the concepts come from",
    "data/models/scenes_segmenter.safetensors",
  ),
  layers: { default: ["layer4", "layer6"], help: "layers to dissect", meta: "<layer,…>" },
  samples: intFlag(2000, "dissection latents: seeds 0 … samples−1", 10),
  heldout: intFlag(200, "held-out latents of every intervention measurement"),
  heldoutSeedOffset: intFlag(1_000_000, "the held-out latents are seeds offset + 0 … heldout−1", 0),
  interventions: {
    default: true,
    help: "run the interventions after the dissection (removal, insertion, rankings)",
  },
  remove: { default: "tree", help: "removal: the concept to remove", meta: "<concept>" },
  removeLayer: { default: "layer4", help: "removal: the layer whose units are ablated", meta: "<layer>" },
  removeBy: {
    default: "causal",
    help: "removal: rank units by the optimised causal set, IoU, or single-unit ACE",
    choices: ["causal", "iou", "ace"],
  },
  removeUnits: {
    default: [0, 5, 10, 20],
    help: "removal: ablate this many of the best units (one grid row each)",
    integer: true,
    min: 0,
  },
  causalSamples: intFlag(64, "causal set: dissection seeds it is optimised on"),
  causalEpochs: intFlag(10, "causal set: passes over them (Adam, lr 0.01, batch --batch)"),
  causalL2: { default: 0.005, help: "causal set: weight of the L2 penalty on α", min: 0 },
  curveUnits: {
    default: [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20],
    help: "points (unit counts) of the ranking curves",
    integer: true,
    min: 1,
  },
  aceSamples: intFlag(64, "dissection seeds of the single-unit ACE ranking (2 runs per unit and sample)"),
  aceCandidates: intFlag(0, "units ranked by single-unit ACE: 0 = all, n = the n best by IoU", 0),
  insert: { default: "door", help: "insertion: the concept to insert", meta: "<concept>" },
  insertLayer: { default: "layer6", help: "insertion: the layer whose units are set", meta: "<layer>" },
  insertUnits: intFlag(20, "insertion: this many of the layer's best units by IoU"),
  insertOn: {
    default: "wall",
    help: "insertion: in a box where this concept is densest (compared with the sky)",
    meta: "<concept>",
  },
  insertBox: intFlag(16, "insertion: box side in pixels (a multiple of the layer's cell)"),
  minShare: {
    default: 0.5,
    help: "insertion: a box counts when at least this share of it is the concept (or sky)",
    min: 0,
    max: 1,
  },
  meansSamples: intFlag(500, "dissection seeds of the insertion values (presence-weighted mean activations)"),
  show: intFlag(8, "images per row of the figures", 1, 64),
  topImages: intFlag(6, "top-activating images per unit in top_units.png", 1, 64),
  batch: batchFlag(16),
  backend: BACKEND_WASM,
  engine: { ...ENGINE, default: "ort", defaultText: undefined },
  out: { default: "results/dissection", help: "output folder", meta: "<dir>" },
  figurePng: FIGURE_PNG,
};

const INFO = {
  command: "deno task exp:dissect",
  summary:
    "GAN Dissection of a generator: units per concept, top-unit strips, removal by the causal set, insertion in context.",
};

/** What a run wrote: its folder, and the summary it printed on stdout. */
export type DissectRun = { out: string; summary: Record<string, unknown> };

/** The checks across flags and against the model, before any work (each flag's own are the spec's). */
function check(config: Config<typeof CONFIG>, model: GeneratorDescription): void {
  const { samples, heldoutSeedOffset: offset, insertBox: box, insertLayer } = config;
  if (offset < samples) {
    throw new Error(`--heldout-seed-offset ${offset} overlaps the ${samples} samples' seeds`);
  }
  const stageOf = (flag: string, name: string) => {
    try {
      return model.stages[stageIndex(model, name)];
    } catch (e) {
      throw new Error(`--${flag} ${name}: ${(e as Error).message} (${config.model})`);
    }
  };
  config.layers.forEach((layer) => stageOf("layers", layer));
  if (!config.interventions) return;
  const units = stageOf("remove-layer", config.removeLayer).channels;
  const cell = model.resolution / stageOf("insert-layer", insertLayer).size;
  if (!(box >= cell && box % cell === 0)) {
    throw new Error(`--insert-box must be a multiple of ${insertLayer}'s cell of ${cell} pixels, got ${box}`);
  }
  const ranked = Math.min(units, (config.removeBy === "ace" && config.aceCandidates) || units);
  if (Math.max(...config.removeUnits) > ranked) throw new Error(`--remove-units: ${ranked} units are ranked`);
  const concepts = dissect.sceneConcepts();
  for (const c of [config.remove, config.insert, config.insertOn]) dissect.conceptIndex(concepts, c);
}

/** GAN Dissection of `config.model`, then the interventions (see the module documentation). */
export async function run(config: Config<typeof CONFIG>): Promise<DissectRun> {
  const { batch, remove, insert } = config;
  const backend = await initBackend({ backend: config.backend as BackendName });
  const model = await loadGenerator(config.model);
  check(config, model);
  const out = join(config.out, basename(config.model, extname(config.model)));
  const exp = new Experiment("dissect", config, { out, figurePng: config.figurePng });
  exp.say(`tfjs backend: ${backend.backend}, ${backend.threads} thread(s)`);
  const segmenterModel = await loadSegmenter(config.segmenter);
  const segmenter: dissect.SegmentFn = (images) => segment(segmenterModel, images);
  const gen = await createGenerator(model, { engine: config.engine as EngineName });
  // What every step depends on besides its options: the weights, the segmenter, and what runs them.
  const [weights, segmenterHash] = [hashKey(model), hashKey(await Deno.readFile(config.segmenter))];
  const ids = { model: weights, segmenter: segmenterHash, engine: gen.engine, backend: backend.backend };
  const concepts = dissect.sceneConcepts();
  const seeds = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i);
  const dissectionSeeds = seeds(0, config.samples);
  const heldout = seeds(config.heldoutSeedOffset, config.heldout);
  const both = config.interventions ? [config.removeLayer, config.insertLayer] : [];
  const layers = [...new Set([...config.layers, ...both])];
  const summary: Record<string, unknown> = { out };
  try {
    // The dissection of every layer (its passes cached by tally), its units.json and figures.
    const dissections = new Map<string, dissect.LayerDissection>();
    const cache = { dir: exp.cacheDir, segmenter: `${basename(config.segmenter)}:${ids.segmenter}` };
    const options = { samples: dissectionSeeds, batch, concepts, cache };
    const dissectOf = (layer: string) => dissect.dissectLayer(gen, segmenter, layer, options);
    for (const layer of layers) {
      const d = await exp.run.time(`dissect ${layer}`, () => dissectOf(layer));
      const units = dissect.toUnitsJson(d);
      dissections.set(layer, d);
      await exp.json(join(layer, "units.json"), units);
      await exp.figure(join(layer, "unit_classes"), dissect.unitClassFigure(units));
      const top = dissect.pickTopUnits(units);
      const strips = await dissect.topUnitStrips(gen, layer, top, { images: config.topImages });
      await savePng(join(out, layer, "top_units.png"), strips);
    }
    const unitsJson = [...dissections.values()].map((d) => dissect.toUnitsJson(d));
    await exp.figure("layers", dissect.layerComparisonFigure(unitsJson));
    const interpretable = unitsJson.map((u) => [u.layer, dissect.interpretableByConcept(u)]);
    summary.interpretable_units = Object.fromEntries(interpretable);
    if (config.interventions) {
      // Insertion values: the units' presence-weighted means per concept, on the first dissection seeds.
      const valuesOf = async (layer: string, concept: string) => {
        const samples = dissectionSeeds.slice(0, config.meansSamples);
        const inputs = { ...ids, layer, samples, batch, concepts: concepts.length };
        const collect = (i: typeof inputs) => dissect.collectConceptMeans(gen, segmenter, layer, i);
        const means = await exp.step(`means-${layer}`, inputs, (i) => collect(i).then((m) => m.toJSON()));
        const { sketch } = dissections.get(layer)!;
        return dissect.conceptInsertionValues({ means, sketch, concept, concepts });
      };
      const iouOf = (layer: string, concept: string) => dissect.conceptIoU(dissections.get(layer)!, concept);
      const removing = { ...ids, layer: config.removeLayer, concept: remove, concepts, batch };
      const { values: removeValues, kind: removeKind } = await valuesOf(config.removeLayer, remove);
      const rankings = await exp.step("rankings", {
        ...removing,
        iou: iouOf(config.removeLayer, remove),
        values: removeValues,
        aceSeeds: dissectionSeeds.slice(0, config.aceSamples),
        aceCandidates: config.aceCandidates,
        causalSeeds: dissectionSeeds.slice(0, config.causalSamples),
        epochs: config.causalEpochs,
        l2: config.causalL2,
      }, (i) => dissect.rankRemovalUnits(gen, segmenter, (images) => forward(segmenterModel, images), i));
      const { causal, iou, ace } = rankings;
      const removal = await exp.step("removal", {
        ...removing,
        ranking: rankings[config.removeBy as "causal" | "iou" | "ace"],
        counts: config.removeUnits,
        values: removeValues,
        seeds: heldout,
        controlSeed: config.heldoutSeedOffset,
      }, (i) => dissect.measureRemoval(gen, segmenter, i));
      const counts = config.curveUnits.filter((k) => k >= 1 && k <= ace.length);
      const { before } = removal;
      const curveInputs = { ...removing, rankings: { causal, iou, ace }, counts, seeds: heldout, before };
      const curves = await exp.step("curves", curveInputs, (i) => dissect.removalCurves(gen, segmenter, i));
      const { values: insertValues, kind: insertKind } = await valuesOf(config.insertLayer, insert);
      const on = config.insertOn === "wall" ? "on_building" : `on_${config.insertOn}`;
      const inserting = { ...ids, layer: config.insertLayer, concept: insert, concepts, batch };
      const insertion = await exp.step("insertion", {
        ...inserting,
        seeds: heldout,
        units: dissect.unitsByScore(iouOf(config.insertLayer, insert)).slice(0, config.insertUnits),
        values: insertValues,
        places: { [on]: config.insertOn, in_sky: "sky" },
        box: config.insertBox,
        minShare: config.minShare,
      }, (i) => dissect.measureInsertion(gen, segmenter, i));

      // The figures, on the first `--show` held-out images generated again.
      const shown = heldout.slice(0, config.show);
      const removed = await dissect.removalFigure(gen, segmenter, removal, { seeds: shown, concept: remove });
      await savePng(join(out, `remove_${remove}s.png`), removed.image);
      const insertedOn = { seeds: shown, values: insertValues, concept: insert };
      const inserted = await dissect.insertionFigure(gen, segmenter, insertion, insertedOn);
      await savePng(join(out, `insert_${insert}s.png`), inserted.image);
      const curveData = { layer: config.removeLayer, concept: remove, counts, removed: curves };
      await exp.figure("ace_vs_iou", dissect.removalCurvesFigure(curveData));

      const { layer, ...measured } = removal;
      const { layer: at, units, box, min_share, added, detail } = insertion;
      await exp.json("interventions.json", {
        model: config.model,
        heldout_seeds: [heldout[0], heldout.at(-1)],
        removal: { [remove]: { layer, ranking: config.removeBy, ...measured, insertion_values: removeKind } },
        insertion: { [insert]: { layer: at, units, values: insertKind, box, min_share, ...added, detail } },
        ace_vs_iou: {
          concept: remove,
          layer,
          before,
          ace_samples: Math.min(config.aceSamples, config.samples),
          causal_samples: Math.min(config.causalSamples, config.samples),
          ...dissect.rankingsJson(rankings, curves, counts),
        },
      });
      summary.removal = { [remove]: { units: removal.units, before: removal.before, after: removal.after } };
      summary.insertion = { [insert]: added };
    }
  } finally {
    await gen.dispose();
    disposeSegmenter(segmenterModel);
  }
  const perSample = layers.map((l) => [`dissect ${l}`, exp.run.timings[`dissect ${l}`] / config.samples]);
  const note = "a dissection's time is ~0 when the tally cache (cache/) already held it";
  const [engine, interpretable_units] = [gen.engine, summary.interpretable_units];
  await exp.finish({ engine, interpretable_units, seconds_per_sample: Object.fromEntries(perSample), note });
  console.log(JSON.stringify({ ...summary, seconds: exp.run.meta().seconds }));
  return { out, summary };
}

if (import.meta.main) await run(commandConfig(CONFIG, INFO));
