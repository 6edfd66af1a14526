/**
 * Reader for the IDX format of MNIST-style data sets: a big-endian header (two zero bytes, a type code, the
 * number of dimensions, then each dimension as a uint32) followed by the values, optionally gzipped.
 *
 * Only unsigned-byte data (type code 0x08) is read, which is what MNIST and Fashion-MNIST use.
 *
 * @example
 * ```ts
 * import { parseIdx } from "./idx.ts";
 * const bytes = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]); // a 1-D IDX array of 3 bytes
 * const { dims, data } = parseIdx(bytes, { name: "tiny" }); // dims [3], data [7, 8, 9]
 * ```
 * @module
 */
import { readFileNamed } from "../io/read.ts";
import { constants, gunzipSync } from "node:zlib";

/** An IDX array: its dimensions and its values, row-major. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Options of {@link parseIdx} and {@link readIdxFile}. */
export interface IdxOptions {
  /** Name used in error messages (the file path when reading a file); default `"IDX data"`. */
  name?: string;
  /** Required number of dimensions (3 for images, 1 for labels); default any. */
  rank?: number;
}

/** The IDX type code of unsigned bytes. */
const UBYTE = 0x08;

/**
 * Largest IDX file accepted, header included: 2^31 − 1 bytes (2 GiB), the most a `Uint8Array` holds on every
 * host and four times EMNIST's largest file. A header announcing more is refused before any data is read.
 */
export const MAX_IDX_BYTES = 2 ** 31 - 1;

/** What the first bytes of an IDX file say: its dimensions and its total size in bytes. */
interface IdxHeader {
  dims: number[];
  headerSize: number;
  /** Header plus values. */
  totalSize: number;
}

/**
 * Reads the header at the start of `bytes` (the whole file, or only its beginning): undefined if `bytes` is
 * too short to hold it and `complete` is false; throws, naming `name`, if it is malformed, of another rank
 * than `rank`, or announces more than {@link MAX_IDX_BYTES}.
 */
function readHeader(bytes: Uint8Array, name: string, rank: number | undefined, complete: boolean) {
  if (bytes.length < 4) {
    if (!complete) return undefined;
    throw new Error(`${name}: not an IDX file (${bytes.length} bytes, no header)`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${name}: not an IDX file (bad magic number 0x${hex(bytes.subarray(0, 4))})`);
  }
  if (bytes[2] !== UBYTE) {
    throw new Error(`${name}: unsupported IDX type 0x${bytes[2].toString(16)} (only unsigned bytes, 0x08)`);
  }
  const dimCount = bytes[3];
  if (rank !== undefined && dimCount !== rank) {
    throw new Error(`${name}: expected ${rank} dimensions (magic 0x0000080${rank}), got ${dimCount}`);
  }
  const headerSize = 4 + 4 * dimCount;
  if (bytes.length < headerSize) {
    if (!complete) return undefined;
    throw new Error(`${name}: truncated header (${bytes.length} bytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: dimCount }, (_, k) => view.getUint32(4 + 4 * k, false));
  const totalSize = headerSize + dims.reduce((a, b) => a * b, 1);
  if (totalSize > MAX_IDX_BYTES) {
    const shape = dims.join(", ");
    throw new Error(
      `${name}: dimensions [${shape}] need ${totalSize} bytes, more than the ${MAX_IDX_BYTES} supported`,
    );
  }
  return { dims, headerSize, totalSize } satisfies IdxHeader;
}

/**
 * Parse IDX bytes (already gunzipped). Validates the magic number, the rank and that the data size matches
 * the dimensions; errors name `opts.name`.
 */
export function parseIdx(bytes: Uint8Array, opts: IdxOptions = {}): IdxArray {
  const name = opts.name ?? "IDX data";
  const { dims, headerSize, totalSize } = readHeader(bytes, name, opts.rank, true)!;
  const count = totalSize - headerSize;
  if (bytes.length - headerSize !== count) {
    throw new Error(
      `${name}: expected ${count} values for dimensions [${dims.join(", ")}], found ${
        bytes.length - headerSize
      }`,
    );
  }
  return { dims, data: bytes.subarray(headerSize) };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The largest IDX header: 4 bytes, then 255 dimensions of 4 bytes. */
const MAX_HEADER_BYTES = 4 + 4 * 255;

/**
 * Read an IDX file, gunzipping it when it starts with the gzip signature (as the `.gz` files do).
 * Errors name the file.
 *
 * Gunzipping is bounded by what the file can legitimately hold: the header is inflated first (from a
 * growing prefix of the compressed bytes), and the whole file is then inflated with an output limit of the
 * size its header announces (at most {@link MAX_IDX_BYTES}), so a gzip bomb fails after that many bytes.
 */
export async function readIdxFile(path: string, opts: Omit<IdxOptions, "name"> = {}): Promise<IdxArray> {
  return decodeIdx(await readFileNamed(path), { ...opts, name: path });
}

/** {@link readIdxFile} on the bytes of a file, gzipped or not; errors name `opts.name`. */
export function decodeIdx(bytes: Uint8Array, opts: IdxOptions = {}): IdxArray {
  const name = opts.name ?? "IDX data";
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipIdx(bytes, name, opts.rank);
  return parseIdx(bytes, { ...opts, name });
}

function gunzipIdx(gz: Uint8Array, path: string, rank: number | undefined): Uint8Array {
  const gunzip = (input: Uint8Array, maxOutputLength: number, partial: boolean): Uint8Array => {
    try {
      const raw = gunzipSync(input, {
        maxOutputLength: Math.max(1, maxOutputLength),
        ...(partial ? { finishFlush: constants.Z_SYNC_FLUSH } : {}),
      });
      return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    } catch (err) {
      if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
        throw new Error(
          `${path}: gzip data inflates to more than the ${maxOutputLength} bytes its IDX header announces`,
          { cause: err },
        );
      }
      const message = (err as Error).message.replace(/[\r\n]+/g, " ");
      throw new Error(`${path}: could not gunzip: ${message}`, { cause: err });
    }
  };
  // The header from a prefix of the compressed bytes; a prefix of k bytes inflates to at most ~1032·k.
  let header: IdxHeader | undefined;
  for (let k = 256; header === undefined; k *= 4) {
    const complete = k >= gz.length;
    const start = gunzip(gz.subarray(0, k), 1032 * Math.min(k, gz.length) + MAX_HEADER_BYTES, !complete);
    // Undefined while the prefix is too short; once it is the whole input, a short header throws.
    header = readHeader(start.subarray(0, MAX_HEADER_BYTES), path, rank, complete);
  }
  return gunzip(gz, header.totalSize, false);
}
