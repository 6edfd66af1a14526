/**
 * Read numpy's `.npy` files (format versions 1.0, 2.0 and 3.0): the 6-byte magic `\x93NUMPY`, the version,
 * a little-endian header length (2 bytes in 1.0, 4 in 2.0 / 3.0), a header that is a Python dict literal
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }` (latin-1; UTF-8 in 3.0), then the elements.
 *
 * Element types (the `descr`, byte order `<`, `>` or `|`): `f2`, `f4`, `f8`, `i1`, `i2`, `i4`, `i8`, `u1`
 * and `b1`, read as the project's {@link HostTensor} (float16 widened to float32, int64 as `BigInt64Array`,
 * see `dtype.ts`); big-endian data is byte-swapped. Refused, each with a one-line error naming the file:
 * Fortran-order arrays, structured and object dtypes (no pickle is ever read), the unsigned types above 8
 * bits and complex numbers, a header that is not the three-key dict numpy writes, a shape whose element
 * count disagrees with the bytes that follow (truncated or padded files), and sizes above `maxBytes`.
 *
 * The header is parsed by a small reader of Python literals (strings, integers, booleans, `None`, tuples,
 * lists, dicts), never evaluated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readNpy } from "./npy.ts";
 * const a = await readNpy("tests/fixtures/npy/f4.npy");
 * assert.deepEqual([a.descr, a.dtype, a.shape, a.data.length], ["<f4", "F32", [5, 3], 15]);
 * ```
 * @module
 */
import { readFileNamed } from "./read.ts";
import { decodeElements, type DType, DTYPE_SIZE, type HostTensor } from "./dtype.ts";

/** An array read from a `.npy` file: a {@link HostTensor} (C order) and the file's own dtype string. */
export interface NpyArray extends HostTensor {
  /** numpy's dtype string from the header, e.g. `"<f4"`. */
  descr: string;
}

/** What a `.npy` header says, and where the elements are. */
export interface NpyHeader {
  /** Format version, e.g. `[1, 0]`. */
  version: [number, number];
  descr: string;
  dtype: DType;
  /** Whether the elements are big-endian on disk. */
  bigEndian: boolean;
  shape: number[];
  /** Byte offset of the first element. */
  dataOffset: number;
  /** Bytes of element data the shape and dtype call for. */
  dataBytes: number;
}

/** Options of {@link parseNpy} and {@link readNpy}. */
export interface ReadNpyOptions {
  /** Name used in error messages when bytes are given; default: the path, or `"<bytes>"`. */
  name?: string;
  /** Largest element data accepted, in bytes; default {@link NPY_MAX_BYTES}. */
  maxBytes?: number;
}

/** Default limit of the element data of one array: 2 GiB. */
export const NPY_MAX_BYTES = 2 ** 31;
/** Largest header accepted (numpy writes ~120 bytes for a plain array). */
const MAX_HEADER_BYTES = 65_536;
const MAX_DIMS = 32;
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** numpy type codes (kind + size) the reader supports, and how they are held. */
const CODES: Readonly<Record<string, DType>> = {
  f2: "F16",
  f4: "F32",
  f8: "F64",
  i1: "I8",
  i2: "I16",
  i4: "I32",
  i8: "I64",
  u1: "U8",
  b1: "BOOL",
};

const SUPPORTED = "float16/32/64 (f2, f4, f8), int8/16/32/64 (i1 … i8), uint8 (u1), bool (b1)";

/** Whether `bytes` starts with the `.npy` magic string. */
export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
}

