/**
 * A safe reader of PyTorch checkpoints (`torch.save` files) that returns their tensors as a flat state dict
 * of {@link HostTensor}s, in PyTorch's layout (NCHW activations, OIHW conv weights; convert with
 * `layout.ts`).
 *
 * Both file formats are read:
 * - zip (PyTorch >= 1.6): `<archive>/data.pkl` plus one `<archive>/data/<key>` entry per storage;
 * - legacy (`_use_new_zipfile_serialization=False`): pickles of the magic number, the protocol version and
 *   the system info, then the main pickle, then the list of storage keys, then each storage as an 8-byte
 *   element count followed by its raw bytes.
 *
 * No code from the file is ever run: pickles go through the virtual machine of `pickle.ts` with an
 * allow-list of the few globals a state dict needs (`collections.OrderedDict`,
 * `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`, the `torch.*Storage` types);
 * any other global (a pickled model class, `os.system`, ...) is refused with
 * `forbidden global 'os.system' in <file>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPth } from "./pth.ts";
 * const sd = await readPth("tests/fixtures/pth/model_zip.pth");
 * const w = sd.get("0.weight")!; // Conv2d(3, 4, 3) weight
 * assert.deepEqual([w.dtype, w.shape], ["F32", [4, 3, 3, 3]]); // OIHW, as PyTorch stores it
 * ```
 * @module
 */
import { readFileNamed } from "./read.ts";
import { decodeElements, DType, DTYPE_SIZE, gatherStrided, HostTensor, numel, TensorData } from "./dtype.ts";
import { describePickled, isTuple, PickleGlobal, printable, unpickle } from "./pickle.ts";
import { isZip, openZip } from "./zip.ts";

/** Options of {@link readPth} and {@link parsePth}. */
export interface ReadPthOptions {
  /** Name used in error messages when bytes are given; default: the path, or `"<bytes>"`. */
  name?: string;
  /**
   * Dotted path of the sub-dict to return, e.g. `"g_ema"` or `"model.generator"`; default: the
   * `'state_dict'` entry if the top-level dict has one that is a dict, else the whole file.
   */
  select?: string;
  /**
   * Called for each entry left out because it is not a tensor (an epoch number, a config string, ...),
   * with its dotted key and a description; default: ignore them.
   */
  onSkip?: (key: string, what: string) => void;
}

/**
 * Reads a PyTorch checkpoint from a path or from its bytes. Returns the tensors as a flat map whose keys
 * join nested dict keys with dots (`{'G': {'w': t}}` → `"G.w"`); a `{'state_dict': ...}` wrapper is
 * unwrapped (see {@link ReadPthOptions.select}); a file holding a single tensor gives the key `""`.
 * Every tensor is contiguous and owns its data. A dict that occurs under two keys is flattened under the
 * first one (the second is reported through {@link ReadPthOptions.onSkip}). Throws, naming the file (and the
 * tensor when there is one), on a forbidden global, a truncated or malformed file, a dict that contains
 * itself, or a tensor that does not fit its storage (negative sizes or strides, more than 64 dimensions, or
 * an expansion far beyond its storage: see `gatherStrided`).
 */
export async function readPth(
  source: string | Uint8Array,
  options: ReadPthOptions = {},
): Promise<Map<string, HostTensor>> {
  if (typeof source !== "string") return parsePth(source, options);
  return parsePth(await readFileNamed(source), { ...options, name: options.name ?? source });
}

/** {@link readPth} on bytes already in memory. */
export function parsePth(bytes: Uint8Array, options: ReadPthOptions = {}): Map<string, HostTensor> {
  const source = options.name ?? "<bytes>";
  let root: unknown;
  if (isZip(bytes)) root = loadZip(bytes, source);
  else if (bytes[0] === 0x80) root = loadLegacy(bytes, source);
  else if (isTar(bytes)) {
    throw new Error(`${source}: tar-format checkpoints (PyTorch < 0.4) are not supported; re-save the file`);
  } else {
    const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new Error(
      `${source}: not a PyTorch checkpoint: starts with bytes ${head || "(empty file)"}, ` +
        `expected a zip archive (50 4b 03 04) or a pickle (80)`,
    );
  }
  return flattenStateDict(root, source, options);
}

// ---------------------------------------------------------------------------------------------------------
// Objects the allow-listed globals build.

/** `torch.FloatStorage` and friends: what a persistent id names as a storage's element type. */
class StorageType implements PickleGlobal {
  constructor(readonly qualifiedName: string, readonly dtype: DType) {}
}

/** One serialized storage: raw bytes of `numel` elements of `dtype`, decoded on first use. */
class RootStorage {
  bytes?: Uint8Array;
  #decoded?: TensorData;
  constructor(readonly key: string, readonly dtype: DType, readonly numel: number) {}

