import { strict as assert } from "node:assert";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { decodePng, encodePng, isPng, listPngs, loadPng, loadPngRaw, savePng } from "./png.ts";
import { convertChannels, type RawImage, toRawImage, toRawImages } from "./raw_image.ts";

await initBackend({ backend: "cpu" });

/** Every byte value 0..255 appears, in a scrambled order. */
function testImage(height: number, width: number, channels: number): RawImage {
  const data = new Uint8Array(height * width * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + 11) % 256;
  return { data, height, width, channels };
}

Deno.test("PNG round trip of a RawImage is exact", async () => {
  for (const channels of [1, 3, 4]) {
    const img = testImage(9, 31, channels);
    const bytes = await encodePng(img);
    assert.ok(isPng(bytes));
    const back = await decodePng(bytes, { channels: channels as 1 | 3 | 4 });
    assert.deepEqual(back, img);
  }
});

Deno.test("PNG round trip of a [-1,1] tensor through a file gives the same values", async () => {
  const root = await Deno.makeTempDir({ prefix: "png_test_" });
  try {
    const img = testImage(16, 16, 3);
    const before = tf.memory().numTensors;
    const t = tf.tidy(() => tf.sub(tf.div(tf.tensor4d(img.data, [1, 16, 16, 3], "float32"), 127.5), 1));
    const path = join(root, "sub", "x.png");
    await savePng(path, t);
    const loaded = await loadPng(path); // [16, 16, 3] in [0, 1]
    assert.deepEqual(loaded.shape, [16, 16, 3]);
    const bytes = Array.from(loaded.dataSync(), (v) => Math.round(v * 255));
    assert.deepEqual(bytes, Array.from(img.data));
    assert.deepEqual(await loadPngRaw(path), img);
    tf.dispose([t, loaded]);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("value ranges are mapped and clamped", () => {
  const before = tf.memory().numTensors;
  const t = tf.tensor3d([-2, -1, 0, 0.5, 1, 2], [1, 6, 1]);
  assert.deepEqual(Array.from(toRawImage(t).data), [0, 0, 128, 191, 255, 255]);
  assert.deepEqual(Array.from(toRawImage(t, { range: "0,1" }).data), [0, 0, 0, 128, 255, 255]);
  const u = tf.tensor3d([-5, 0, 100.4, 300], [2, 2, 1]);
  assert.deepEqual(Array.from(toRawImage(u, { range: "uint8" }).data), [0, 0, 100, 255]);
  const batch = tf.zeros([2, 3, 4, 3]);
  const imgs = toRawImages(batch);
  assert.equal(imgs.length, 2);
  assert.deepEqual([imgs[1].height, imgs[1].width, imgs[1].channels], [3, 4, 3]);
  tf.dispose([t, u, batch]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("shape errors are clear", () => {
  const bad = tf.zeros([3, 4]);
  assert.throws(() => toRawImage(bad), /Expected an image \[H,W,C\] or \[1,H,W,C\].*got \[3,4\]/);
  assert.throws(() => toRawImages(bad), /Expected images \[N,H,W,C\].*got \[3,4\]/);
  bad.dispose();
  assert.throws(
    () => toRawImage({ data: new Uint8Array(5), height: 2, width: 2, channels: 1 }),
    /data has 5 bytes, expected 2\*2\*1 = 4/,
  );
});

Deno.test("grey and RGBA PNGs decode to 1 and 3 channels by default", async () => {
  const grey = testImage(4, 5, 1);
  assert.equal((await decodePng(await encodePng(grey))).channels, 1);
  const rgba = testImage(4, 5, 4);
  const rgb = await decodePng(await encodePng(rgba));
  assert.deepEqual(rgb, convertChannels(rgba, 3));
  const asRgb = await decodePng(await encodePng(grey), { channels: 3 });
  assert.deepEqual(asRgb, convertChannels(grey, 3));
});

Deno.test("load errors name the file", async () => {
  const root = await Deno.makeTempDir({ prefix: "png_test_" });
  try {
    const missing = join(root, "missing.png");
    await assert.rejects(() => loadPng(missing), new RegExp(`PNG file not found: ${missing}`));
    const text = join(root, "notes.png");
    await Deno.writeTextFile(text, "not an image at all");
    await assert.rejects(() => loadPngRaw(text), new RegExp(`${text} is not a PNG file`));
    const truncated = join(root, "truncated.png");
    const bytes = await encodePng(testImage(8, 8, 3));
    await Deno.writeFile(truncated, bytes.subarray(0, 40));
    await assert.rejects(() => loadPngRaw(truncated), new RegExp(`Could not decode ${truncated}`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("grey PNGs with alpha and 16-bit PNGs decode to 8-bit", async () => {
  const sharp = (await import("sharp")).default;
  const greyAlpha = testImage(3, 4, 2);
  const png = await sharp(greyAlpha.data, { raw: { width: 4, height: 3, channels: 2 } })
    .toColourspace("b-w").png().toBuffer();
  assert.deepEqual(await decodePng(png), convertChannels(greyAlpha, 1));
  const wide = new Uint16Array([0, 257 * 10, 65535, 257 * 200]);
  const png16 = await sharp(wide, { raw: { width: 2, height: 2, channels: 1 } })
    .toColourspace("grey16").png().toBuffer();
  const img16 = await decodePng(png16);
  assert.equal(img16.channels, 1);
  assert.deepEqual(Array.from(img16.data), [0, 10, 255, 200]);
});

Deno.test("listPngs: a folder's PNG files, sorted by name; a missing or empty folder is an error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const name of ["b.png", "a.PNG", "c.png"]) {
      await savePng(join(dir, name), { data: new Uint8Array(3), height: 1, width: 1, channels: 3 });
    }
    await Deno.writeTextFile(join(dir, "notes.txt"), "not an image");
    await Deno.mkdir(join(dir, "sub.png"));
    const files = await listPngs(dir);
    assert.deepEqual(files, ["a.PNG", "b.png", "c.png"].map((f) => join(dir, f)));
    await assert.rejects(() => listPngs(join(dir, "does-not-exist-ganatomy")));
    const empty = join(dir, "empty");
    await Deno.mkdir(empty);
    await assert.rejects(() => listPngs(empty), /empty: no .png files/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
