/**
 * A minimal read-only zip reader, enough for PyTorch (>= 1.6) checkpoints: it reads the central directory
 * (zip64 included), and extracts stored entries (what PyTorch writes) or deflated ones (through
 * `node:zlib`), checking each entry's CRC-32. No encryption, no multi-disk archives.
 *
 * @example
 * ```ts
 * import { openZip } from "./zip.ts";
 * const zip = openZip(await Deno.readFile("tests/fixtures/pth/model_zip.pth"), { source: "model_zip.pth" });
 * console.log([...zip.entries.keys()]); // ["model_zip/data.pkl", "model_zip/data/0", ...]
 * const pickle = zip.read("model_zip/data.pkl"); // Uint8Array
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
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    const entry: ZipEntry = {
      name,
      method: view.getUint16(at + 10, true),
      crc32: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      localHeaderOffset: view.getUint32(at + 42, true),
    };
    if (flags & 1) fail(`zip entry '${name}' is encrypted`);
    readZip64Extra(entry, at + 46 + nameLength, extraLength);
    entries.set(name, entry);
    at += 46 + nameLength + extraLength + commentLength;
  }

  // Zip64 sizes/offsets live in extra field 0x0001, present only for the fields saturated at 0xffffffff.
  function readZip64Extra(entry: ZipEntry, start: number, length: number): void {
    const needs = [entry.size, entry.compressedSize, entry.localHeaderOffset].some((v) => v === U32_MAX);
    if (!needs) return;
    for (let p = start; p + 4 <= start + length;) {
      const id = view.getUint16(p, true);
      const size = view.getUint16(p + 2, true);
      if (id === 1) {
        let q = p + 4;
        if (entry.size === U32_MAX) {
          entry.size = u64(q);
          q += 8;
        }
        if (entry.compressedSize === U32_MAX) {
          entry.compressedSize = u64(q);
          q += 8;
        }
        if (entry.localHeaderOffset === U32_MAX) entry.localHeaderOffset = u64(q);
        return;
      }
      p += 4 + size;
    }
    fail(`zip entry '${entry.name}' lacks its zip64 extra field`);
  }

  function read(name: string): Uint8Array {
    const entry = entries.get(name);
    if (entry === undefined) return fail(`zip entry '${name}' not found`);
    const h = entry.localHeaderOffset;
    if (h + 30 > bytes.length || view.getUint32(h, true) !== LOCAL_SIG) {
      fail(`zip local header of '${name}' at byte ${h} is missing (truncated file?)`);
    }
    const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
    const end = start + entry.compressedSize;
    if (end > bytes.length) {
      fail(
        `zip entry '${name}' needs bytes [${start}, ${end}) but the file has ${bytes.length} (truncated file?)`,
      );
    }
    const raw = bytes.subarray(start, end);
    let data: Uint8Array;
    if (entry.method === 0) data = raw;
    else if (entry.method === 8) {
      try {
        data = new Uint8Array(inflateRawSync(raw));
      } catch (e) {
        return fail(`zip entry '${name}' fails to inflate: ${(e as Error).message}`);
      }
    } else return fail(`zip entry '${name}' uses unsupported compression method ${entry.method}`);
    if (data.length !== entry.size) {
      fail(`zip entry '${name}' has ${data.length} bytes, expected ${entry.size}`);
    }
    if (checkCrc && crc32(data) >>> 0 !== entry.crc32) fail(`zip entry '${name}' fails its CRC-32 check`);
    return data;
  }

  return { entries, read };
}
