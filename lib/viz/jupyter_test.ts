import { strict as assert } from "node:assert";
import { Buffer } from "node:buffer";
import { decodePng } from "../io/png.ts";
import { imageBundle, inJupyter, showImage } from "./jupyter.ts";

const red = { data: new Uint8Array([255, 0, 0, 255, 0, 0]), height: 1, width: 2, channels: 3 };

Deno.test("imageBundle holds a base64 PNG and a text summary", async () => {
  const bundle = await imageBundle(red);
  assert.equal(bundle["text/plain"], "<image 2x1, 3 channel(s)>");
  const png = new Uint8Array(Buffer.from(bundle["image/png"], "base64"));
  assert.deepEqual(await decodePng(png), red);
});

Deno.test("showImage outside Jupyter explains where it works", async () => {
  assert.equal(inJupyter(), false);
  await assert.rejects(() => showImage(red), /showImage needs the Deno Jupyter kernel/);
});
