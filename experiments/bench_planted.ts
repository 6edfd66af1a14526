/**
 * `deno task bench:planted`: the planted-artifact benchmark. From each shipped generator it builds planted
 * variants with known culprits (`lib/planted/plant.ts`), writes each as a checkpoint that every command accepts
 * (`--checkpoint <out>/<config>/planted.safetensors`), and scores every identification method and its correction
 * against the clean twin (`lib/planted/benchmark.ts`).
 *
 *     deno task bench:planted [--models fashion,scenes] [--counts 1,4] [--quick]   (--help lists every flag)
 *
 * Configurations: every model × layer (`middle`: the 8×8 layer, `later`: the 16×16 one) × footprint (units that
 * fire locally or broadly, `lib/planted/units.ts`) × count, amplified; the same at the first count inverted; and
 * per model the clean generator as a control (no culprits: the oracle must find no artifacts). Each planting's
 * strength is the smallest of `--strengths` at which the flaw is clearly visible in at least `--min-damaged` of
 * the calibration seeds (2% of their pixels off by more than 0.5, a quarter of the value range).
 *
 * Writes `<out>/summary.json` (`{configs: {<config>: {planting, labels, heldout, methods: {<method>:
 * {restoration, damage, ap, precision_at_k, …}}}}}`, intervals as `{estimate, lo, hi, sd}`), `<out>/summary.md`
 * (one table per configuration and the summary), `<out>/<config>/planted.safetensors` and `samples.png` (clean,
 * planted, and the culprits ablated, on the first held-out seeds), `meta.json`; steps are cached by their inputs.
 *
 * @module
 */
import { join } from "node:path";
import * as lib from "../lib/mod.ts";
import * as planted from "../lib/planted/mod.ts";
import { commandConfig, type Config } from "../lib/util/config.ts";
import { Experiment } from "../lib/util/experiment.ts";
import { BACKEND_WASM, batchFlag, ENGINE, intFlag } from "../lib/util/flags.ts";

export const CONFIG = {
  models: {
    default: ["fashion", "scenes"],
    help: "shipped generators to plant in",
    choices: ["fashion", "scenes"],
  },
  layers: {
    default: ["middle", "later"],
    help: "middle: the 8×8 layer; later: the 16×16 one",
    choices: ["middle", "later"],
  },
  footprints: { default: ["local", "broad"], help: "where the culprits fire", choices: ["local", "broad"] },
  counts: { default: [1, 4], help: "culprits per planting", integer: true, min: 1 },
  invert: { default: true, help: "also plant inverted units (at the first count)" },
  strengths: { default: [5, 8, 12, 20], help: "candidate strengths, smallest first", min: 1 },
  minDamaged: {
    default: 0.2,
    help: "a strength is used when its flaw is visible in at least this share of seeds",
    min: 0,
    max: 1,
  },
  calibrationSeeds: intFlag(100, "seeds the strength is calibrated on"),
  fitSeeds: intFlag(600, "seeds labelled and fitted on (0 … n−1)"),
  heldoutSeeds: intFlag(400, "held-out seeds the repairs are measured on (from 1,000,000)"),
  randomDraws: intFlag(20, "random rankings per configuration"),
  maxArtifact: intFlag(200, "at most this many artifact seeds are scored (of the fit seeds)"),
  perUnitSeeds: intFlag(64, "artifact seeds of the single-unit ablation ranker"),
  realImages: intFlag(800, "real images in the artifact classifier's data"),
  autoLabels: {
    default: true,
    help: "also run every method from the domain's automatic labeller (end to end)",
  },
  quick: { default: false, help: "a small run for tests: fashion only, one layer, counts 2, few seeds" },
  batch: batchFlag(32),
  backend: BACKEND_WASM,
  engine: { ...ENGINE, default: "ort", defaultText: undefined },
  out: { default: "results/planted", help: "output folder", meta: "<dir>" },
};

const INFO = {
  command: "deno task bench:planted",
  summary:
    "Planted-artifact benchmark: known culprits, every identification method scored against the clean twin.",
};

/** Settings of `--quick`. */
const QUICK = {
  models: ["fashion"],
  layers: ["middle"],
  counts: [2],
  invert: false,
  calibrationSeeds: 40,
  fitSeeds: 120,
  heldoutSeeds: 60,
  randomDraws: 5,
  maxArtifact: 40,
  perUnitSeeds: 16,
  realImages: 100,
};

const SHIPPED: Record<string, string> = {
  fashion: "data/models/fashion_pggan32.safetensors",
  scenes: "data/models/scenes_pggan64.safetensors",
};

