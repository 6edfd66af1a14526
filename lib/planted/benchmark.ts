/**
 * One configuration of the planted-artifact benchmark: a planted generator, its clean twin, and every
 * identification method scored against the ground truth.
 *
 * 1. Damage of the planting on the fit seeds and on the held-out seeds (`truth.ts`).
 * 2. Labels of the fit seeds: the oracle's (from the damage), or any label set (e.g. the domain's automatic
 *    labeller, for the end-to-end column); at most `maxArtifact` artifact and `maxNormal` normal seeds are used.
 * 3. Each ranker (`lib/correct/rank.ts`) scores the planted layer's units; `ds1_truth`/`ds2_truth` are the
 *    defective scores with the truth masks (the best the DS family can do), `culprits` the reference (the true
 *    culprits ranked first), `random` is drawn `randomDraws` times.
 * 4. Each ranking's top `k` units (default: as many as the culprits) are ablated, and the correction is scored on
 *    the held-out seeds: restoration and damage (`score.ts`), with average precision and precision@k.
 *
 * The result is plain data (`ConfigResult`), ready for `summary.json`.
 *
 * @module
 */
import type { ArtifactMaskFn } from "../correct/defective_score.ts";
import type { LabelSet } from "../correct/labels.ts";
import { seedsWith } from "../correct/labels.ts";
import { type ArtifactProbability, type Ranker, type RankInputs, unmetNeeds } from "../correct/rank.ts";
import { DS1, DS2 } from "../correct/rank_ds.ts";
import { RANDOM } from "../correct/rank_random.ts";
import { ablate } from "../engine/edits.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import { stageIndex } from "../models/stages.ts";
import type { Interval } from "../stats/bootstrap.ts";
import type { Planting } from "./plant.ts";
import {
  averagePrecision,
  collateral,
  precisionAtK,
  ranking,
  type RepairScore,
  repairScore,
} from "./score.ts";
import {
  type DamageRecord,
  imageDistance,
  imageSet,
  oracleLabels,
  type OracleOptions,
  setDistance,
  truthMasks,
} from "./truth.ts";

/** What a user-side method may use besides the labels: the classifier and its CAM masks, when trained. */
export interface Detector {
  classifier: ArtifactProbability;
  masks: ArtifactMaskFn;
  /** The classifier's held-out accuracy. */
  accuracy?: number;
}

