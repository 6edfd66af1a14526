/**
 * The benchmark's configurations and the strength of each planting.
 *
 * Layers are named by role so the grid reads the same for every generator: `middle` is the generator's last 8×8
 * layer (GAN Dissection's `layer4`), `later` its last 16×16 one (`layer6`). A cell with count 0 is the control:
 * the clean generator itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomPggan } from "../models/pggan.ts";
 * import { plantingGrid } from "./grid.ts";
 * const cells = plantingGrid(randomPggan([8, 8, 8, 8, 8]), {
 *   layers: ["middle", "later"], footprints: ["local"], counts: [1, 4], invert: true,
 * });
 * assert.deepEqual(cells.map((c) => c.name), [
 *   "control", "layer4_local_1", "layer4_local_4", "layer4_local_1_invert",
 *   "layer6_local_1", "layer6_local_4", "layer6_local_1_invert",
 * ]);
 * ```
 * @module
 */
import type { GeneratorDescription } from "../models/stages.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import { createGenerator, type EngineName } from "../engine/select.ts";
import { type FaultKind, plantedModel } from "./plant.ts";
import { imageDistance } from "./truth.ts";
import type { Footprint } from "./units.ts";

/** One configuration of the grid. */
export interface GridCell {
  name: string;
  layer: string;
  footprint: Footprint;
  count: number;
  kind: FaultKind;
}

/** The stage whose role is `middle` (last 8×8) or `later` (last 16×16). */
export function layerOfRole(model: GeneratorDescription, role: string): string {
  const size = role === "middle" ? 8 : role === "later" ? 16 : NaN;
  const stage = model.stages.slice(0, -1).findLast((s) => s.size === size);
  if (!stage) throw new Error(`planting: the generator has no ${size}×${size} layer for "${role}"`);
  return stage.name;
}

/** The configurations (see the module documentation), the control first. */
export function plantingGrid(
  model: GeneratorDescription,
  options: {
    layers: readonly string[];
    footprints: readonly string[];
    counts: readonly number[];
    invert: boolean;
  },
): GridCell[] {
  const cells: GridCell[] = [{
    name: "control",
    layer: layerOfRole(model, options.layers[0]),
    footprint: "local",
    count: 0,
    kind: "amplify",
  }];
  for (const role of options.layers) {
    const layer = layerOfRole(model, role);
    for (const footprint of options.footprints as Footprint[]) {
      for (const count of options.counts) {
        cells.push({ name: `${layer}_${footprint}_${count}`, layer, footprint, count, kind: "amplify" });
      }
      if (options.invert) {
        const count = options.counts[0];
        cells.push({
          name: `${layer}_${footprint}_${count}_invert`,
          layer,
          footprint,
          count,
          kind: "invert",
        });
      }
    }
  }
  return cells;
}

/** Options of {@link calibrateStrength}. */
export interface CalibrateOptions {
  layer: string;
  units: readonly number[];
  kind: FaultKind;
  /** Candidates, smallest first. */
  strengths: readonly number[];
  /** The share of `calibration` seeds whose flaw must be visible (see {@link calibrateStrength}). */
  minDamaged: number;
  /** A pixel is visibly wrong when its channel-mean |planted − clean| exceeds this; default 0.5. */
  visible?: number;
  /** A seed's flaw is visible when at least this share of its pixels is visibly wrong; default 0.02. */
  minShare?: number;
  calibration: readonly number[];
  batch?: number;
  engine?: EngineName;
}

/**
 * The smallest candidate strength at which the flaw is clearly visible in at least `minDamaged` of the calibration
 * seeds: `minShare` of their pixels off by more than `visible` (a quarter of the value range by default), the
 * largest candidate when none is; 0 for a control (no units).
 */
export async function calibrateStrength(
  clean: GeneratorRunner,
  model: GeneratorDescription,
  options: CalibrateOptions,
): Promise<number> {
  if (options.units.length === 0) return 0;
  for (const strength of options.strengths) {
    const planting = { layer: options.layer, units: [...options.units], kind: options.kind, strength };
    const gen = await createGenerator(plantedModel(model, planting), {
      engine: options.engine ?? clean.engine,
    });
    try {
      const { batch, visible = 0.5, minShare = 0.02 } = options;
      const d = await imageDistance({ gen }, { gen: clean }, options.calibration, {
        batch,
        threshold: visible,
      });
      const damaged = Array.from(d.share).filter((s) => s >= minShare).length / d.share.length;
      if (damaged >= options.minDamaged) return strength;
    } finally {
      await gen.dispose();
    }
  }
  return options.strengths.at(-1)!;
}
