import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { readPth } from "../io/pth.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { loadVgg16, vggFromStateDict } from "./vgg.ts";
import { fixturePath, maxRelativeError } from "./test_util.ts";

await initBackend({ backend: "cpu" });
const io = (await readSafetensors(fixturePath("networks_io.safetensors"))).tensors;
const images = io.get("images")!;

Deno.test("VGG16 fc2: equals the PyTorch re-implementation (random weights, narrow widths)", async () => {
  const vgg = await loadVgg16(fixturePath("vgg_narrow.pth"));
  assert.equal(vgg.name, "vgg16-fc2");
  assert.equal(vgg.dim, 64);
  await assertNoLeak(async () => {
    const x = tf.tensor4d(images.data as Float32Array, images.shape as [number, number, number, number]);
    const y = vgg.extract(x);
    const err = maxRelativeError(await y.data(), io.get("vgg")!.data as Float32Array);
    console.log(`VGG fc2 vs PyTorch: max error ${err.toExponential(2)} of the largest output`);
    assert.ok(err < 1e-4);
    tf.dispose([x, y]);
  });
  vgg.dispose();
});

Deno.test("VGG16 fc2: grey images are repeated to RGB; pre-ReLU option; clear errors", async () => {
  const sd = await readPth(fixturePath("vgg_narrow.pth"));
  const vgg = vggFromStateDict(sd, { relu: false });
  assert.equal(vgg.name, "vgg16-fc2-prerelu");
  const grey = tf.randomUniform([1, 20, 20, 1], -1, 1, "float32", 1) as tf.Tensor4D;
  const rgb = tf.tile(grey, [1, 1, 1, 3]) as tf.Tensor4D;
  const [a, b] = [vgg.extract(grey), vgg.extract(rgb)];
  assert.deepEqual(await a.data(), await b.data());
  assert.ok((await a.data()).some((v) => v < 0)); // no ReLU at the end
  tf.dispose([grey, rgb, a, b]);
  vgg.dispose();
  const broken = new Map(sd);
  broken.delete("classifier.3.weight");
  assert.throws(() => vggFromStateDict(broken, { source: "x.pth" }), /x.pth: missing "classifier.3.weight"/);
  assert.throws(() => vggFromStateDict(new Map()), /not a torchvision VGG state dict/);
});
