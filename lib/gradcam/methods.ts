/**
 * Every CAM method by name: {@link cam} runs the one its options name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createClassifier, disposeClassifier } from "../models/classifier.ts";
 * import { classifierCamModel } from "./cam.ts";
 * import { cam } from "./methods.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const net = createClassifier({
 *   resolution: 16, channels: 3, widths: [4, 8], outputs: ["a", "b"], kind: "multiclass",
 * });
 * const images = tf.randomUniform([2, 16, 16, 3], -1, 1) as tf.Tensor4D;
 * const { cams, logits } = cam(classifierCamModel(net), images, { method: "gradcam++", target: 0 });
 * assert.deepEqual(cams.shape, [2, 16, 16]);
 * tf.dispose([images, cams, logits]);
 * disposeClassifier(net);
 * ```
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type CamMethod, type CamModel, type CamOptions, type CamResult, computeCam } from "./cam.ts";
import { GRAD_CAM } from "./grad_cam.ts";
import { GRAD_CAM_PLUS_PLUS } from "./grad_cam_pp.ts";
import { scoreCamMethod, type ScoreCamOptions } from "./score_cam.ts";

/** The names of the CAM methods. */
export const CAM_METHOD_NAMES = ["gradcam", "gradcam++", "scorecam"] as const;

/** A CAM method's name. */
export type CamMethodName = typeof CAM_METHOD_NAMES[number];

/** Options of {@link cam}: the method (name or {@link CamMethod}) and the options of every CAM function. */
export interface AnyCamOptions extends CamOptions, ScoreCamOptions {
  method: CamMethodName | CamMethod;
}

/** The {@link CamMethod} of a name (`batchSize` applies to Score-CAM); throws on an unknown name. */
export function camMethod(name: CamMethodName, options: ScoreCamOptions = {}): CamMethod {
  switch (name) {
    case "gradcam":
      return GRAD_CAM;
    case "gradcam++":
      return GRAD_CAM_PLUS_PLUS;
    case "scorecam":
      return scoreCamMethod(options);
    default:
      throw new Error(
        `cam: method must be one of ${CAM_METHOD_NAMES.join(", ")}; got ${JSON.stringify(name)}`,
      );
  }
}

/**
 * The CAMs of images `[N, H, W, C]` in [-1, 1] by the method `options.method` (see `computeCam`).
 *
 * @param options `method`, `target` (default: the predicted class), `upsample` (default: the images' size),
 *   `relu` (default true), `raw` (default false), `batchSize` (Score-CAM; default 64).
 * @returns `{ cams: [N, H, W] in [0, 1], logits: [N, K], targets }`; the caller disposes the tensors.
 */
export function cam(model: CamModel, images: tf.Tensor4D, options: AnyCamOptions): CamResult {
  const method = typeof options.method === "string" ? camMethod(options.method, options) : options.method;
  return computeCam(model, images, { ...options, method });
}
