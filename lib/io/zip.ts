/**
 * A minimal read-only zip reader, enough for PyTorch (>= 1.6) checkpoints: it reads the central directory
 * (zip64 included), and extracts stored entries (what PyTorch writes) or deflated ones (through
 * `node:zlib`), checking each entry's CRC-32. No encryption, no multi-disk archives.
 *
 * Every field is bounds-checked against the file, and a deflated entry is inflated with its declared size
 * as the output limit, so a small entry that would inflate to gigabytes fails at its declared size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openZip } from "./zip.ts";
 * const zip = openZip(await Deno.readFile("tests/fixtures/pth/model_zip.pth"), { source: "model_zip.pth" });
 * assert.deepEqual([...zip.entries.keys()].slice(0, 2), ["model_zip/data.pkl", "model_zip/data/0"]); // of 27
 * const pickle = zip.read("model_zip/data.pkl"); // Uint8Array
 * assert.deepEqual([...pickle.subarray(0, 2)], [0x80, 2]); // pickle protocol 2
 * ```
 * @module
 */
import { crc32, inflateRawSync } from "node:zlib";

/** One file of a zip archive, as its central-directory record describes it. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Byte offset of the entry's local file header. */
  localHeaderOffset: number;
}

/** An opened archive; {@link ZipArchive.read} extracts one entry. */
export interface ZipArchive {
  /** Entries by name, in central-directory order. */
  entries: Map<string, ZipEntry>;
  /** The uncompressed bytes of entry `name` (a view into the archive for stored entries). */
  read(name: string): Uint8Array;
}

/** Options of {@link openZip}. */
export interface OpenZipOptions {
  /** Name used in error messages (a file path); default `"<bytes>"`. */
  source?: string;
  /** Verify each entry's CRC-32 when it is read; default `true`. */
  checkCrc?: boolean;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const U32_MAX = 0xffffffff;
/** Deflate's largest expansion: 258 bytes per 2 bits (1-bit length and distance codes), 1032:1. */
const MAX_DEFLATE_RATIO = 1032;
/** Largest inflated entry: 2^31 − 1 bytes, which a `Uint8Array` can hold on every host. */
const MAX_INFLATED_BYTES = 2 ** 31 - 1;

/** `s` with control characters escaped and cut to 120 characters, to quote in a one-line error. */
function printable(s: string): string {
  const cut = s.length > 120 ? s.slice(0, 120) + "…" : s;
  return cut.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Whether `bytes` starts like a zip archive (a local file header). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 &&
    bytes[3] === 0x04;
}

/**
 * Reads the central directory of the zip archive in `bytes`. Throws, naming `options.source`, if the archive
 * is truncated or malformed.
 */
export function openZip(bytes: Uint8Array, options: OpenZipOptions = {}): ZipArchive {
  const source = options.source ?? "<bytes>";
  const checkCrc = options.checkCrc ?? true;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  const u64 = (at: number): number => {
    const v = view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`zip: 64-bit field ${v} at byte ${at} is too large`);
    return Number(v);
  };

