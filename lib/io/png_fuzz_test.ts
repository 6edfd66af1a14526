/**
 * Fuzzing the PNG decoder (sharp): seeded mutations of small PNGs, half of them with their chunk CRCs
 * repaired so that they reach the decoder, either decode or fail with a one-line `Error` naming the file,
 * quickly; plus the tiny PNG declaring a huge image that an earlier fuzzing pass found.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import { concat, expectReaderError, fuzzReader, latin1, mutate, rssGrowth } from "./fuzz_test_util.ts";
import { decodePng, encodePng, loadPngRaw, MAX_PNG_PIXELS } from "./png.ts";

/** A chunk: length, type, data, CRC of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const body = concat([latin1(type), data]);
  const out = new Uint8Array(8 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(body, 4);
  view.setUint32(4 + body.length, crc32(body) >>> 0);
  return out;
}

/** A PNG declaring `width` x `height` pixels of `depth` bits and colour `type`, with `idat` as its data. */
function pngOf(width: number, height: number, depth: number, type: number, idat: Uint8Array): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([depth, type, 0, 0, 0], 8);
  return concat([
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

/** `bytes` with the CRC of every whole chunk recomputed (a mutated chunk then reaches the decoder). */
function fixCrcs(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  for (let at = 8; at + 12 <= out.length;) {
    const length = view.getUint32(at);
    if (at + 12 + length > out.length) break;
    view.setUint32(at + 8 + length, crc32(out.subarray(at + 4, at + 8 + length)) >>> 0);
    at += 12 + length;
  }
  return out;
}

Deno.test("fuzz: mutated PNGs decode or fail with an error naming the file", async () => {
  const sharp = (await import("sharp")).default;
  const image = (h: number, w: number, c: number) => ({
    data: Uint8Array.from({ length: h * w * c }, (_, i) => (i * 37 + 11) % 256),
    height: h,
    width: w,
    channels: c,
  });
  const wide = new Uint16Array([0, 2570, 65535, 51400]);
  const inputs = [
    await encodePng(image(4, 5, 1)),
    await encodePng(image(3, 4, 3)),
    await encodePng(image(2, 3, 4)),
    new Uint8Array(
      await sharp(wide, { raw: { width: 2, height: 2, channels: 1 } }).toColourspace("grey16").png()
        .toBuffer(),
    ),
  ];
  for (const input of inputs) await decodePng(input, { name: "valid.png" });
  const start = performance.now();
  const report = await fuzzReader({
    inputs,
    iterations: 1500,
    seed: 8,
    name: "fuzzed.png",
    read: (bytes, name) => decodePng(bytes, { name }),
    fields: [8, 16, 20, 24, 25, 33],
    mutation: (rng, input) => {
      const bytes = mutate(rng, input, inputs, { fields: [8, 16, 20, 24, 25, 33] });
      return rng.int(2) === 0 ? fixCrcs(bytes) : bytes;
    },
  });
  assert.ok(report.parsed > 0 && report.refused > 0, JSON.stringify(report));
  assert.ok(performance.now() - start < 15_000, `fuzzing took ${performance.now() - start} ms`);
});

Deno.test("regression: a 115-byte PNG declaring 75505667 x 3 pixels is refused from its header", async () => {
  const dir = await Deno.makeTempDir({ prefix: "png_fuzz_" });
  try {
    const path = join(dir, "huge.png");
    const idat = new Uint8Array(deflateSync(new Uint8Array(40).fill(7)));
    const bytes = pngOf(75505667, 3, 16, 2, idat);
    assert.ok(bytes.length < 120, `${bytes.length} bytes`);
    await Deno.writeFile(path, bytes);
    // It took 7-10 s and 5.1 GB in sharp.
    const growth = await rssGrowth(() =>
      expectReaderError(
        () => loadPngRaw(path),
        path,
        5000,
        new RegExp(
          `^Could not decode ${path}: its header declares 75505667 x 3 pixels, more than the 67108864`,
        ),
      )
    );
    assert.ok(growth < 2 ** 30, `rss grew by ${growth} bytes`);
    // Within the bound, an image whose data is missing fails in the decoder, quickly too.
    const side = Math.sqrt(MAX_PNG_PIXELS);
    await expectReaderError(() => decodePng(pngOf(side, side, 16, 6, idat), { name: "big.png" }), "big.png");
    await expectReaderError(() => decodePng(pngOf(0, 3, 8, 2, idat), { name: "zero.png" }), "zero.png");
    await expectReaderError(
      () => decodePng(pngOf(2, 2, 8, 2, idat).subarray(0, 20), { name: "cut.png" }),
      "cut.png",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
