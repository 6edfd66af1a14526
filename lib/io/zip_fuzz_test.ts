/**
 * Fuzzing the zip reader: seeded mutations of archives (stored, deflated, zip64, a PyTorch checkpoint)
 * either open and extract or fail with a one-line `Error` naming the archive, quickly; plus the inputs an
 * earlier fuzzing pass found (a zip64 extra field read past its end, a deflate bomb).
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import {
  concat,
  deflateBomb,
  expectReaderError,
  fuzzReader,
  latin1,
  makeZip,
  rssGrowth,
} from "./fuzz_test_util.ts";
import { openZip } from "./zip.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** Opens the archive and extracts every entry. */
function readAll(bytes: Uint8Array, name: string): number {
  const zip = openZip(bytes, { source: name });
  let total = 0;
  for (const entry of zip.entries.keys()) total += zip.read(entry).length;
  return total;
}

/** Offsets of the 2-, 4- and 8-byte fields of the records whose signatures occur in `bytes`. */
function fieldOffsets(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Record<number, number[]> = {
    0x04034b50: [18, 22, 26, 28], // local header: sizes, name and extra lengths
    0x02014b50: [20, 24, 28, 30, 32, 42], // central record: sizes, lengths, header offset
    0x06054b50: [8, 10, 12, 16, 20], // end of central directory: counts, size, offset, comment length
    0x06064b50: [24, 32, 40, 48], // zip64 end record: counts, size, offset
    0x07064b50: [8], // zip64 locator: record offset
  };
  const out: number[] = [];
  for (let i = 0; i + 4 <= bytes.length; i++) {
    for (const f of fields[view.getUint32(i, true)] ?? []) out.push(i + f);
  }
  return out;
}

/** Little-endian fields: `[size in bytes, value]` pairs. */
function fieldsLE(...fields: [number, number][]): Uint8Array {
  return concat(
    fields.map(([size, v]) => Uint8Array.from({ length: size }, (_, k) => Math.floor(v / 256 ** k) & 0xff)),
  );
}

/** A zip64 archive of one stored entry whose sizes and offset live in the extra field `extra`. */
function zip64With(extra: Uint8Array, data = text("zip64 entry")): Uint8Array {
  const name = text("e");
  const crc = crc32(data) >>> 0;
  // signature, versions, flags, method, time, CRC, sizes, name and extra lengths
  const local = concat([
    fieldsLE([4, 0x04034b50], [2, 45], [2, 0], [2, 0], [4, 0], [4, crc], [4, data.length], [4, data.length]),
    fieldsLE([2, name.length], [2, 0]),
    name,
    data,
  ]);
  // ... then comment length, disk, attributes, header offset: sizes and offset saturated (in `extra`)
  const central = concat([
    fieldsLE([4, 0x02014b50], [2, 45], [2, 45], [2, 0], [2, 0], [4, 0], [4, crc], [4, 0xffffffff], [
      4,
      0xffffffff,
    ]),
    fieldsLE([2, name.length], [2, extra.length], [2, 0], [2, 0], [2, 0], [4, 0], [4, 0xffffffff]),
    name,
    extra,
  ]);
  const eocd = fieldsLE([4, 0x06054b50], [2, 0], [2, 0], [2, 1], [2, 1], [4, central.length], [
    4,
    local.length,
  ], [2, 0]);
  return concat([local, central, eocd]);
}

Deno.test("fuzz: mutated archives open or fail with an error naming the archive", async () => {
  const deflated = text("deflated ".repeat(50));
  const inputs = [
    makeZip([
      { name: "a/stored.txt", data: text("stored entry") },
      { name: "a/deflated.txt", data: deflated, packed: new Uint8Array(deflateRawSync(deflated)), method: 8 },
      { name: "a/empty", data: new Uint8Array(0) },
    ]),
    zip64With(
      concat([Uint8Array.of(1, 0, 24, 0), new Uint8Array(new BigUint64Array([11n, 11n, 0n]).buffer)]),
    ),
    await Deno.readFile(join(import.meta.dirname!, "../../tests/fixtures/pth/nested_zip.pth")),
  ];
  for (const input of inputs) readAll(input, "valid.zip"); // every input is valid before mutation
  const fields = inputs.flatMap(fieldOffsets);
  const start = performance.now();
  const report = await fuzzReader({
    inputs,
    iterations: 4000,
    seed: 4,
    name: "fuzzed.zip",
    read: readAll,
    fields,
  });
  assert.ok(report.parsed > 0 && report.refused > 0, JSON.stringify(report));
  assert.ok(performance.now() - start < 15_000, `fuzzing took ${performance.now() - start} ms`);
});

Deno.test("regression: a zip64 extra field too short for its saturated fields is an error", async () => {
  // The sizes and offset are saturated at 0xffffffff but the extra field holds no value (or one of three).
  for (const extra of [Uint8Array.of(1, 0, 0, 0), concat([Uint8Array.of(1, 0, 8, 0), new Uint8Array(8)])]) {
    await expectReaderError(
      () => readAll(zip64With(extra), "short64.zip"),
      "short64.zip",
      5000,
      /^short64\.zip: zip entry 'e': its zip64 extra field has \d+ bytes, 24 needed for size, compressedSize, localHeaderOffset$/,
    );
  }
  // An extra field whose declared length runs past the record (and the file).
  await expectReaderError(
    () => readAll(zip64With(Uint8Array.of(1, 0, 0xff, 0xff)), "long64.zip"),
    "long64.zip",
    5000,
    /^long64\.zip: zip entry 'e' lacks its zip64 extra field$/,
  );
  // A record whose extra length runs past the central directory, at the very end of the file.
  const cut = zip64With(concat([Uint8Array.of(1, 0, 24, 0), new Uint8Array(24)]));
  const view = new DataView(cut.buffer);
  let central = 0;
  while (view.getUint32(central, true) !== 0x02014b50) central++;
  view.setUint16(central + 30, 0xfff0, true);
  await expectReaderError(
    () => readAll(cut, "past.zip"),
    "past.zip",
    5000,
    /runs past the end of the directory/,
  );
});

Deno.test("regression: a deflate bomb declared as 10 bytes fails at 10 bytes, not after 1 GiB", async () => {
  const bomb = deflateBomb(latin1("0123456789"), 2 ** 30); // ~6.5 MB that inflate to 1 GiB
  const zip = makeZip([{ name: "bomb", data: latin1("0123456789"), packed: bomb, method: 8 }]);
  const growth = await rssGrowth(() =>
    expectReaderError(
      () => readAll(zip, "bomb.zip"),
      "bomb.zip",
      5000,
      /^bomb\.zip: zip entry 'bomb' inflates to more than its declared 10 bytes$/,
    )
  );
  assert.ok(growth < 2 ** 30, `rss grew by ${growth} bytes`);
  // A declared size that deflate cannot reach from so few bytes is refused before inflating.
  const liar = makeZip([{
    name: "x",
    data: text("x"),
    packed: new Uint8Array(deflateRawSync(text("x"))),
    method: 8,
    declaredSize: 2 ** 31 - 2,
  }]);
  await expectReaderError(
    () => readAll(liar, "liar.zip"),
    "liar.zip",
    5000,
    /declares 2147483646 bytes, more than deflate/,
  );
  // An honest entry still inflates.
  const honest = text("abc".repeat(1000));
  assert.equal(
    readAll(
      makeZip([{ name: "h", data: honest, packed: new Uint8Array(deflateRawSync(honest)), method: 8 }]),
      "h.zip",
    ),
    3000,
  );
});