/** A short, one-line rendering of a value for error messages. */
function quote(value: unknown): string {
  const s = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

/** A tuple from the header (kept apart from lists, as numpy's shape must be a tuple). */
class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** Parse the Python literal `text` (the subset numpy headers use); throws with a short reason. */
function parsePyLiteral(text: string): unknown {
  let at = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${at} of the header`);
  };
  const space = () => {
    while (at < text.length && /\s/.test(text[at])) at++;
  };
  const value = (depth: number): unknown => {
    if (depth > 16) fail("nesting too deep");
    space();
    const c = text[at];
    if (c === undefined) return fail("unexpected end");
    if (c === "{") return dict(depth);
    if (c === "(") return sequence(depth, ")");
    if (c === "[") return sequence(depth, "]");
    if (c === "'" || c === '"') return string();
    if ((c === "u" || c === "U") && (text[at + 1] === "'" || text[at + 1] === '"')) {
      at++;
      return string();
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at, at + 16));
    if (word) {
      at += word[0].length;
      if (word[0] === "True") return true;
      if (word[0] === "False") return false;
      if (word[0] === "None") return null;
      return fail(`unexpected name ${quote(word[0])}`);
    }
    const number = /^[-+]?[\d.][\w.+-]*/.exec(text.slice(at, at + 40));
    if (number) {
      if (!/^[-+]?\d+[lL]?$/.test(number[0])) fail(`unexpected number ${quote(number[0])} (integers only)`);
      at += number[0].length;
      const n = Number(number[0].replace(/[lL]$/, ""));
      if (!Number.isSafeInteger(n)) fail(`integer ${number[0]} is too large`);
      return n;
    }
    return fail(`unexpected ${quote(c)}`);
  };
  const string = (): string => {
    const q = text[at++];
    let out = "";
    while (at < text.length && text[at] !== q) {
      const c = text[at++];
      if (c === "\n") fail("line break inside a string");
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = text[at++];
      const hex = (n: number) => {
        const h = text.slice(at, at + n);
        if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) fail("bad escape in a string");
        at += n;
        return String.fromCodePoint(parseInt(h, 16));
      };
      if (e === "x") out += hex(2);
      else if (e === "u") out += hex(4);
      else if (e === "n") out += "\n";
      else if (e === "t") out += "\t";
      else if (e === "\\" || e === "'" || e === '"') out += e;
      else fail("bad escape in a string");
    }
    if (text[at] !== q) fail("unterminated string");
    at++;
    return out;
  };
  const sequence = (depth: number, close: string): unknown => {
    at++;
    const items: unknown[] = [];
    let comma = false;
    for (;;) {
      space();
      if (text[at] === close) {
        at++;
        break;
      }
      if (items.length > 0 && !comma) fail(`expected "," or "${close}"`);
      items.push(value(depth + 1));
      space();
      comma = text[at] === ",";
      if (comma) at++;
    }
    if (close === "]") return items;
    // `(x)` is x itself, `(x,)` and `()` are tuples, as in Python.
    return items.length === 1 && !comma ? items[0] : new PyTuple(items);
  };
  const dict = (depth: number): Map<unknown, unknown> => {
    at++;
    const out = new Map<unknown, unknown>();
    let comma = true;
    for (;;) {
      space();
      if (text[at] === "}") {
        at++;
        return out;
      }
      if (!comma) fail('expected "," or "}"');
      const key = value(depth + 1);
      space();
      if (text[at++] !== ":") fail('expected ":"');
      out.set(key, value(depth + 1));
      space();
      comma = text[at] === ",";
      if (comma) at++;
    }
  };
  const result = value(0);
  space();
  if (at !== text.length) fail("unexpected text after the dict");
  return result;
}

/**
 * Parse and check the header of the `.npy` file in `bytes` (see the module documentation for what is
 * refused). Throws a one-line error naming `options.name`.
 */
export function parseNpyHeader(bytes: Uint8Array, options: ReadNpyOptions = {}): NpyHeader {
  const source = options.name ?? "<bytes>";
  const maxBytes = options.maxBytes ?? NPY_MAX_BYTES;
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (!isNpy(bytes)) {
    fail(
      bytes.length < MAGIC.length
        ? `not a .npy file (${bytes.length} bytes, shorter than the magic string)`
        : "not a .npy file (no \\x93NUMPY magic string)",
    );
  }
  if (bytes.length < 10) fail(`truncated .npy file (${bytes.length} bytes, no header length)`);
  const major = bytes[6], minor = bytes[7];
  if (![1, 2, 3].includes(major) || minor !== 0) {
    fail(`unsupported .npy format version ${major}.${minor} (this reader knows 1.0, 2.0 and 3.0)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) fail(`truncated .npy file (${bytes.length} bytes, no header length)`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthBytes;
  if (headerLength > MAX_HEADER_BYTES) {
    fail(`.npy header of ${headerLength} bytes is larger than the ${MAX_HEADER_BYTES} accepted`);
  }
  const dataOffset = headerStart + headerLength;
  if (dataOffset > bytes.length) {
    fail(`truncated .npy file: the header needs bytes up to ${dataOffset}, the file has ${bytes.length}`);
  }
  const raw = bytes.subarray(headerStart, dataOffset);
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? "utf-8" : "latin1", { fatal: true }).decode(raw);
  } catch {
    return fail(".npy header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = parsePyLiteral(text.trimEnd());
  } catch (e) {
    return fail(`malformed .npy header: ${(e as Error).message}`);
  }
  if (!(header instanceof Map)) return fail(`malformed .npy header: not a dict`);
  const keys = [...header.keys()];
  const expected = ["descr", "fortran_order", "shape"];
  if (keys.length !== 3 || !expected.every((k) => header.has(k))) {
    fail(
      `malformed .npy header: needs exactly the keys ${expected.join(", ")}, got ${
        keys.map((k) => quote(k)).join(", ") || "none"
      }`,
    );
  }
  const descr = header.get("descr");
  const fortran = header.get("fortran_order");
  const shapeValue = header.get("shape");
  if (typeof fortran !== "boolean") fail(`malformed .npy header: fortran_order is ${quote(fortran)}`);
  if (typeof descr !== "string") {
    return fail(
      Array.isArray(descr)
        ? ".npy arrays of a structured dtype (named fields) are not supported"
        : `malformed .npy header: descr is ${quote(descr)}`,
    );
  }
  const match = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr);
  const code = match ? `${match[2]}${match[3]}` : "";
  const dtype = CODES[code];
  if (!dtype) {
    const kind = match?.[2] ?? descr.replace(/^[<>|=]/, "")[0];
    const why = kind === "O"
      ? " (Python objects, which need pickle)"
      : kind === "c"
      ? " (complex numbers)"
      : kind === "U" || kind === "S"
      ? " (strings)"
      : "";
    fail(`.npy dtype ${quote(descr)}${why} is not supported; supported: ${SUPPORTED}`);
  }
  const order = match![1];
  const size = DTYPE_SIZE[dtype];
  if (order === "|" && size > 1) fail(`malformed .npy header: dtype ${quote(descr)} needs a byte order`);
  if (fortran) {
    fail(
      ".npy array is in Fortran (column-major) order, which is not supported: " +
        "save it in C order (np.save(path, np.ascontiguousarray(a)))",
    );
  }
  if (!(shapeValue instanceof PyTuple)) return fail(`malformed .npy header: shape is not a tuple`);
  const shape = shapeValue.items;
  if (shape.length > MAX_DIMS) fail(`.npy shape has ${shape.length} dimensions, more than ${MAX_DIMS}`);
  if (!shape.every((d): d is number => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)) {
    return fail(
      `malformed .npy header: shape (${shape.map((d) => quote(d)).join(", ")}) is not integers ≥ 0`,
    );
  }
  let dataBytes = size;
  for (const d of shape) {
    dataBytes *= d;
    if (dataBytes > maxBytes) {
      fail(`.npy array of shape ${pyShape(shape)} ${descr} is larger than the ${maxBytes} bytes accepted`);
    }
  }
  return {
    version: [major, minor],
    descr,
    dtype,
    bigEndian: order === ">",
    shape,
    dataOffset,
    dataBytes,
  };
}

