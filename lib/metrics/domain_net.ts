/**
 * The project's domain networks (`data/models/scenes_net.safetensors`, `fashion_net.safetensors`) as feature
 * extractors: their penultimate features (global average of the last conv map) give the domain Fréchet distance,
 * KID and precision/recall, named after the network, e.g. `FD (scenes-net)`, never "FID".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { loadDomainNet } from "./domain_net.ts";
 * await initBackend({ backend: "cpu" });
 * const net = await loadDomainNet("data/models/scenes_net.safetensors");
 * const f = net.extract(tf.zeros([2, 64, 64, 3]) as tf.Tensor4D); // [2, net.dim]
 * assert.deepEqual([net.name, net.dim, f.shape], ["scenes-net", 64, [2, 64]]);
 * f.dispose();
 * net.dispose();
 * ```
 * @module
 */
import { basename } from "node:path";
import type * as tf from "@tensorflow/tfjs-core";
import { disposeClassifier, features, loadClassifier } from "../models/classifier.ts";
import type { FeatureExtractor } from "../models/features.ts";

/** Load a classifier saved by the project as a {@link FeatureExtractor} named after its file (`scenes_net` → `scenes-net`). */
export async function loadDomainNet(path: string): Promise<FeatureExtractor> {
  const model = await loadClassifier(path);
  const name = basename(path).replace(/\.safetensors$/, "").replaceAll("_", "-");
  const dim = model.params["fc.weight"].shape[0];
  return {
    name,
    dim,
    extract: (images: tf.Tensor4D) => features(model, images),
    dispose: () => disposeClassifier(model),
  };
}
