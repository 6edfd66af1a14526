import { strict as assert } from "node:assert";
import { gzipSync } from "node:zlib";
import * as tf from "@tensorflow/tfjs-core";
import { fashionMnist, optionalTest } from "../../tests/optional.ts";
import { initBackend } from "../backend/backend.ts";
import { FASHION_CLASSES, fashionImages, fashionLabels, loadFashion } from "./fashion.ts";

await initBackend({ backend: "cpu" });

const dataset = fashionMnist();

optionalTest("Fashion-MNIST: counts, labels and padding", dataset, async () => {
  const train = await loadFashion({ split: "train" });
  const test = await loadFashion({ split: "test" });
  assert.equal(train.labels.length, 60000);
  assert.equal(test.labels.length, 10000);
  assert.equal(train.images.length, 60000 * 32 * 32);
  assert.equal(test.images.length, 10000 * 32 * 32);
  assert.deepEqual(train.classNames, FASHION_CLASSES);
  // The first image of each split is an ankle boot.
  assert.equal(train.labels[0], 9);
  assert.equal(test.labels[0], 9);
  assert.equal(FASHION_CLASSES[9], "Ankle boot");
  for (const split of [train, test]) {
    const counts = new Array(10).fill(0);
    for (const l of split.labels) counts[l]++;
    assert.ok(counts.every((c) => c === split.labels.length / 10), "balanced classes");
  }
  // The 2-pixel border is black; the middle is not.
  const first = train.images.subarray(0, 32 * 32);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      if (y < 2 || y >= 30 || x < 2 || x >= 30) assert.equal(first[y * 32 + x], 0);
    }
  }
  assert.ok(first.some((v) => v > 200));
});

optionalTest("Fashion-MNIST: batches as tensors without leaks", dataset, async () => {
  const data = await loadFashion({ split: "test" });
  const before = tf.memory().numTensors;
  const x = fashionImages(data, [0, 5, 9999]);
  const y = fashionLabels(data, [0, 5, 9999]);
  assert.deepEqual(x.shape, [3, 32, 32, 1]);
  assert.deepEqual([...y.dataSync()], [data.labels[0], data.labels[5], data.labels[9999]]);
  const values = x.dataSync();
  assert.equal(values[0], -1, "black border is -1");
  assert.ok(values.every((v) => v >= -1 && v <= 1));
  assert.ok(Math.abs(values[14 * 32 + 16] - (data.images[14 * 32 + 16] / 127.5 - 1)) < 1e-6);
  tf.dispose([x, y]);
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => fashionImages(data, [10000]), /index 10000 is outside 0..9999/);
  assert.throws(() => fashionImages(data, []), /at least one index/);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("loadFashion: a clear error when the files are missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => loadFashion({ dir }),
      new Error(
        `Fashion-MNIST not found in ${dir}: apt-get install dataset-fashion-mnist, or pass --data <dir>`,
      ),
    );
    // deno-lint-ignore no-explicit-any
    await assert.rejects(() => loadFashion({ split: "valid" as any }), /split must be "train" or "test"/);
    // Files that are there but wrong: the error names the file.
    const labels = gzipSync(Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 1, 3]));
    await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte.gz`, labels);
    await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte.gz`, labels);
    await assert.rejects(
      () => loadFashion({ split: "test", dir }),
      new RegExp(`${dir}/t10k-images-idx3-ubyte.gz: expected 3 dimensions`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
