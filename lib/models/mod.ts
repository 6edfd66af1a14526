/**
 * The networks: generators as ordered lists of named stages (descriptions any engine runs), PGGAN, checkpoint
 * loading and the discriminator; the project's own networks — the scenes segmenter, the
 * feature/classification network with its labelled data and evaluation, torchvision's ResNet-18 — with their
 * parameter files and weight checks; and the feature-extractor interface they share with the metrics.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomPggan, stageNames } from "./mod.ts";
 * const names = stageNames(randomPggan([16, 16, 8]));
 * assert.deepEqual(names, ["layer1", "layer2", "layer3", "layer4", "output_8x8"]);
 * ```
 * @module
 */
export * from "./stages.ts";
export * from "./pggan.ts";
export * from "./load.ts";
export * from "./param_file.ts";
export * from "./discriminator.ts";
export * from "./features.ts";
export * from "./weights.ts";
export * as segmenter from "./segmenter.ts";
export * as classifier from "./classifier.ts";
export * from "./classifier_data.ts";
export * from "./classifier_eval.ts";
export * as resnet18 from "./resnet18.ts";