/** Options of {@link benchmarkPlanting}. */
export interface BenchmarkOptions extends OracleOptions {
  /** Seeds that labels and scores are fitted on. */
  fitSeeds: readonly number[];
  /** Held-out seeds that repairs are measured on. */
  heldoutSeeds: readonly number[];
  /** Rankers run besides the references (culprits, DS with truth masks, random). */
  rankers: readonly Ranker[];
  /** Labels of the fit seeds; default the oracle's. */
  labels?: LabelSet;
  /** Train the classifier (and CAM masks) on labels, for rankers that need them; default: those are skipped. */
  detector?: (labels: LabelSet) => Promise<Detector>;
  /** Random rankings drawn; default 20. */
  randomDraws?: number;
  /** Units ablated per ranking; default: the number of culprits. */
  k?: number;
  maxArtifact?: number;
  /** Artifact seeds of per-unit rankers (ablation); default 64. */
  perUnitSeeds?: number;
  maxNormal?: number;
  tau?: number;
  batch?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** One method's scores. */
export interface MethodResult {
  label: string;
  /** Average precision and precision@k of the ranking (mean over draws for random). */
  ap: number;
  precision_at_k: number;
  restoration: Interval;
  damage: Interval;
  /** The top-k units ablated (the first draw's, for random). */
  units: number[];
  /** Random: the s.d. over draws of the restoration and of the AP. */
  draws?: { count: number; restoration_sd: number; ap_sd: number; restoration_mean: number };
  /** The same method from the automatic labeller's labels (end to end), when run: see {@link withAutoLabels}. */
  restoration_auto?: Interval;
  damage_auto?: Interval;
  ap_auto?: number;
}

/** The result of one configuration. */
export interface ConfigResult {
  planting: Planting;
  labels: { source: string; artifact: number; normal: number; skip: number; classifier_accuracy?: number };
  /** Planted damage on the held-out seeds: mean |G' − G| and the share of damaged seeds. */
  heldout: { seeds: number; damage: number; damaged_share: number; untouched: number };
  methods: Record<string, MethodResult>;
}

const mean = (x: ArrayLike<number>) => Array.from(x).reduce((s, v) => s + v, 0) / x.length;
const sd = (x: number[]) =>
  Math.sqrt(x.reduce((s, v) => s + (v - mean(x)) ** 2, 0) / Math.max(1, x.length - 1));

/** Per-seed damage of the planting on `seeds`. */
export function plantingDamage(
  clean: GeneratorRunner,
  planted: GeneratorRunner,
  seeds: readonly number[],
  batch = 32,
): Promise<DamageRecord> {
  return imageDistance({ gen: planted }, { gen: clean }, seeds, { batch });
}

/** Every method on one planting (see the module documentation). */
export async function benchmarkPlanting(
  clean: GeneratorRunner,
  planted: GeneratorRunner,
  planting: Planting,
  options: BenchmarkOptions,
): Promise<ConfigResult> {
  const { batch = 32, randomDraws = 20, maxArtifact = 200, maxNormal = 200, log = () => {} } = options;
  const { layer, units: culprits } = planting;
  const units = planted.model.stages[stageIndex(planted.model, layer)].channels;
  const k = options.k ?? culprits.length;
  const fitDamage = await plantingDamage(clean, planted, options.fitSeeds, batch);
  const labels = options.labels ?? oracleLabels(fitDamage, options);
  const artifact = seedsWith(labels, "artifact").slice(0, maxArtifact);
  const normal = seedsWith(labels, "normal").slice(0, maxNormal);
  const source = options.labels ? "given" : "oracle";
  const counts: ConfigResult["labels"] = {
    source,
    artifact: artifact.length,
    normal: normal.length,
    skip: seedsWith(labels, "skip").length,
  };
  log(`${layer}: labels (${source}) ${artifact.length} artifact, ${normal.length} normal`);

  // The held-out images of both twins, generated once; each distinct correction is one more pass.
  const cleanImages = await imageSet({ gen: clean }, options.heldoutSeeds, { batch });
  const plantedImages = await imageSet({ gen: planted }, options.heldoutSeeds, { batch });
  const heldout = setDistance(plantedImages, cleanImages);
  const repaired = new Map<string, RepairScore>();
  const repair = async (ranked: number[]) => {
    const top = ranked.slice(0, k);
    const key = [...top].sort((a, b) => a - b).join(",");
    if (!repaired.has(key)) {
      const edits = { [layer]: ablate(top, units) };
      const corrected = await imageSet({ gen: planted, edits }, options.heldoutSeeds, { batch });
      const side = collateral(corrected, plantedImages, cleanImages);
      repaired.set(key, repairScore(heldout, setDistance(corrected, cleanImages), side));
    }
    return repaired.get(key)!;
  };
  const methods: Record<string, MethodResult> = {};
  const result = (): ConfigResult => ({
    planting,
    labels: counts,
    heldout: heldoutSummary(heldout, options.normalShare),
    methods,
  });
  const score = async (name: string, label: string, scores: ArrayLike<number>) => {
    const ranked = ranking(scores);
    const { restoration, damage } = await repair(ranked);
    methods[name] = {
      label,
      ap: averagePrecision(scores, culprits),
      precision_at_k: precisionAtK(scores, culprits, k),
      restoration,
      damage,
      units: ranked.slice(0, k),
    };
    log(`  ${name}: AP ${methods[name].ap.toFixed(3)}, restoration ${restoration.estimate.toFixed(3)}`);
  };

  if (culprits.length === 0) {
    log(
      `control: the oracle calls ${artifact.length} of ${options.fitSeeds.length} clean generations artifact`,
    );
    return result();
  }
  await score(
    "culprits",
    "True culprits (reference)",
    Float64Array.from({ length: units }, (_, u) => culprits.includes(u) ? 1 : 0),
  );
  if (artifact.length === 0) {
    log(`  no artifact seeds among ${options.fitSeeds.length}: only the reference is scored`);
    return result();
  }
  const inputs: RankInputs = {
    gen: planted,
    layer,
    artifact,
    normal,
    tau: options.tau,
    batch,
    perUnitSeeds: options.perUnitSeeds,
  };
  const truth = { ...inputs, masks: truthMasks(clean) };
  await score("ds1_truth", "DS (1), truth masks", await DS1.scores(truth));
  await score("ds2_truth", "DS (2), truth masks", await DS2.scores(truth));
  // The classifier is trained on the labels (artifact, normal when there are any, and real images).
  const detector = options.detector && artifact.length >= 8 ? await options.detector(labels) : undefined;
  if (detector?.accuracy !== undefined) counts.classifier_accuracy = detector.accuracy;
  for (const ranker of options.rankers) {
    const given = { ...inputs, masks: detector?.masks, classifier: detector?.classifier };
    const unmet = unmetNeeds(ranker, given);
    if (unmet.length) {
      log(`  ${ranker.name}: skipped (lacks ${unmet.join(", ")}; ${normal.length} normal seeds)`);
      continue;
    }
    await score(ranker.name, ranker.label, await ranker.scores(given));
  }
  // Random: many draws; the row holds the mean restoration, its s.d. and the first draw's interval.
  if (randomDraws === 0) return result();
  const draws: MethodResult[] = [];
  for (let d = 0; d < randomDraws; d++) {
    await score("random", "Random", await RANDOM.scores({ ...inputs, seed: d }));
    draws.push(methods.random);
  }
  const restorations = draws.map((m) => m.restoration.estimate);
  methods.random = {
    ...draws[0],
    ap: mean(draws.map((m) => m.ap)),
    precision_at_k: mean(draws.map((m) => m.precision_at_k)),
    draws: {
      count: draws.length,
      restoration_mean: mean(restorations),
      restoration_sd: sd(restorations),
      ap_sd: sd(draws.map((m) => m.ap)),
    },
  };
  return result();
}

/**
 * The oracle run with each method's `restoration_auto`, `damage_auto` and `ap_auto` from the run on the automatic
 * labels (random does not read labels: its columns are the oracle's).
 */
export function withAutoLabels(
  oracle: ConfigResult,
  auto: ConfigResult,
): ConfigResult & { labels_auto: ConfigResult["labels"] } {
  const methods = Object.fromEntries(
    Object.entries(oracle.methods).map(([k, m]) => {
      const a = k === "random" ? m : auto.methods[k];
      return [k, a ? { ...m, restoration_auto: a.restoration, damage_auto: a.damage, ap_auto: a.ap } : m];
    }),
  );
  return { ...oracle, methods, labels_auto: auto.labels };
}

function heldoutSummary(record: DamageRecord, normalShare = 0.001): ConfigResult["heldout"] {
  const share = Array.from(record.share);
  return {
    seeds: record.seeds.length,
    damage: mean(record.damage),
    damaged_share: share.filter((s) => s > normalShare).length / share.length,
    untouched: share.filter((s) => s <= normalShare).length,
  };
}
