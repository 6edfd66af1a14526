/**
 * Model descriptions: generators as ordered lists of named stages, PGGAN, and checkpoint loading.
 *
 * @example
 * ```ts
 * import { randomPggan, stageNames } from "./mod.ts";
 * console.log(stageNames(randomPggan([16, 16, 8]))); // ["layer1", …, "layer4", "output_8x8"]
 * ```
 * @module
 */
export * from "./stages.ts";
export * from "./pggan.ts";
export * from "./load.ts";
export * from "./param_file.ts";
export * from "./discriminator.ts";
export * as segmenter from "./segmenter.ts";
export * as classifier from "./classifier.ts";
export * as resnet18 from "./resnet18.ts";
