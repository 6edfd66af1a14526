import { strict as assert } from "node:assert";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { sceneBatch } from "../data/scenes.ts";
import { loadDomainNet } from "./domain_net.ts";
import { frechetMetricName } from "./features.ts";

await initBackend({ backend: "cpu" });
const MODELS = join(import.meta.dirname!, "../../data/models");

Deno.test("domain network: features of real scenes, named honestly, no leaks", async () => {
  const net = await loadDomainNet(join(MODELS, "scenes_net.safetensors"));
  const before = tf.memory().numTensors;
  const { images, labels } = sceneBatch([1, 2, 3]);
  const f = net.extract(images);
  assert.deepEqual(f.shape, [3, net.dim]);
  assert.ok(tf.tidy(() => tf.sum(tf.abs(f)).dataSync()[0]) > 0);
  assert.equal(frechetMetricName(net.name), "FD (scenes-net)");
  tf.dispose([images, labels, f]);
  assert.equal(tf.memory().numTensors, before);
  net.dispose();
});
