/**
 * Planted faults: a copy of a generator's weights in which a few units of one layer are made faulty, so that the
 * culprits are known and the clean generator is the ground truth on the same latents.
 *
 * For units `S` of layer `l` (its output channels) and the next stage's convolution `W_{l+1}` (HWIO, input
 * channels = the units of `l`):
 *
 *     amplify   W_{l+1}[:, :, u, :] ← s · W_{l+1}[:, :, u, :]     u ∈ S   (outgoing weights × s, s > 1)
 *     invert    W_{l+1}[:, :, u, :] ← −s · W_{l+1}[:, :, u, :]    u ∈ S   (the unit draws its negative, × s)
 *
 * Amplification is how GAN Dissection's artifact units behave (they draw too much where they fire); inversion is
 * a second kind of fault. Either way the unit's own activation is unchanged, so its spatial footprint (local or
 * broad, see `units.ts`) decides where the damage is, and ablating the unit (`x·(1−a)`, a = 1) removes the
 * fault together with its normal work. Both edits are linear in the weights, so they apply alike to a checkpoint's
 * unscaled weights (`readGeneratorWeights`, then `writeGeneratorWeights`) and to a description's folded ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomPggan } from "../models/pggan.ts";
 * import { plantedModel } from "./plant.ts";
 * const clean = randomPggan([8, 8, 8]);
 * const planted = plantedModel(clean, { layer: "layer2", units: [3], kind: "amplify", strength: 4 });
 * const [w0, w1] = [clean, planted].map((m) => m.weights["layer3.conv.weight"].data);
 * assert.equal(w1[3 * 8], 4 * w0[3 * 8]); // HWIO [3, 3, 8, 8]: input channel 3, output 0, first tap
 * assert.equal(w1[2 * 8], w0[2 * 8]); // other units untouched
 * ```
 * @module
 */
import type { GeneratorDescription, Weight } from "../models/stages.ts";
import { stageIndex } from "../models/stages.ts";

/** The kinds of fault (see the module documentation). */
export const FAULT_KINDS = ["amplify", "invert"] as const;
export type FaultKind = typeof FAULT_KINDS[number];

/** One planted fault: which units of which layer, how, and how strongly. */
export interface Planting {
  layer: string;
  units: number[];
  kind: FaultKind;
  /** The factor `s` on the units' outgoing weights (see the module documentation). */
  strength: number;
}

/** The name of the weight that carries `layer`'s units onward: the next stage's first convolution. */
export function outgoingWeight(model: GeneratorDescription, layer: string): string {
  const i = stageIndex(model, layer);
  const next = model.stages[i + 1];
  const conv = next?.ops.find((op) => op.kind === "conv2d");
  if (!next || !conv || conv.kind !== "conv2d") {
    throw new Error(`planting: ${layer} has no following convolution (it is the generator's last stage)`);
  }
  return conv.weight;
}

function checkPlanting(model: GeneratorDescription, p: Planting): void {
  const { channels } = model.stages[stageIndex(model, p.layer)];
  const bad = p.units.find((u) => !(Number.isInteger(u) && u >= 0 && u < channels));
  if (bad !== undefined) throw new Error(`planting: ${p.layer} has units 0 … ${channels - 1}, got ${bad}`);
  if (new Set(p.units).size !== p.units.length) throw new Error(`planting: units repeat in [${p.units}]`);
  if (!(FAULT_KINDS as readonly string[]).includes(p.kind)) {
    throw new Error(`planting: kind must be one of ${FAULT_KINDS.join(", ")}, got ${p.kind}`);
  }
  if (!(Number.isFinite(p.strength) && p.strength > 0)) {
    throw new Error(`planting: strength must be positive, got ${p.strength}`);
  }
}

/**
 * A copy of `weights` (keyed like `model.weights`, unscaled or folded) with the planting applied; the other
 * weights are shared, not copied.
 */
export function plantWeights(
  weights: Record<string, Weight>,
  model: GeneratorDescription,
  planting: Planting,
): Record<string, Weight> {
  checkPlanting(model, planting);
  const name = outgoingWeight(model, planting.layer);
  const w = weights[name];
  if (!w) throw new Error(`planting: no weight ${name}`);
  const [kh, kw, cin, cout] = w.shape;
  const factor = planting.kind === "amplify" ? planting.strength : -planting.strength;
  const data = w.data.slice();
  for (let t = 0; t < kh * kw; t++) {
    for (const u of planting.units) {
      const at = (t * cin + u) * cout;
      for (let o = 0; o < cout; o++) data[at + o] *= factor;
    }
  }
  return { ...weights, [name]: { shape: w.shape, data } };
}

/** The description with the planting applied to its (folded) weights. */
export function plantedModel(model: GeneratorDescription, planting: Planting): GeneratorDescription {
  return { ...model, weights: plantWeights(model.weights, model, planting) };
}
