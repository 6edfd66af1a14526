/**
 * Utilities: command-line configuration, run metadata, seed lists and progress reporting.
 *
 * @example
 * ```ts
 * import { withProgress } from "./mod.ts";
 * for (const _step of withProgress([1, 2, 3], { label: "demo" })) {
 *   // work
 * }
 * ```
 * @module
 */
export * from "./config.ts";
export * from "./meta.ts";
export * from "./progress.ts";
export * from "./seeds.ts";
