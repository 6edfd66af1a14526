import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { CLASS_ID, labelMapImage, NUM_SCENE_CLASSES, SCENE_CLASSES } from "./scene_classes.ts";
import { renderScene, sceneBatch, sceneImage } from "./scenes.ts";

await initBackend({ backend: "cpu" });

Deno.test("renderScene is deterministic and sized", () => {
  for (const size of [32, 64, 128]) {
    const a = renderScene(5, { size });
    const b = renderScene(5, { size });
    assert.equal(a.image.length, size * size * 3);
    assert.equal(a.labels.length, size * size);
    assert.deepEqual(a.image, b.image);
    assert.deepEqual(a.labels, b.labels);
  }
  assert.equal(renderScene(5).size, 64, "default size 64");
  assert.notDeepEqual(renderScene(5).image, renderScene(6).image);
  // One seed, one layout at every size.
  assert.deepEqual(renderScene(9, { size: 32 }).layout, renderScene(9, { size: 128 }).layout);
  assert.throws(() => renderScene(1, { size: 10 }), /size: Expected an integer ≥ 16, got 10/);
  assert.throws(() => renderScene(-1), /seed: Expected a non-negative safe integer/);
});

Deno.test("labels are crisp class ids and the scene reads top to bottom", () => {
  const counts = new Array(NUM_SCENE_CLASSES).fill(0);
  for (let seed = 0; seed < 100; seed++) {
    const { labels, layout, size } = renderScene(seed);
    for (const l of labels) counts[l]++;
    // Sky (or a cloud or the sun, or a spire) in the top row somewhere; ground-like in the bottom row.
    const top = labels.subarray(0, size);
    assert.ok(top.some((l) => l === CLASS_ID.sky || l === CLASS_ID.cloud), `seed ${seed}: no sky on top`);
    const bottom = [...labels.subarray((size - 1) * size)];
    const groundLike = [
      CLASS_ID.ground,
      CLASS_ID.road,
      CLASS_ID.water,
      CLASS_ID.tree,
      CLASS_ID.wall,
      CLASS_ID.door,
    ];
    assert.ok(bottom.every((l) => groundLike.includes(l as 3)), `seed ${seed}: sky at the bottom`);
    if (layout.foreground.kind === "water") assert.ok(bottom.includes(CLASS_ID.water));
  }
  // Every class shows up in 100 scenes; ids stay in the table.
  counts.forEach((c, id) => assert.ok(c > 0, `class ${SCENE_CLASSES[id].name} never drawn`));
  assert.equal(counts.length, NUM_SCENE_CLASSES);
});

Deno.test("sceneBatch matches renderScene and leaks nothing", () => {
  const before = tf.memory().numTensors;
  const { images, labels } = sceneBatch([3, 4], { size: 32 });
  assert.deepEqual(images.shape, [2, 32, 32, 3]);
  assert.deepEqual(labels.shape, [2, 32, 32]);
  assert.equal(images.dtype, "float32");
  assert.equal(labels.dtype, "int32");
  const values = images.dataSync();
  const scene = renderScene(4, { size: 32 });
  const offset = 32 * 32 * 3;
  for (let k = 0; k < offset; k++) {
    assert.ok(Math.abs(values[offset + k] - (scene.image[k] / 127.5 - 1)) < 1e-6);
  }
  assert.ok(values.every((v) => v >= -1 && v <= 1));
  assert.deepEqual([...labels.dataSync().subarray(32 * 32)], [...scene.labels]);
  tf.dispose([images, labels]);
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => sceneBatch([]), /Expected at least one seed/);
});

Deno.test("labelMapImage and sceneImage wrap bytes for viewing", () => {
  const scene = renderScene(2, { size: 16 });
  const raw = sceneImage(scene);
  assert.deepEqual([raw.height, raw.width, raw.channels], [16, 16, 3]);
  assert.equal(raw.data, scene.image);
  const map = labelMapImage(scene.labels, { height: 16, width: 16 });
  assert.deepEqual([...map.data.subarray(0, 3)], [...SCENE_CLASSES[scene.labels[0]].display]);
  assert.throws(
    () => labelMapImage(new Uint8Array(3), { height: 2, width: 2 }),
    /Expected 2\*2 = 4 labels, got 3/,
  );
});