/** The benchmark (see the module documentation); returns the summary. */
export async function run(config: Config<typeof CONFIG>): Promise<planted.Summary> {
  const c = config.quick ? { ...config, ...QUICK } : config;
  await lib.initBackend({ backend: c.backend as lib.BackendName });
  const exp = new Experiment("bench:planted", c, { out: c.out, figurePng: false });
  const seeds = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
  const engine = c.engine as lib.EngineName;
  const { batch, randomDraws, maxArtifact, perUnitSeeds, realImages } = c;
  const summary: planted.Summary = { configs: {} };
  for (const model of c.models) {
    const path = SHIPPED[model];
    const raw = await lib.readGeneratorWeights(path);
    const description = await lib.loadGenerator(path);
    const weights = lib.hashKey(description);
    const clean = await lib.createGenerator(description, { engine });
    const domain = await lib.loadDomain(model, { engine }); // its real images and frozen backbone
    try {
      for (const cell of planted.plantingGrid(description, c)) {
        const name = `${model}_${cell.name}`;
        // 1. The culprits: units of the cell's footprint, by their spread over 64 generations.
        const spreadInputs = { weights, layer: cell.layer, seeds: seeds(64, 2_000_000) };
        const spread = await exp.step(`spread-${model}-${cell.layer}`, spreadInputs, async (i) => {
          const s = await planted.unitSpread(clean, i.layer, i.seeds, { batch });
          return { layer: s.layer, spread: Array.from(s.spread), peak: Array.from(s.peak) };
        });
        const units = cell.count === 0 ? [] : planted.chooseUnits(
          {
            layer: spread.layer,
            spread: Float64Array.from(spread.spread),
            peak: Float64Array.from(spread.peak),
          },
          { footprint: cell.footprint, count: cell.count, seed: cell.count },
        );
        // 2. The strength at which the flaw is visible, and the planted checkpoint.
        const calibration = { weights, ...cell, units, strengths: c.strengths, minDamaged: c.minDamaged };
        const strength = await exp.step(
          `strength-${name}`,
          { ...calibration, calibration: seeds(c.calibrationSeeds, 3_000_000) },
          (i) => planted.calibrateStrength(clean, description, { ...i, batch }),
        );
        const planting = { layer: cell.layer, units, kind: cell.kind, strength };
        const file = join(c.out, name, "planted.safetensors");
        await Deno.mkdir(join(c.out, name), { recursive: true });
        await lib.writeGeneratorWeights(
          file,
          units.length ? planted.plantWeights(raw, description, planting) : raw,
        );
        // 3. Every method against the clean twin, on the planted checkpoint as a user would load it.
        const gen = await lib.createGenerator(await lib.loadGenerator(file), { engine });
        const classifiers: { dispose(): void }[] = [];
        const detector = async (labels: lib.LabelSet) => {
          const parts = { gen, real: domain.real, backbone: domain.backbone };
          const trained = await lib.trainArtifactClassifier(parts, labels, { batch, realImages });
          classifiers.push(trained.classifier);
          const accuracy = trained.report.heldout.accuracy;
          exp.say(`${name}: classifier held-out accuracy ${accuracy.toFixed(3)}`);
          return { classifier: trained.classifier, masks: lib.artifactMasks(trained.classifier), accuracy };
        };
        try {
          const sizes = { randomDraws, maxArtifact, perUnitSeeds, realImages };
          const inputs = {
            weights,
            planting,
            fit: seeds(c.fitSeeds),
            heldout: seeds(c.heldoutSeeds, 1_000_000),
          };
          const bench = (labels?: lib.LabelSet) => (i: typeof inputs & typeof sizes) =>
            planted.benchmarkPlanting(clean, gen, i.planting, {
              ...i,
              fitSeeds: i.fit,
              heldoutSeeds: i.heldout,
              rankers: [lib.DS1, lib.DS2, lib.RARITY, lib.ABLATION],
              detector,
              labels,
              randomDraws: labels ? 0 : i.randomDraws,
              batch,
              log: (line) => exp.say(`${name}: ${line}`),
            });
          const oracle = await exp.step(`bench-${name}`, { ...inputs, ...sizes }, bench());
          // End to end: the same methods from the domain's automatic labeller (rank rule, 30% each way).
          let result: planted.ConfigResult = oracle;
          if (c.autoLabels && units.length) {
            const autoInputs = { ...inputs, ...sizes, criterion: domain.criterion.name };
            const auto = await exp.step(`auto-${name}`, autoInputs, async (i) => {
              const options = { seeds: i.fit, rule: "rank" as const, fraction: 0.3, batch, progress: false };
              const found = await lib.autoLabel(gen, domain.criterion, options);
              return bench(lib.autoLabelSet(found))(i);
            });
            result = planted.withAutoLabels(oracle, auto);
          }
          summary.configs[name] = { ...result, checkpoint: file };
          const shown = seeds(8, 1_000_000);
          await lib.savePng(
            join(c.out, name, "samples.png"),
            await planted.twinGrid(clean, gen, planting, shown),
          );
        } finally {
          for (const k of classifiers) k.dispose();
          await gen.dispose();
        }
      }
    } finally {
      await clean.dispose();
      await domain.dispose();
    }
  }
  // 4. The summary.
  await exp.json("summary.json", summary);
  const md = planted.summaryMarkdown(summary);
  await lib.writeFileAtomic(join(c.out, "summary.md"), md + "\n");
  console.log(md);
  await exp.finish({ configs: Object.keys(summary.configs).length });
  return summary;
}

if (import.meta.main) await run(commandConfig(CONFIG, INFO));
