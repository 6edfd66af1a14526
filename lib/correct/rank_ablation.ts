/**
 * Single-unit ablation effect, a causal ranker: for each unit `u` of the layer, the mean drop of the artifact
 * classifier's probability over the artifact seeds when `u` alone is ablated,
 *
 *     effect_u = mean_z [ p(G(z)) − p(G_{−u}(z)) ]
 *
 * (GAN Dissection's average causal effect with the classifier as the concept detector), over the first
 * `perUnitSeeds` (default 64) artifact seeds. The generator runs to the layer once per batch and from the layer onward once per unit.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { stageIndex } from "../models/stages.ts";
import { latents } from "../tensor/rng.ts";
import { checkInputs, type Ranker, type RankInputs } from "./rank.ts";

export const ABLATION: Ranker = {
  name: "ablation",
  label: "Single-unit ablation",
  needs: ["classifier"],
  async scores(inputs: RankInputs) {
    checkInputs(ABLATION, inputs);
    const { gen, layer, batch = 32 } = inputs;
    const artifact = inputs.artifact.slice(0, inputs.perUnitSeeds ?? 64);
    const classifier = inputs.classifier!;
    const units = gen.model.stages[stageIndex(gen.model, layer)].channels;
    const effect = new Float64Array(units);
    for (let i = 0; i < artifact.length; i += batch) {
      const z = latents(artifact.slice(i, i + batch), gen.model.zDim);
      const { output: h } = await gen.run(z, { to: layer }).finally(() => z.dispose());
      try {
        const probability = async (edited: tf.Tensor4D) => {
          const { output } = await gen.run(edited, { from: layer, clamp: true });
          try {
            return await classifier.artifactProbability(output);
          } finally {
            output.dispose();
          }
        };
        const base = await probability(h);
        for (let u = 0; u < units; u++) {
          const edited = tf.tidy(() => {
            const off = tf.reshape(tf.oneHot(tf.tensor1d([u], "int32"), units), [units]); // ablate([u]): x·(1 − a)
            return tf.mul(h, tf.sub(1, off)) as tf.Tensor4D;
          });
          const p = await probability(edited).finally(() => edited.dispose());
          for (let k = 0; k < p.length; k++) effect[u] += base[k] - p[k];
        }
      } finally {
        h.dispose();
      }
    }
    return effect.map((e) => e / artifact.length);
  },
};
