/**
 * Data sets: procedural outdoor scenes with exact segmentations (LSUN church-outdoor in miniature), their
 * defect maps (the pixels the scene grammar cannot explain) with synthetic corruptions to test them, and
 * Fashion-MNIST from Debian's package; `source.ts` puts the image sets behind one interface.
 *
 * Everything is deterministic by seed ({@link Rng}); tensors appear only at the boundary ({@link sceneBatch},
 * {@link defectMapBatch}, {@link fashionImages}, {@link fashionLabels}), owned by the caller.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { defectMap, renderScene, sceneBatch, sceneImage } from "./mod.ts";
 * await initBackend({ backend: "cpu" });
 * const scene = renderScene(0);
 * assert.equal(defectMap(sceneImage(scene), scene.labels).fraction, 0); // 0 on a clean scene
 * const { images, labels } = sceneBatch([0, 1, 2, 3]);
 * assert.deepEqual([images.shape, labels.shape], [[4, 64, 64, 3], [4, 64, 64]]);
 * images.dispose();
 * labels.dispose();
 * ```
 * @module
 */
export * from "./scene_classes.ts";
export * from "./scene_palette.ts";
export * from "./scene_layout.ts";
export * from "./scene_canvas.ts";
export * from "./scenes.ts";
export * from "./components.ts";
export * from "./scene_color.ts";
export * from "./scene_rules.ts";
export * from "./defects.ts";
export * from "./corrupt.ts";
export * from "./idx.ts";
export * from "./fashion.ts";
export * from "./source.ts";
