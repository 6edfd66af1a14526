/**
 * ganatomy: look inside generative adversarial networks and repair them without retraining.
 *
 * Each folder is one concern with its own `mod.ts`: `backend` (tfjs backends and the training kernels wasm
 * lacks), `tensor` (NHWC helpers, upsampling, quantiles, masks, seeded latents), `io` (PNG, safetensors, `.pth`),
 * `models` (generators as named stages, PGGAN), `engine` (run loops and edits), `viz` (grids, heat-maps, plotly),
 * `util` (configs, progress, run metadata), `data` (scenes, defect maps, Fashion-MNIST), `train` (loop, GAN),
 * `stats` (streaming, mergeable statistics), `dissect` (GAN Dissection: unit IoU, interventions, ACE),
 * `metrics` (FID, KID, precision/recall and realism; Inception and VGG features), `gradcam` (Grad-CAM, Grad-CAM++,
 * Score-CAM), `correct` (labels, artifact classifier, defective scores, baselines, sequential correction).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend, latents, randomPggan, TfjsGenerator } from "./mod.ts";
 * await initBackend({ backend: "cpu" });
 * const gen = new TfjsGenerator(randomPggan([16, 16, 8]));
 * const z = latents([0, 1], 16);
 * const { output } = gen.run(z);
 * assert.deepEqual(output.shape, [2, 8, 8, 3]); // two 8x8 RGB images
 * z.dispose();
 * output.dispose();
 * gen.dispose();
 * ```
 * @module
 */
export * from "./backend/mod.ts";
export * from "./tensor/mod.ts";
export * from "./io/mod.ts";
export * from "./models/mod.ts";
export * from "./engine/mod.ts";
export * from "./viz/mod.ts";
export * from "./data/mod.ts";
export * from "./train/mod.ts";
export * from "./stats/mod.ts";
export * from "./dissect/mod.ts";
export * from "./metrics/mod.ts";
export * from "./gradcam/mod.ts";
export * from "./correct/mod.ts";
export * from "./planted/mod.ts";
export * from "./util/mod.ts";
