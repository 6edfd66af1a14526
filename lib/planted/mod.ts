/**
 * The planted-artifact benchmark: faults planted in known units of a generator (`plant.ts`, chosen by footprint in
 * `units.ts`), the ground truth from the clean twin (`truth.ts`), scores of a ranking and of a repair
 * (`score.ts`), one configuration end to end (`benchmark.ts`), the grid of configurations and their strengths
 * (`grid.ts`), figures (`figures.ts`) and the summary (`summary.ts`). `deno task bench:planted` runs it.
 *
 * @module
 */
export * from "./plant.ts";
export * from "./units.ts";
export * from "./truth.ts";
export * from "./score.ts";
export * from "./benchmark.ts";
export * from "./grid.ts";
export * from "./figures.ts";
export * from "./summary.ts";
