/**
 * Metrics of generated images against real ones, each agreeing with its reference implementation on the same
 * features: FID / Fréchet distance (pytorch-fid), KID (clean-fid, torch-fidelity), k-NN precision, recall and
 * realism score (Kynkäänniemi et al.'s official code) with density and coverage (Naeem et al.), and the
 * feature extractors (pytorch-fid's Inception-v3, torchvision's VGG-16).
 * Every result names its feature space (`features.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { RunningMoments } from "../stats/moments.ts";
 * import { frechetDistance, precisionRecall } from "./mod.ts";
 * await initBackend({ backend: "cpu" });
 * const real = tf.randomNormal([200, 8], 0, 1, "float32", 1) as tf.Tensor2D;
 * const fake = tf.randomNormal([200, 8], 0.2, 1, "float32", 2) as tf.Tensor2D;
 * const [a, b] = [new RunningMoments(8), new RunningMoments(8)];
 * a.add(real);
 * b.add(fake);
 * assert.ok(Math.abs(frechetDistance(a, b).value - 0.4439) < 1e-4);
 * assert.equal((await precisionRecall(real, fake)).precision, 0.88);
 * tf.dispose([real, fake]);
 * ```
 * @module
 */
export * from "./fid.ts";
export * from "./kid.ts";
export * from "./prdc.ts";
export * from "./features.ts";
export * from "./inception.ts";
export * from "./vgg.ts";
export * from "./inputs.ts";
export * from "./domain_net.ts";
