/**
 * Activation rarity (after Choi et al., IJCAI 2022: units that rarely fire in good generations cause the
 * artifacts): with thresholds `T_u` set on the normal seeds, `P_normal(a_u > T_u) = tau`,
 *
 *     rarity_u = P_artifact(a_u > T_u) / tau
 *
 * the unit's firing rate on artifact seeds relative to its rate on normal ones (1 = no difference). It needs
 * labels only, no masks and no classifier.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { latents } from "../tensor/rng.ts";
import { unitThresholds } from "./defective_score.ts";
import { checkInputs, type Ranker, type RankInputs } from "./rank.ts";

export const RARITY: Ranker = {
  name: "rarity",
  label: "Activation rarity",
  needs: ["normal"],
  async scores(inputs: RankInputs) {
    checkInputs(RARITY, inputs);
    const { gen, layer, artifact, normal, batch = 32 } = inputs;
    const tau = inputs.tau ?? 0.01;
    const thresholds = await unitThresholds(gen, layer, { seeds: normal, tau, batch, progress: false });
    const t = tf.tensor1d(thresholds);
    let counts: Float64Array | undefined;
    let positions = 0;
    try {
      for (let i = 0; i < artifact.length; i += batch) {
        const z = latents(artifact.slice(i, i + batch), gen.model.zDim);
        const { output } = await gen.run(z, { to: layer }).finally(() => z.dispose());
        const above = tf.tidy(() => tf.sum(tf.cast(tf.greater(output, t), "float32"), [0, 1, 2]));
        const part = await above.data();
        counts ??= new Float64Array(part.length);
        part.forEach((v, u) => (counts![u] += v));
        positions += output.shape[0] * output.shape[1] * output.shape[2];
        tf.dispose([output, above]);
      }
    } finally {
      t.dispose();
    }
    return counts!.map((c) => c / positions / tau);
  },
};
