/**
 * Element types of checkpoint tensors and the plain typed-array tensor ({@link HostTensor}) that the
 * safetensors and PyTorch readers return.
 *
 * Dtype names follow safetensors (`F32`, `F16`, `BF16`, `I64`, ...). Half-precision values are widened to
 * `Float32Array` on read, so `dtype` tells how a tensor was *stored* and {@link dataKind} how it is *held*:
 *
 * | dtype               | held as         |
 * | ------------------- | --------------- |
 * | `F32`, `F16`, `BF16` | `Float32Array`  |
 * | `F64`               | `Float64Array`  |
 * | `I64`               | `BigInt64Array` |
 * | `I32`, `I16`, `I8`  | `Int32Array`, `Int16Array`, `Int8Array` |
 * | `U8`, `BOOL`        | `Uint8Array` (BOOL holds 0 or 1) |
 *
 * Bytes on disk are little-endian, as in both formats; the host must be little-endian too (every platform
 * Deno runs on is).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeElements, encodeElements } from "./dtype.ts";
 * const bytes = encodeElements("F16", new Float32Array([1, 0.5]));
 * assert.equal(bytes.length, 4); // 2 bytes an element
 * assert.deepEqual(decodeElements("F16", bytes), Float32Array.of(1, 0.5));
 * ```
 * @module
 */

/** Element types the checkpoint readers understand (safetensors spelling). */
export type DType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/** The typed arrays a {@link HostTensor} holds its elements in; see {@link dataKind}. */
export type TensorData =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/**
 * A tensor held in host memory: row-major (C order) `data` of `shape`, in the layout it was stored in
 * (PyTorch's NCHW/OIHW for `.pth`; see `layout.ts` for conversions). `data.length` equals the product of
 * `shape` (1 for a scalar, `shape = []`).
 */
export interface HostTensor {
  /** How the tensor was stored; `F16`/`BF16` are nevertheless held as `Float32Array`. */
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** Bytes per element on disk. */
export const DTYPE_SIZE: Readonly<Record<DType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Whether `s` names a supported {@link DType}. */
export function isDType(s: unknown): s is DType {
  return typeof s === "string" && Object.hasOwn(DTYPE_SIZE, s);
}

/** The typed-array class each dtype is held in (see the table above). */
const HELD_IN: Readonly<Record<DType, new (length: number) => TensorData>> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Float32Array,
  BF16: Float32Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/** Name of the typed-array class a tensor of `dtype` is held in, e.g. `"Float32Array"` for `F16`. */
export function dataKind(dtype: DType): string {
  return HELD_IN[dtype].name;
}

/** A zeroed array of `length` elements of the kind `dtype` is held in. */
export function allocData(dtype: DType, length: number): TensorData {
  return new HELD_IN[dtype](length);
}

/** Whether `data` is of the typed-array kind `dtype` is held in. */
function isHeldAs(data: unknown, dtype: DType): data is TensorData {
  return data instanceof HELD_IN[dtype];
}

const className = (v: unknown) => (v as object | undefined)?.constructor?.name ?? typeof v;

/** Number of elements of a tensor of `shape` (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Throws unless `shape` is a list of non-negative integers. `what` prefixes the message. */
export function checkShape(shape: unknown, what: string): asserts shape is number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    const text = JSON.stringify(shape) ?? String(shape);
    throw new Error(
      `${what}: shape must be a list of non-negative integers, got ${
        text.length > 80 ? text.slice(0, 80) + "…" : text
      }`,
    );
  }
}

/**
 * Throws unless `t` is a consistent {@link HostTensor}: known dtype, valid shape, `data` of the kind
 * {@link dataKind} names and with {@link numel} elements. `what` (e.g. `"model.pth: tensor 'w'"`) prefixes
 * the message.
 */
