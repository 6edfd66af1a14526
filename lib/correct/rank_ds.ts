/**
 * The defective scores as rankers (Tousi et al.; `defective_score.ts`): formula (1), mean IoU of the unit's
 * thresholded map with the artifact mask, and formula (2), mean intersection, over the artifact seeds. Thresholds
 * are set over `thresholdSeeds` (default: the artifact and normal seeds together, "all images").
 *
 * @module
 */
import { defectiveScores } from "./defective_score.ts";
import { checkInputs, type Ranker, type RankInputs } from "./rank.ts";

function dsRanker(formula: 1 | 2): Ranker {
  const ranker: Ranker = {
    name: `ds${formula}`,
    label: `DS (${formula})`,
    needs: ["masks"],
    async scores(inputs: RankInputs) {
      checkInputs(ranker, inputs);
      const { gen, layer, artifact, normal, tau, batch = 32 } = inputs;
      const thresholdSeeds = inputs.thresholdSeeds ?? [...artifact, ...normal];
      const ds = await defectiveScores(gen, layer, {
        seeds: artifact,
        masks: inputs.masks!,
        tau,
        thresholdSeeds,
        batch,
        progress: false,
      });
      return formula === 1 ? ds.ds1 : ds.ds2;
    },
  };
  return ranker;
}

export const DS1: Ranker = dsRanker(1);
export const DS2: Ranker = dsRanker(2);
