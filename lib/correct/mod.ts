/**
 * Automatic correction of internal units (Tousi et al., CVPR 2021), one step per file:
 *
 * - `labels.ts`: label files (`seed,label,source` CSV) with line-numbered validation; `label_server.ts`: the
 *   labelling page; `auto_label.ts`: the automatic labeller (a predefined criterion and two cut-offs);
 * - `artifact_classifier.ts`: artifact / normal / real on a frozen feature extractor (only the last fully
 *   connected layer is trained); `artifact_data.ts`: from labels to a trained, scored classifier;
 * - `defective_score.ts`: each unit's formula (1) mean IoU and formula (2) mean intersection with the artifact
 *   masks (Grad-CAM of the artifact class, `lib/gradcam/`), and their JSON form;
 * - `baselines.ts`: random units and FID-based units;
 * - `sequential.ts`: single-layer corrections and Algorithm 1, layer by layer; `correction_file.ts`: a correction
 *   saved as a file, to sample the corrected generator later;
 * - `evaluate.ts`: FD, realism, precision and recall of (corrected) generations against real images, and the
 *   failure metric (structure change); `table.ts`: the paper's table — each row's correction, per model and every
 *   model side by side; `sweep.ts`: sweeps of sequential correction over n, λ and the stopping layer;
 * - `figures.ts`: the grids and plotly figures of a correction run, from its data;
 * - `domain.ts`: a shipped model's generator, real images, backbone, features, criterion and artifact masks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { correctionScale, rankUnits } from "./mod.ts";
 * assert.deepEqual(rankUnits([0.1, 0.7, 0.3]), [1, 2, 0]); // highest score first
 * assert.equal(correctionScale(1, 0.9), 0); // the worst unit of a layer is switched off
 * ```
 * @module
 */
export * from "./labels.ts";
export * from "./label_server.ts";
export * from "./auto_label.ts";
export * from "./artifact_classifier.ts";
export * from "./artifact_data.ts";
export * from "./defective_score.ts";
export * from "./baselines.ts";
export * from "./sequential.ts";
export * from "./correction_file.ts";
export * from "./evaluate.ts";
export * from "./table.ts";
export * from "./sweep.ts";
export * from "./figures.ts";
export * from "./domain.ts";
export * from "./rank.ts";
export * from "./rank_ablation.ts";
export * from "./rank_ds.ts";
export * from "./rank_random.ts";
export * from "./rank_rarity.ts";