  /** The elements; `what` prefixes the error if the file never provided them. */
  decoded(what: string): TensorData {
    if (this.bytes === undefined) {
      throw new Error(`${what}: storage '${printable(this.key)}' has no data in the file`);
    }
    this.#decoded ??= decodeElements(this.dtype, this.bytes);
    return this.#decoded;
  }
}

/** The storage a tensor refers to: elements [offset, offset + numel) of a root storage. */
class StorageView {
  constructor(readonly root: RootStorage, readonly offset: number, readonly numel: number) {}
}

/** What `_rebuild_tensor_v2` returns: a strided view of a storage, materialized once its key is known. */
class TensorRef {
  constructor(
    readonly storage: StorageView,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  DoubleStorage: "F64",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isIntTuple = (v: unknown): v is readonly number[] => isTuple(v) && v.every(isInt);

function callable(qualifiedName: string, call: (args: readonly unknown[]) => unknown): PickleGlobal {
  return { qualifiedName, call };
}

/** The allow-list: every global a state dict needs, bound to error messages naming `source`. */
function allowedGlobals(source: string): (module: string, name: string) => unknown {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  const rebuildTensor = callable("torch._utils._rebuild_tensor_v2", (args) => {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageView) || !isInt(offset) || !isIntTuple(size) || !isIntTuple(stride)) {
      return fail(`_rebuild_tensor_v2 got unexpected arguments (${args.map(describePickled).join(", ")})`);
    }
    if (size.length > MAX_RANK || stride.length > MAX_RANK) {
      fail(
        `tensor of ${size.length} dimensions (stride of ${stride.length}), ` +
          `more than the ${MAX_RANK} supported`,
      );
    }
    if (size.length !== stride.length) fail(`tensor of size [${size}] has stride [${stride}]`);
    return new TensorRef(storage, offset, [...size], [...stride]);
  });
  const rebuildParameter = (name: string) =>
    callable(`torch._utils.${name}`, (args) => {
      // (data, requires_grad, backward_hooks[, state]): a Parameter is its data for our purposes.
      if (!(args[0] instanceof TensorRef)) {
        return fail(`${name} expects a tensor, got ${describePickled(args[0])}`);
      }
      return args[0];
    });
  const globals = new Map<string, unknown>([
    [
      "collections.OrderedDict",
      callable("collections.OrderedDict", (args) => {
        const d = new Map();
        if (args.length > 0) {
          if (!Array.isArray(args[0])) {
            fail(`OrderedDict expects a list of pairs, got ${describePickled(args[0])}`);
          }
          for (const pair of args[0] as unknown[]) {
            if (!Array.isArray(pair) || pair.length !== 2) fail("OrderedDict expects a list of pairs");
            d.set((pair as unknown[])[0], (pair as unknown[])[1]);
          }
        }
        return d;
      }),
    ],
    ["torch._utils._rebuild_tensor_v2", rebuildTensor],
    ["torch._utils._rebuild_parameter", rebuildParameter("_rebuild_parameter")],
    ["torch._utils._rebuild_parameter_with_state", rebuildParameter("_rebuild_parameter_with_state")],
    ...Object.entries(STORAGE_DTYPES).map(([name, dtype]) =>
      [`torch.${name}`, new StorageType(`torch.${name}`, dtype)] as const
    ),
  ]);
  return (module, name) => globals.get(`${module}.${name}`);
}

const FORBIDDEN_HINT =
  "only tensors, storages and dicts can be loaded; save model.state_dict(), not the model";

/**
 * Parses a persistent id `('storage', storage_type, key, location, numel[, view_metadata])`, creating or
 * reusing the root storage of `key`.
 */
function storageFromPid(pid: unknown, roots: Map<string, RootStorage>, source: string): StorageView {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (!isTuple(pid) || pid[0] !== "storage" || pid.length < 5) {
    return fail(`unexpected persistent id ${describePickled(pid)} (expected a storage)`);
  }
  const [, type, key, , count, view] = pid;
  if (!(type instanceof StorageType) || typeof key !== "string" || !isInt(count) || count < 0) {
    return fail(`malformed storage persistent id (${pid.map(describePickled).join(", ")})`);
  }
  let root = roots.get(key);
  if (root === undefined) roots.set(key, root = new RootStorage(key, type.dtype, count));
  if (root.dtype !== type.dtype) {
    fail(`storage '${printable(key)}' is used both as ${root.dtype} and ${type.dtype}`);
  }
  if (view === undefined || view === null) return new StorageView(root, 0, root.numel);
  // Legacy storage views: (view_key, offset, view_size), both in elements.
  if (!isTuple(view) || !isInt(view[1]) || !isInt(view[2]) || view[1] < 0 || view[1] + view[2] > root.numel) {
    return fail(`storage '${printable(key)}' has a malformed or out-of-range view ${describePickled(view)}`);
  }
  return new StorageView(root, view[1], view[2]);
}

