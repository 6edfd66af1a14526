/**
 * Read and write safetensors files: an 8-byte little-endian header length N, N bytes of JSON header
 * (`{"__metadata__": {...}, "name": {"dtype", "shape", "data_offsets": [begin, end]}, ...}`), then the
 * tensors' bytes, packed without gaps, with offsets relative to the end of the header.
 *
 * Reading validates everything before decoding (header length against file size, JSON, dtypes, shapes,
 * offsets in range, contiguous and non-overlapping, byte span = elements × dtype size); every error names
 * the file and, where there is one, the tensor. Tensors come back as {@link HostTensor}s (`F16`/`BF16`
 * widened to `Float32Array`, `I64` as `BigInt64Array`; see `dtype.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
 * const tensors = new Map([["w", { dtype: "F32" as const, shape: [2], data: new Float32Array([1, 2]) }]]);
 * await writeSafetensors("/tmp/ganatomy_example/w.safetensors", tensors, { metadata: { step: "10" } });
 * const file = await readSafetensors("/tmp/ganatomy_example/w.safetensors");
 * assert.deepEqual(file.tensors.get("w")!.data, Float32Array.of(1, 2));
 * assert.deepEqual(file.metadata, { step: "10" });
 * ```
 * @module
 */
import { writeFileAtomic } from "./atomic.ts";
import { readFileNamed } from "./read.ts";
import {
  checkHostTensor,
  checkShape,
  decodeElements,
  DType,
  DTYPE_SIZE,
  encodeElements,
  HostTensor,
  isDType,
  numel,
} from "./dtype.ts";

/** Contents of a safetensors file. */
export interface SafetensorsFile {
  /** Tensors by name, in the order of their bytes in the file. */
  tensors: Map<string, HostTensor>;
  /** The free-form string map stored under `__metadata__` (empty if absent). */
  metadata: Record<string, string>;
}

/** Options of {@link readSafetensors} and {@link parseSafetensors}. */
export interface ReadSafetensorsOptions {
  /** Name used in error messages when bytes are given; default: the path, or `"<bytes>"`. */
  name?: string;
}

/** Options of {@link writeSafetensors} and {@link serializeSafetensors}. */
export interface WriteSafetensorsOptions {
  /** Stored under `__metadata__`; default none. */
  metadata?: Record<string, string>;
  /**
   * Store every `F32` tensor as this dtype instead (e.g. `"F16"` halves the size of weights; values are
   * rounded to nearest even); default: each tensor keeps its own dtype.
   */
  dtype?: "F32" | "F16" | "BF16";
}

