/**
 * The random ranker: a uniform, seeded order of the layer's units; the control every other ranker must beat
 * (report it as mean ± s.d. over many seeds).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomPggan } from "../models/pggan.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { initBackend } from "../backend/backend.ts";
 * import { RANDOM } from "./rank_random.ts";
 * await initBackend({ backend: "cpu" });
 * const gen = await createGenerator(randomPggan([8, 8, 8]), { engine: "tfjs" });
 * const s = await RANDOM.scores({ gen, layer: "layer2", artifact: [0], normal: [], seed: 3 });
 * assert.equal(s.length, 8);
 * assert.deepEqual(s, await RANDOM.scores({ gen, layer: "layer2", artifact: [0], normal: [], seed: 3 }));
 * await gen.dispose();
 * ```
 * @module
 */
import { stageIndex } from "../models/stages.ts";
import { randomScores } from "./baselines.ts";
import type { Ranker } from "./rank.ts";

export const RANDOM: Ranker = {
  name: "random",
  label: "Random",
  needs: [],
  scores({ gen, layer, seed = 0 }) {
    const units = gen.model.stages[stageIndex(gen.model, layer)].channels;
    return Promise.resolve(randomScores(units, { seed }));
  },
};