export function checkHostTensor(t: HostTensor, what: string): void {
  if (!isDType(t.dtype)) throw new Error(`${what}: unknown dtype ${JSON.stringify(t.dtype)}`);
  checkShape(t.shape, what);
  if (!isHeldAs(t.data, t.dtype)) {
    throw new Error(`${what}: dtype ${t.dtype} is held in a ${dataKind(t.dtype)}, got ${className(t.data)}`);
  }
  const n = numel(t.shape);
  if (t.data.length !== n) {
    throw new Error(`${what}: shape [${t.shape}] has ${n} elements, data has ${t.data.length}`);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new Error("checkpoint I/O needs a little-endian host");
}

/** `bytes` copied into a fresh, aligned buffer. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

/**
 * Decodes little-endian `bytes` holding elements of `dtype` into a fresh array of the kind
 * {@link dataKind} names (`F16`/`BF16` widened to float32, `BOOL` normalised to 0/1). `bytes.length` must be
 * a multiple of the element size. The result never shares memory with `bytes`.
 */
export function decodeElements(dtype: DType, bytes: Uint8Array): TensorData {
  requireLittleEndian();
  const size = DTYPE_SIZE[dtype];
  if (bytes.length % size !== 0) {
    throw new Error(`${bytes.length} bytes is not a whole number of ${dtype} elements (${size} bytes each)`);
  }
  switch (dtype) {
    case "F64":
      return new Float64Array(ownBuffer(bytes));
    case "F32":
      return new Float32Array(ownBuffer(bytes));
    case "F16":
      return Float32Array.from(new Float16Array(ownBuffer(bytes)));
    case "BF16": {
      // A bfloat16 is the upper half of a float32.
      const halves = new Uint16Array(ownBuffer(bytes));
      const bits = new Uint32Array(halves.length);
      for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case "I64":
      return new BigInt64Array(ownBuffer(bytes));
    case "I32":
      return new Int32Array(ownBuffer(bytes));
    case "I16":
      return new Int16Array(ownBuffer(bytes));
    case "I8":
      return new Int8Array(ownBuffer(bytes));
    case "U8":
      return new Uint8Array(ownBuffer(bytes));
    case "BOOL":
      return Uint8Array.from(bytes, (b) => (b === 0 ? 0 : 1));
  }
}

/** Float32 → bfloat16 bits, rounding to nearest, ties to even; NaN stays NaN. */
function bf16Bits(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) return (bits >>> 16) | 0x0040;
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/**
 * Encodes `data` (held as {@link dataKind} says for `dtype`) to little-endian bytes of `dtype`. Float32 data
 * is narrowed to `F16`/`BF16` rounding to nearest even (out-of-range values become ±Infinity).
 */
export function encodeElements(dtype: DType, data: TensorData): Uint8Array {
  requireLittleEndian();
  if (!isHeldAs(data, dtype)) {
    throw new Error(`${dtype} elements must come as a ${dataKind(dtype)}, got ${className(data)}`);
  }
  switch (dtype) {
    case "F16":
      return new Uint8Array(new Float16Array(data as Float32Array).buffer);
    case "BF16": {
      const bits = new Uint32Array((data as Float32Array).slice().buffer);
      const halves = new Uint16Array(bits.length);
      for (let i = 0; i < bits.length; i++) halves[i] = bf16Bits(bits[i]);
      return new Uint8Array(halves.buffer);
    }
    case "BOOL":
      return Uint8Array.from(data as Uint8Array, (b) => (b === 0 ? 0 : 1));
    default:
      return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  }
}

/** The elements of `t` as a new `Float32Array` (int64 values beyond ±2^24 lose precision, as in a cast). */
export function toFloat32Array(t: HostTensor): Float32Array {
  if (t.data instanceof BigInt64Array) return Float32Array.from(t.data, (v) => Number(v));
  return Float32Array.from(t.data as ArrayLike<number>);
}

/**
 * The elements of an integer or boolean tensor as a new `Int32Array`; throws (naming `t`'s dtype and the
 * offending value) if an int64 value does not fit in 32 bits or if `t` holds floats.
 */
export function toInt32Array(t: HostTensor): Int32Array {
  if (t.dtype.startsWith("F") || t.dtype === "BF16") {
    throw new Error(`toInt32Array: expected an integer or boolean tensor, got ${t.dtype}`);
  }
  if (!(t.data instanceof BigInt64Array)) return Int32Array.from(t.data as ArrayLike<number>);
  const out = new Int32Array(t.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = t.data[i];
    if (v < -2147483648n || v > 2147483647n) {
      throw new Error(`toInt32Array: I64 value ${v} at index ${i} does not fit in int32`);
    }
    out[i] = Number(v);
  }
  return out;
}

/** A strided view of a flat array: element `[i0, i1, ...]` is at `offset + Σ i_k · stride[k]`. */
export interface StridedView {
  offset: number;
  shape: readonly number[];
  stride: readonly number[];
}

/** Options of {@link gatherStrided}. */
export interface GatherOptions {
  /** Prefix of error messages, e.g. `"model.pth: tensor 'w'"`; default `"strided view"`. */
  what?: string;
}

/**
 * Largest factor by which {@link gatherStrided} may expand its source (stride-0 dimensions repeat
 * elements), beyond {@link GATHER_ALLOWANCE} elements that any view may have.
 */
export const MAX_EXPANSION = 64;
/** Elements any strided view may have whatever its source's size: 2^24 (64 MiB of float32). */
export const GATHER_ALLOWANCE = 2 ** 24;
/** Elements no strided view may exceed: 2^31 − 1 (the size of the largest arrays most hosts can allocate). */
export const MAX_GATHER_ELEMENTS = 2 ** 31 - 1;

/**
 * Copies the strided `view` of `src` into a new row-major array of the same kind (for transposed, expanded
 * or sliced tensors). Throws, prefixed with `options.what`, if a size, stride or the offset is negative or
 * not an integer, if the view reaches outside `src`, or if it has more than
 * `max(GATHER_ALLOWANCE, MAX_EXPANSION × src.length)` elements (at most {@link MAX_GATHER_ELEMENTS}): a
 * tiny storage expanded to billions of elements is a malformed (or hostile) file, not a tensor.
 */
export function gatherStrided(src: TensorData, view: StridedView, options: GatherOptions = {}): TensorData {
  const what = options.what ?? "strided view";
  const { shape, stride } = view;
  if (
    shape.length !== stride.length || !shape.every((d) => Number.isSafeInteger(d) && d >= 0) ||
    !stride.every((s) => Number.isSafeInteger(s) && s >= 0) || !Number.isSafeInteger(view.offset)
  ) {
    throw new Error(
      `${what}: size [${shape}], stride [${stride}] and offset ${view.offset} must be non-negative ` +
        `integers (as many strides as sizes)`,
    );
  }
  const n = numel(shape);
  const limit = Math.min(MAX_GATHER_ELEMENTS, Math.max(GATHER_ALLOWANCE, MAX_EXPANSION * src.length));
  if (n > limit) {
    throw new Error(
      `${what}: size [${shape}] has ${n} elements, more than the ${limit} allowed for a view of a ` +
        `${src.length}-element storage (at most ${MAX_EXPANSION} times the storage, or ${GATHER_ALLOWANCE})`,
    );
  }
  if (n > 0) {
    let last = view.offset;
    for (let k = 0; k < shape.length; k++) last += (shape[k] - 1) * stride[k];
    if (view.offset < 0 || last >= src.length) {
      throw new Error(
        `${what}: size [${shape}], stride [${stride}] and offset ${view.offset} reach element ${last} ` +
          `of a ${src.length}-element storage`,
      );
    }
  }
  let out: TensorData;
  try {
    out = new (src.constructor as new (length: number) => TensorData)(n);
  } catch (e) {
    throw new Error(`${what}: cannot allocate ${n} elements: ${(e as Error).message}`);
  }
  const to = out as { [i: number]: number | bigint };
  const from = src as { [i: number]: number | bigint };
  // Size-1 axes do not move through the source: without them every axis the odometer passes has wrapped,
  // so each element costs amortized O(1) whatever the rank.
  const sizes: number[] = [], steps: number[] = [];
  shape.forEach((d, k) => {
    if (d !== 1) sizes.push(d), steps.push(stride[k]);
  });
  // Walk the output in row-major order with an odometer; `at` follows the matching source element.
  const index = new Array<number>(sizes.length).fill(0);
  let at = view.offset;
  for (let i = 0; i < n; i++) {
    to[i] = from[at];
    for (let axis = sizes.length - 1; axis >= 0; axis--) {
      at += steps[axis];
      if (++index[axis] < sizes[axis]) break;
      at -= steps[axis] * sizes[axis];
      index[axis] = 0;
    }
  }
  return out;
}