// ---------------------------------------------------------------------------------------------------------
// The two container formats.

function loadZip(bytes: Uint8Array, source: string): unknown {
  const zip = openZip(bytes, { source });
  // Entries live under one folder, named after the file in old PyTorch versions and "archive" in new ones.
  const pickleName = [...zip.entries.keys()].find((n) => n === "data.pkl" || n.endsWith("/data.pkl"));
  if (pickleName === undefined) {
    throw new Error(`${source}: zip archive has no data.pkl: not a PyTorch checkpoint`);
  }
  const prefix = pickleName.slice(0, -"data.pkl".length);
  const roots = new Map<string, RootStorage>();
  const { value } = unpickle(zip.read(pickleName), {
    source,
    findGlobal: allowedGlobals(source),
    forbiddenHint: FORBIDDEN_HINT,
    persistentLoad: (pid) => {
      const view = storageFromPid(pid, roots, source);
      const root = view.root;
      if (root.bytes === undefined) {
        const name = `${prefix}data/${root.key}`;
        if (!zip.entries.has(name)) {
          throw new Error(
            `${source}: storage '${printable(root.key)}' is missing (no entry ${printable(name)})`,
          );
        }
        const data = zip.read(name);
        const size = root.numel * DTYPE_SIZE[root.dtype];
        if (data.length < size) {
          throw new Error(
            `${source}: storage '${printable(root.key)}' has ${data.length} bytes, expected ${size}`,
          );
        }
        root.bytes = data.subarray(0, size);
      }
      return view;
    },
  });
  return value;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

function loadLegacy(bytes: Uint8Array, source: string): unknown {
  const findGlobal = allowedGlobals(source);
  const read = (offset: number, what: string) => {
    try {
      return unpickle(bytes, { source, offset, findGlobal });
    } catch (e) {
      if ((e as Error).message.startsWith("forbidden")) throw e;
      throw new Error(
        `${source}: not a PyTorch checkpoint: cannot read the ${what}: ${(e as Error).message}`,
      );
    }
  };
  const magic = read(0, "magic number");
  if (magic.value !== LEGACY_MAGIC) {
    throw new Error(
      `${source}: wrong magic number: found ${describePickled(magic.value)}, expected ` +
        `0x${LEGACY_MAGIC.toString(16)} (not a PyTorch checkpoint)`,
    );
  }
  const version = read(magic.end, "protocol version");
  if (version.value !== LEGACY_PROTOCOL_VERSION) {
    throw new Error(`${source}: unsupported legacy protocol version ${describePickled(version.value)}`);
  }
  const sysInfo = read(version.end, "system info");
  if (sysInfo.value instanceof Map && sysInfo.value.get("little_endian") === false) {
    throw new Error(`${source}: saved on a big-endian machine, which is not supported`);
  }

  const roots = new Map<string, RootStorage>();
  const main = unpickle(bytes, {
    source,
    offset: sysInfo.end,
    findGlobal,
    forbiddenHint: FORBIDDEN_HINT,
    persistentLoad: (pid) => storageFromPid(pid, roots, source),
  });
  const keys = unpickle(bytes, { source, offset: main.end, findGlobal });
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === "string")) {
    throw new Error(`${source}: expected the list of storage keys, found ${describePickled(keys.value)}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    const root = roots.get(key);
    if (root === undefined) {
      throw new Error(`${source}: storage '${printable(key)}' is listed but never used`);
    }
    if (pos + 8 > bytes.length) throw new Error(`${source}: truncated before storage '${printable(key)}'`);
    const count = view.getBigInt64(pos, true);
    if (count !== BigInt(root.numel)) {
      throw new Error(
        `${source}: storage '${printable(key)}' holds ${count} elements, expected ${root.numel}`,
      );
    }
    const size = root.numel * DTYPE_SIZE[root.dtype];
    pos += 8;
    if (pos + size > bytes.length) {
      throw new Error(
        `${source}: truncated: storage '${printable(key)}' needs ${size} bytes, only ${
          bytes.length - pos
        } are left`,
      );
    }
    root.bytes = bytes.subarray(pos, pos + size);
    pos += size;
  }
  return main.value;
}

function isTar(bytes: Uint8Array): boolean {
  return bytes.length >= 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === "ustar";
}

// ---------------------------------------------------------------------------------------------------------
// From the unpickled object to a flat map of contiguous tensors.

function flattenStateDict(root: unknown, source: string, options: ReadPthOptions): Map<string, HostTensor> {
  const skip = options.onSkip ?? (() => {});
  if (options.select !== undefined) {
    for (const part of options.select.split(".")) {
      if (!(root instanceof Map) || !root.has(part)) {
        const keys = root instanceof Map ? [...root.keys()].map(keyText).join(", ") : describePickled(root);
        throw new Error(
          `${source}: no entry '${part}' of '${options.select}' (found: ${printable(keys, 200)})`,
        );
      }
      root = root.get(part);
    }
  } else if (root instanceof Map && root.get("state_dict") instanceof Map) {
    for (const [k, v] of root) {
      if (k !== "state_dict") skip(keyText(k), `${describePickled(v)} outside 'state_dict'`);
    }
    root = root.get("state_dict");
  }

  if (!(root instanceof Map) && !(root instanceof TensorRef)) {
    throw new Error(`${source}: expected a dict of tensors, found ${describePickled(root)}`);
  }

  // Depth-first, in entry order, with an explicit stack: a pickle can nest dicts arbitrarily deep (no
  // recursion to overflow) and can make a dict contain itself or share one dict between several keys (each
  // container is flattened once: a cycle is an error, a shared dict is reported through onSkip).
  const out = new Map<string, HostTensor>();
  const firstKey = new Map<object, string>(); // container → the key it was flattened under
  const open = new Set<object>(); // containers whose entries are being flattened (the current path)
  type Frame = { container: object; key: string; entries: Iterator<[unknown, unknown]> };
  const stack: Frame[] = [];
  const enter = (value: unknown, key: string): void => {
    if (value instanceof TensorRef) {
      const name = printable(key);
      if (out.has(key)) {
        throw new Error(`${source}: key '${name}' occurs twice after flattening nested dicts`);
      }
      out.set(key, materialize(value, `${source}: tensor '${name}'`));
    } else if (value instanceof Map || (Array.isArray(value) && value.some((v) => v instanceof TensorRef))) {
      const seen = firstKey.get(value);
      if (seen !== undefined) {
        if (open.has(value)) {
          const outer = seen === "" ? "the top-level dict" : `'${printable(seen)}'`;
          throw new Error(
            `${source}: ${describePickled(value)} at '${printable(key)}' contains itself (it is ${outer}): ` +
              `not a state dict`,
          );
        }
        skip(key, `${describePickled(value)}, the same object as '${printable(seen)}' (flattened there)`);
        return;
      }
      firstKey.set(value, key);
      open.add(value);
      const entries = value instanceof Map ? value.entries() : (value as unknown[]).entries();
      stack.push({ container: value, key, entries });
    } else skip(key, describePickled(value));
  };
  enter(root, "");
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    const next = frame.entries.next();
    if (next.done) {
      open.delete(frame.container);
      stack.pop();
      continue;
    }
    const [k, v] = next.value;
    enter(v, frame.key === "" ? keyText(k) : `${frame.key}.${keyText(k)}`);
  }
  return out;
}

/** A dict key as a part of a dotted key: strings as they are, numbers and other scalars as `String` does. */
function keyText(k: unknown): string {
  if (typeof k === "string") return k;
  if (k === null || typeof k !== "object") return String(k);
  // A tuple key such as (1, 2) reads "1,2"; anything deeper is described, not stringified (a nested or
  // self-containing tuple would make String recurse).
  if (Array.isArray(k) && k.length <= 16 && k.every((e) => e === null || typeof e !== "object")) {
    return k.map(String).join(",");
  }
  return `<${describePickled(k)}>`;
}

/** Most dimensions a tensor may have: far more than any real tensor has, few enough to check quickly. */
const MAX_RANK = 64;

/** Copies the strided view `ref` out of its storage into a new contiguous tensor. */
function materialize(ref: TensorRef, what: string): HostTensor {
  const { storage, shape, stride } = ref;
  const dtype = storage.root.dtype;
  if (shape.some((d) => d < 0) || stride.some((s) => s < 0)) {
    throw new Error(`${what}: size [${shape}] and stride [${stride}] must not be negative`);
  }
  const n = numel(shape);
  const base = storage.offset + ref.offset;
  if (n > 0) {
    const last = ref.offset + shape.reduce((acc, d, i) => acc + (d - 1) * stride[i], 0);
    if (ref.offset < 0 || stride.some((s) => s < 0) || last >= storage.numel) {
      throw new Error(
        `${what}: size [${shape}], stride [${stride}] and offset ${ref.offset} reach element ${last} ` +
          `of a ${storage.numel}-element storage`,
      );
    }
  }
  const src = storage.root.decoded(what);
  let contiguous = true;
  for (let i = shape.length - 1, inner = 1; i >= 0; inner *= shape[i--]) {
    if (shape[i] !== 1 && stride[i] !== inner) contiguous = false;
  }
  if (contiguous) return { dtype, shape, data: src.slice(base, base + n) };

  // General strides: transposed, expanded (stride 0) or sliced tensors.
  return { dtype, shape, data: gatherStrided(src, { offset: base, shape, stride }, { what }) };
}
