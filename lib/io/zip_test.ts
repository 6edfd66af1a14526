import { strict as assert } from "node:assert";
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import { isZip, openZip } from "./zip.ts";

/** Little-endian byte builder for hand-made archives. */
class Bytes {
  #parts: number[] = [];
  get length(): number {
    return this.#parts.length;
  }
  u16(v: number): this {
    this.#parts.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  u64(v: number): this {
    return this.u32(v % 2 ** 32).u32(Math.floor(v / 2 ** 32));
  }
  bytes(b: Uint8Array): this {
    this.#parts.push(...b);
    return this;
  }
  build(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}

interface FileSpec {
  name: string;
  data: Uint8Array;
  /** 0 = stored, 8 = deflate. */
  method: number;
  /** A CRC-32 to record instead of the right one. */
  crc?: number;
}

/** A zip archive of `files`; with `zip64`, sizes and offsets go to zip64 records as for huge archives. */
function makeZip(files: FileSpec[], zip64 = false): Uint8Array {
  const out = new Bytes();
  const central = new Bytes();
  const name = (f: FileSpec) => new TextEncoder().encode(f.name);
  for (const f of files) {
    const packed = f.method === 8 ? new Uint8Array(deflateRawSync(f.data)) : f.data;
    const crc = f.crc ?? crc32(f.data) >>> 0;
    const offset = out.length;
    out.u32(0x04034b50).u16(20).u16(0).u16(f.method).u32(0).u32(crc).u32(packed.length).u32(f.data.length);
    out.u16(name(f).length).u16(3).bytes(name(f)).bytes(Uint8Array.of(0, 0, 0)).bytes(packed); // 3 bytes of extra
    const big = zip64 ? 0xffffffff : -1;
    central.u32(0x02014b50).u16(20).u16(20).u16(0).u16(f.method).u32(0).u32(crc);
    central.u32(zip64 ? big : packed.length).u32(zip64 ? big : f.data.length);
    central.u16(name(f).length).u16(zip64 ? 28 : 0).u16(0).u16(0).u16(0).u32(0).u32(zip64 ? big : offset);
    central.bytes(name(f));
    if (zip64) central.u16(1).u16(24).u64(f.data.length).u64(packed.length).u64(offset);
  }
  const dirOffset = out.length;
  const dir = central.build();
  out.bytes(dir);
  if (zip64) {
    const record = out.length;
    out.u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0).u64(files.length).u64(files.length);
    out.u64(dir.length).u64(dirOffset);
    out.u32(0x07064b50).u32(0).u64(record).u32(1);
    out.u32(0x06054b50).u16(0).u16(0).u16(0xffff).u16(0xffff).u32(0xffffffff).u32(0xffffffff).u16(0);
  } else {
    out.u32(0x06054b50).u16(0).u16(0).u16(files.length).u16(files.length).u32(dir.length).u32(dirOffset).u16(
      0,
    );
  }
  return out.build();
}

const text = (s: string) => new TextEncoder().encode(s);
const FILES: FileSpec[] = [
  { name: "a/stored.txt", data: text("stored entry"), method: 0 },
  { name: "a/deflated.txt", data: text("deflated ".repeat(50)), method: 8 },
  { name: "a/empty", data: new Uint8Array(0), method: 0 },
];

Deno.test("openZip reads stored and deflated entries, plain and zip64", () => {
  for (const zip64 of [false, true]) {
    const bytes = makeZip(FILES, zip64);
    assert.ok(isZip(bytes));
    const zip = openZip(bytes, { source: "t.zip" });
    assert.deepEqual([...zip.entries.keys()], FILES.map((f) => f.name));
    for (const f of FILES) assert.deepEqual(zip.read(f.name), f.data, `${f.name}, zip64 ${zip64}`);
  }
});

Deno.test("openZip lists a PyTorch archive", async () => {
  const path = join(import.meta.dirname!, "../../tests/fixtures/pth/model_zip.pth");
  const zip = openZip(await Deno.readFile(path), { source: path });
  assert.ok(zip.entries.has("model_zip/data.pkl"));
  assert.equal(zip.entries.get("model_zip/data/0")!.method, 0, "PyTorch stores entries uncompressed");
  assert.equal(zip.read("model_zip/version").length, 2);
});

Deno.test("openZip names the archive on corrupt, truncated or unsupported input", () => {
  const good = makeZip(FILES);
  assert.throws(() => openZip(good.subarray(0, good.length - 30), { source: "cut.zip" }), {
    message: "cut.zip: zip end-of-central-directory record not found (truncated or not a zip archive)",
  });
  assert.throws(
    () => openZip(text("PK\x03\x04 not really"), { source: "fake.zip" }),
    /^Error: fake\.zip: zip end/,
  );
  assert.throws(() => openZip(good, { source: "t.zip" }).read("missing"), {
    message: "t.zip: zip entry 'missing' not found",
  });

  const badCrc = makeZip([{ ...FILES[0], crc: 1234 }]);
  assert.throws(() => openZip(badCrc, { source: "crc.zip" }).read(FILES[0].name), {
    message: "crc.zip: zip entry 'a/stored.txt' fails its CRC-32 check",
  });
  assert.deepEqual(openZip(badCrc, { checkCrc: false }).read(FILES[0].name), FILES[0].data);

  const bzip2 = makeZip([{ ...FILES[0], method: 12 }]);
  assert.throws(() => openZip(bzip2, { source: "bz.zip" }).read(FILES[0].name), {
    message: "bz.zip: zip entry 'a/stored.txt' uses unsupported compression method 12",
  });

  // Garbage where the deflated bytes should be.
  const broken = makeZip([FILES[1]]);
  broken.fill(0xff, 30 + FILES[1].name.length + 3, 30 + FILES[1].name.length + 13);
  assert.throws(
    () => openZip(broken, { source: "inflate.zip" }).read(FILES[1].name),
    /^Error: inflate\.zip: zip entry 'a\/deflated\.txt' fails to inflate/,
  );
});