  // The end-of-central-directory record is 22 bytes plus a comment of at most 65535 bytes.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= 0 && i >= bytes.length - 22 - 0xffff; i--) {
    if (view.getUint32(i, true) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail("zip end-of-central-directory record not found (truncated or not a zip archive)");
  let count = view.getUint16(eocd + 10, true);
  let dirSize = view.getUint32(eocd + 12, true);
  let dirOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || dirSize === U32_MAX || dirOffset === U32_MAX) {
    const locator = eocd - 20;
    if (locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR_SIG) fail("zip64 locator missing");
    const record = u64(locator + 8);
    if (record + 56 > bytes.length || view.getUint32(record, true) !== ZIP64_EOCD_SIG) {
      fail("zip64 end-of-central-directory record missing or out of range");
    }
    count = u64(record + 32);
    dirSize = u64(record + 40);
    dirOffset = u64(record + 48);
  }
  if (dirOffset + dirSize > bytes.length) {
    fail(
      `zip central directory [${dirOffset}, ${
        dirOffset + dirSize
      }) lies beyond the ${bytes.length}-byte file`,
    );
  }

  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder();
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > dirOffset + dirSize || view.getUint32(at, true) !== CENTRAL_SIG) {
      fail(`zip central directory record ${i} at byte ${at} is malformed`);
    }
    const flags = view.getUint16(at + 8, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const recordEnd = at + 46 + nameLength + extraLength + commentLength;
    if (recordEnd > dirOffset + dirSize) {
      fail(`zip central directory record ${i} at byte ${at} runs past the end of the directory`);
    }
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    const entry: ZipEntry = {
      name,
      method: view.getUint16(at + 10, true),
      crc32: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      localHeaderOffset: view.getUint32(at + 42, true),
    };
    if (flags & 1) fail(`zip entry '${printable(name)}' is encrypted`);
    readZip64Extra(entry, at + 46 + nameLength, extraLength);
    entries.set(name, entry);
    at = recordEnd;
  }

  // Zip64 sizes/offsets live in extra field 0x0001, present only for the fields saturated at 0xffffffff,
  // in the order size, compressed size, header offset. Every read stays inside the field.
  function readZip64Extra(entry: ZipEntry, start: number, length: number): void {
    const saturated = (["size", "compressedSize", "localHeaderOffset"] as const).filter((f) =>
      entry[f] === U32_MAX
    );
    if (saturated.length === 0) return;
    const end = start + length;
    for (let p = start; p + 4 <= end;) {
      const id = view.getUint16(p, true);
      const size = view.getUint16(p + 2, true);
      if (p + 4 + size > end) break;
      if (id === 1) {
        if (size < 8 * saturated.length) {
          fail(
            `zip entry '${printable(entry.name)}': its zip64 extra field has ${size} bytes, ` +
              `${8 * saturated.length} needed for ${saturated.join(", ")}`,
          );
        }
        saturated.forEach((f, k) => entry[f] = u64(p + 4 + 8 * k));
        return;
      }
      p += 4 + size;
    }
    fail(`zip entry '${printable(entry.name)}' lacks its zip64 extra field`);
  }

  function read(name: string): Uint8Array {
    const entry = entries.get(name);
    const shown = printable(name);
    if (entry === undefined) return fail(`zip entry '${shown}' not found`);
    const h = entry.localHeaderOffset;
    if (h + 30 > bytes.length || view.getUint32(h, true) !== LOCAL_SIG) {
      fail(`zip local header of '${shown}' at byte ${h} is missing (truncated file?)`);
    }
    const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
    const end = start + entry.compressedSize;
    if (end > bytes.length) {
      fail(
        `zip entry '${shown}' needs bytes [${start}, ${end}) but the file has ${bytes.length} ` +
          `(truncated file?)`,
      );
    }
    const raw = bytes.subarray(start, end);
    let data: Uint8Array;
    if (entry.method === 0) data = raw;
    else if (entry.method === 8) {
      // Deflate expands at most ~1032:1, so a larger declared size is a lie told before inflating anything;
      // and the output may not exceed the declared size (a small entry must not inflate to gigabytes first).
      if (entry.size > MAX_DEFLATE_RATIO * raw.length + 1024) {
        fail(
          `zip entry '${shown}' declares ${entry.size} bytes, more than deflate can make of ${raw.length}`,
        );
      }
      if (entry.size > MAX_INFLATED_BYTES) {
        fail(
          `zip entry '${shown}' declares ${entry.size} bytes, more than the ${MAX_INFLATED_BYTES} supported`,
        );
      }
      try {
        // maxOutputLength must be ≥ 1; an empty entry that inflates to 1 byte fails the size check below.
        data = new Uint8Array(inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) }));
      } catch (e) {
        if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
          return fail(`zip entry '${shown}' inflates to more than its declared ${entry.size} bytes`);
        }
        return fail(`zip entry '${shown}' fails to inflate: ${printable((e as Error).message)}`);
      }
    } else return fail(`zip entry '${shown}' uses unsupported compression method ${entry.method}`);
    if (data.length !== entry.size) {
      fail(`zip entry '${shown}' has ${data.length} bytes, expected ${entry.size}`);
    }
    if (checkCrc && crc32(data) >>> 0 !== entry.crc32) fail(`zip entry '${shown}' fails its CRC-32 check`);
    return data;
  }

  return { entries, read };
}
