/**
 * Visualisation: a built-in bitmap font, labelled image grids, heat-map and mask overlays, plotly figures
 * (notebook display, offline HTML, PNG through headless Chromium) and inline notebook images.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { heatmapOverlay, imageGrid } from "./mod.ts";
 * import { savePng } from "../io/mod.ts";
 * const image = tf.zeros([32, 32, 3]); // [H, W, 3] in [-1, 1]
 * const act = tf.randomUniform([8, 8]); // [h, w] in [0, 1]
 * const grid = imageGrid([heatmapOverlay(image, act)], { captions: ["unit 7"], scale: 2 });
 * tf.dispose([image, act]);
 * await savePng("/tmp/ganatomy_example/unit7.png", grid);
 * ```
 * @module
 */
export * from "./font.ts";
export * from "./grid.ts";
export * from "./colormap.ts";
export * from "./heatmap.ts";
export * from "./jupyter.ts";
export * from "./plotly.ts";
export * from "./plotly_png.ts";
export * from "./units.ts";
