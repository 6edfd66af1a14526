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
import { gunzipSync } from "node:zlib";

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
 * Parse IDX bytes (already gunzipped). Validates the magic number, the rank and that the data size matches
 * the dimensions; errors name `opts.name`.
 */
export function parseIdx(bytes: Uint8Array, opts: IdxOptions = {}): IdxArray {
  const name = opts.name ?? "IDX data";
  if (bytes.length < 4) throw new Error(`${name}: not an IDX file (${bytes.length} bytes, no header)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${name}: not an IDX file (bad magic number 0x${hex(bytes.subarray(0, 4))})`);
  }
  if (bytes[2] !== UBYTE) {
    throw new Error(`${name}: unsupported IDX type 0x${bytes[2].toString(16)} (only unsigned bytes, 0x08)`);
  }
  const rank = bytes[3];
  if (opts.rank !== undefined && rank !== opts.rank) {
    throw new Error(`${name}: expected ${opts.rank} dimensions (magic 0x0000080${opts.rank}), got ${rank}`);
  }
  const headerSize = 4 + 4 * rank;
  if (bytes.length < headerSize) throw new Error(`${name}: truncated header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, k) => view.getUint32(4 + 4 * k, false));
  const count = dims.reduce((a, b) => a * b, 1);
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

/**
 * Read an IDX file, gunzipping it when it starts with the gzip signature (as the `.gz` files do).
 * Errors name the file.
 */
export async function readIdxFile(path: string, opts: Omit<IdxOptions, "name"> = {}): Promise<IdxArray> {
  let bytes: Uint8Array = await Deno.readFile(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      const raw = gunzipSync(bytes);
      bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    } catch (err) {
      throw new Error(`${path}: could not gunzip: ${(err as Error).message}`, { cause: err });
    }
  }
  return parseIdx(bytes, { ...opts, name: path });
}