/** `s` with control characters escaped and cut to `max` characters, to quote in a one-line error. */
function printable(s: string, max = 120): string {
  const cut = s.length > max ? s.slice(0, max) + "…" : s;
  return cut.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A JSON value from the header for an error message: one line, cut to 80 characters. */
function shown(value: unknown): string {
  return printable(JSON.stringify(value) ?? String(value), 80);
}

/** Largest header accepted, as in the reference implementation (guards against absurd allocations). */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Reads a safetensors file from a path or from its bytes. The returned tensors own their data.
 * Throws, naming the file and tensor, if the file is truncated or its header is malformed.
 */
export async function readSafetensors(
  source: string | Uint8Array,
  options: ReadSafetensorsOptions = {},
): Promise<SafetensorsFile> {
  if (typeof source !== "string") return parseSafetensors(source, options);
  return parseSafetensors(await readFileNamed(source), { name: options.name ?? source });
}

interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/** {@link readSafetensors} on bytes already in memory. */
export function parseSafetensors(bytes: Uint8Array, options: ReadSafetensorsOptions = {}): SafetensorsFile {
  const source = options.name ?? "<bytes>";
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (bytes.length < 8) {
    fail(`truncated safetensors file: ${bytes.length} bytes, the header length alone needs 8`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = view.getBigUint64(0, true);
  // A safetensors header is a JSON object: a file whose 9th byte is not "{" is something else.
  if (bytes.length > 8 && bytes[8] !== 0x7b && headerBytes > BigInt(bytes.length - 8)) {
    fail(`not a safetensors file (it does not start with a header length and a JSON header)`);
  }
  if (headerBytes > BigInt(bytes.length - 8)) {
    fail(
      `safetensors header length ${headerBytes} exceeds the ${
        bytes.length - 8
      } bytes after it (truncated file?)`,
    );
  }
  if (headerBytes > BigInt(MAX_HEADER_BYTES)) fail(`safetensors header of ${headerBytes} bytes is too large`);
  const dataStart = 8 + Number(headerBytes);
  const dataBytes = bytes.length - dataStart;

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (e) {
    fail(`safetensors header is not valid JSON: ${printable((e as Error).message)}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("safetensors header must be a JSON object");
  }

  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof info !== "object" || info === null || Array.isArray(info)) {
        fail("__metadata__ must be an object");
      }
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== "string") {
          fail(`__metadata__ value of '${printable(k)}' must be a string, got ${shown(v)}`);
        }
        metadata[k] = v as string;
      }
      continue;
    }
    entries.push(parseEntry(name, info, dataBytes, source));
  }

  // The data section must be covered exactly: tensors back to back, no gap, no overlap, nothing after.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const [i, e] of byOffset.entries()) {
    if (e.begin < expected) {
      fail(`tensor '${printable(e.name)}' overlaps tensor '${printable(byOffset[i - 1].name)}'`);
    }
    if (e.begin > expected) {
      fail(`${e.begin - expected} unused bytes before tensor '${printable(e.name)}' (at ${expected})`);
    }
    expected = e.end;
  }
  if (expected !== dataBytes) fail(`${dataBytes - expected} bytes after the last tensor are not described`);

  const tensors = new Map<string, HostTensor>();
  for (const e of byOffset) {
    const data = decodeElements(e.dtype, bytes.subarray(dataStart + e.begin, dataStart + e.end));
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

/** Validates one header entry against the data section of `dataBytes` bytes. */
function parseEntry(name: string, info: unknown, dataBytes: number, source: string): HeaderEntry {
  const what = `${source}: tensor '${printable(name)}'`;
  const fail = (msg: string): never => {
    throw new Error(`${what}: ${msg}`);
  };
  if (typeof info !== "object" || info === null) return fail("header entry must be an object");
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (!isDType(dtype)) return fail(`unsupported dtype ${shown(dtype)}`);
  checkShape(shape, what);
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    return fail(`data_offsets must be [begin, end], got ${shown(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end || end > dataBytes) {
    fail(`data_offsets [${begin}, ${end}] out of range: the data section has ${dataBytes} bytes`);
  }
  const size = numel(shape) * DTYPE_SIZE[dtype];
  const span = end - begin;
  if (span !== size) {
    fail(`shape [${shape}] of ${dtype} needs ${size} bytes but data_offsets [${begin}, ${end}] span ${span}`);
  }
  return { name, dtype, shape, begin, end };
}

/**
 * Encodes tensors as safetensors bytes. Tensors are laid out by decreasing element size, then by name, so
 * that every tensor starts at an offset aligned to its element size; the header is padded with spaces to a
 * multiple of 8 bytes. Throws, naming the tensor, if one is inconsistent (see `checkHostTensor`).
 */
export function serializeSafetensors(
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const list = [...(tensors instanceof Map ? tensors : Object.entries(tensors))];
  const stored = list.map(([name, t]) => {
    if (name === "__metadata__") throw new Error(`tensor name '__metadata__' is reserved`);
    checkHostTensor(t, `tensor '${name}'`);
    const dtype = t.dtype === "F32" && options.dtype !== undefined ? options.dtype : t.dtype;
    return { name, dtype, shape: t.shape, bytes: encodeElements(dtype, t.data) };
  });
  stored.sort((a, b) =>
    DTYPE_SIZE[b.dtype] - DTYPE_SIZE[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );

  const header: Record<string, unknown> = {};
  if (options.metadata !== undefined) {
    for (const [k, v] of Object.entries(options.metadata)) {
      if (typeof v !== "string") throw new Error(`metadata value of '${k}' must be a string`);
    }
    header.__metadata__ = options.metadata;
  }
  let offset = 0;
  for (const s of stored) {
    header[s.name] = { dtype: s.dtype, shape: s.shape, data_offsets: [offset, offset + s.bytes.length] };
    offset += s.bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = Math.ceil((8 + json.length) / 8) * 8 - 8; // data starts 8-byte aligned

  const out = new Uint8Array(8 + headerBytes + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.fill(0x20, 8, 8 + headerBytes); // space padding
  out.set(json, 8);
  let at = 8 + headerBytes;
  for (const s of stored) {
    out.set(s.bytes, at);
    at += s.bytes.length;
  }
  return out;
}

/**
 * Writes tensors to a safetensors file atomically (see {@link serializeSafetensors} for the layout and
 * {@link WriteSafetensorsOptions} for metadata and half-precision storage). Creates missing folders.
 */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = serializeSafetensors(tensors, options);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  await writeFileAtomic(path, bytes);
}