/** A shape as numpy prints it: `(5, 3)`, `(2,)`, `()`. */
function pyShape(shape: readonly number[]): string {
  return `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
}

/** Reverse the bytes of each `size`-byte element of `bytes` (a copy). */
function byteSwapped(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) {
    for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j];
  }
  return out;
}

/**
 * Read the `.npy` file in `bytes`. The result never shares memory with `bytes`. Throws a one-line error
 * naming `options.name` if the file is malformed, truncated, has bytes after its data, or holds an array the
 * reader does not support.
 */
export function parseNpy(bytes: Uint8Array, options: ReadNpyOptions = {}): NpyArray {
  const source = options.name ?? "<bytes>";
  const h = parseNpyHeader(bytes, options);
  const available = bytes.length - h.dataOffset;
  const shapeText = pyShape(h.shape);
  if (available < h.dataBytes) {
    throw new Error(
      `${source}: truncated .npy file: shape ${shapeText} ${h.descr} needs ${h.dataBytes} bytes of data, ` +
        `the file has ${available}`,
    );
  }
  if (available > h.dataBytes) {
    throw new Error(
      `${source}: .npy file has ${available - h.dataBytes} bytes after the ${h.dataBytes} bytes of data ` +
        `that shape ${shapeText} ${h.descr} calls for`,
    );
  }
  let data = bytes.subarray(h.dataOffset, h.dataOffset + h.dataBytes);
  if (h.bigEndian && DTYPE_SIZE[h.dtype] > 1) data = byteSwapped(data, DTYPE_SIZE[h.dtype]);
  return { descr: h.descr, dtype: h.dtype, shape: h.shape, data: decodeElements(h.dtype, data) };
}

/** Read a `.npy` file (see {@link parseNpy}); errors name `path`. */
export async function readNpy(path: string, options: Omit<ReadNpyOptions, "name"> = {}): Promise<NpyArray> {
  const maxBytes = options.maxBytes ?? NPY_MAX_BYTES;
  let size: number;
  try {
    size = (await Deno.stat(path)).size;
  } catch {
    throw new Error(`${path}: no such file`);
  }
  if (size > maxBytes + MAX_HEADER_BYTES + 12) {
    throw new Error(
      `${path}: .npy file of ${size} bytes is larger than the ${maxBytes} bytes of data accepted`,
    );
  }
  return parseNpy(await readFileNamed(path), { ...options, name: path });
}
