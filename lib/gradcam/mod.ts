/**
 * Class activation maps: Grad-CAM, Grad-CAM++ and Score-CAM on any network split at its last conv map, and
 * CAM masks with their IoU.
 *
 * - `cam.ts`: the network interface ({@link CamModel}, {@link classifierCamModel}) and the template
 *   ({@link computeCam}) every method shares; a method only supplies its channel weights ({@link CamMethod});
 * - `grad_cam.ts`, `grad_cam_pp.ts`, `score_cam.ts`: the three methods;
 * - `methods.ts`: {@link cam}, any method by name;
 * - `masks.ts`: normalisation and upsampling of CAMs, masks by threshold or top fraction, mask IoU, and the
 *   agreement of mask functions with ground-truth masks over many images ({@link camMaskAgreement}).
 *
 * @example
 * ```ts
 * import { cam, camMaskAgreement, camMaskIoU, camMasks, classifierCamModel, gradCam } from "./mod.ts";
 * ```
 * @module
 */
export * from "./cam.ts";
export * from "./grad_cam.ts";
export * from "./grad_cam_pp.ts";
export * from "./score_cam.ts";
export * from "./methods.ts";
export * from "./masks.ts";
