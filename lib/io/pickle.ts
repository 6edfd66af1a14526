/**
 * A Python pickle virtual machine that never executes code: it interprets the binary opcodes of protocols
 * 2–5 that state dicts use, and every global a pickle names (`GLOBAL`, `STACK_GLOBAL`) must be granted by the
 * caller's allow-list ({@link UnpickleOptions.findGlobal}); anything else stops unpickling with
 * `forbidden global 'os.system' in <file>` before any call could happen. `REDUCE`/`NEWOBJ` only call the
 * JavaScript functions the allow-list returned.
 *
 * Python values map to JavaScript as: `None` → `null`, `bool` → `boolean`, `int` → `number` (or `bigint`
 * beyond 2^53, of at most {@link MAX_LONG_BYTES} bytes), `float` → `number`, `str` → `string`,
 * `bytes`/`bytearray` → `Uint8Array`, `list` → array, `tuple` → frozen array, `dict` → `Map`,
 * `set`/`frozenset` → `Set`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unpickle } from "./pickle.ts";
 * // pickle.dumps({"a": (1, 2.5)}, protocol=2)
 * const bytes = Uint8Array.from(atob("gAJ9cQBYAQAAAGFxAUsBR0AEAAAAAAAAhnECcy4="), (c) => c.charCodeAt(0));
 * const { value } = unpickle(bytes, { findGlobal: () => undefined });
 * assert.deepEqual(value, new Map([["a", [1, 2.5]]])); // dicts become Maps, tuples arrays
 * ```
 * @module
 */

/** A Python global granted by the allow-list; `call` runs for `REDUCE`/`NEWOBJ` (absent: not callable). */
export interface PickleGlobal {
  /** `module.name`, used in error messages. */
  readonly qualifiedName: string;
  call?(args: readonly unknown[]): unknown;
}

/** An object that accepts the `BUILD` opcode (Python's `__setstate__`). */
export interface PickleBuildable {
  setState(state: unknown): void;
}

/** Options of {@link unpickle}. */
export interface UnpickleOptions {
  /** Name used in error messages (a file path); default `"<bytes>"`. */
  source?: string;
  /** Byte offset the pickle starts at; default 0. */
  offset?: number;
  /**
   * The allow-list: the value a global `module.name` stands for (usually a {@link PickleGlobal}), or
   * `undefined` to forbid it.
   */
  findGlobal(module: string, name: string): unknown;
  /** Resolves a persistent id (`BINPERSID`); without it, persistent ids are an error. */
  persistentLoad?(pid: unknown): unknown;
  /** Appended to the "forbidden global" error, e.g. advice on what the file should contain. */
  forbiddenHint?: string;
}

/** What {@link unpickle} returns. */
export interface UnpickleResult {
  value: unknown;
  /** Byte offset just past the `STOP` opcode (where a following pickle would start). */
  end: number;
}

const OPCODE_NAMES: Record<number, string> = {
  0x28: "MARK",
  0x2e: "STOP",
  0x30: "POP",
  0x31: "POP_MARK",
  0x32: "DUP",
  0x42: "BINBYTES",
  0x43: "SHORT_BINBYTES",
  0x46: "FLOAT",
  0x47: "BINFLOAT",
  0x49: "INT",
  0x4a: "BININT",
  0x4b: "BININT1",
  0x4c: "LONG",
  0x4d: "BININT2",
  0x4e: "NONE",
  0x50: "PERSID",
  0x51: "BINPERSID",
  0x52: "REDUCE",
  0x53: "STRING",
  0x54: "BINSTRING",
  0x55: "SHORT_BINSTRING",
  0x56: "UNICODE",
  0x58: "BINUNICODE",
  0x5d: "EMPTY_LIST",
  0x61: "APPEND",
  0x62: "BUILD",
  0x63: "GLOBAL",
  0x64: "DICT",
  0x65: "APPENDS",
  0x67: "GET",
  0x68: "BINGET",
  0x69: "INST",
  0x6a: "LONG_BINGET",
  0x6c: "LIST",
  0x6f: "OBJ",
  0x70: "PUT",
  0x71: "BINPUT",
  0x72: "LONG_BINPUT",
  0x73: "SETITEM",
  0x74: "TUPLE",
  0x75: "SETITEMS",
  0x7d: "EMPTY_DICT",
  0x29: "EMPTY_TUPLE",
  0x80: "PROTO",
  0x81: "NEWOBJ",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x85: "TUPLE1",
  0x86: "TUPLE2",
  0x87: "TUPLE3",
  0x88: "NEWTRUE",
  0x89: "NEWFALSE",
  0x8a: "LONG1",
  0x8b: "LONG4",
  0x8c: "SHORT_BINUNICODE",
  0x8d: "BINUNICODE8",
  0x8e: "BINBYTES8",
  0x8f: "EMPTY_SET",
  0x90: "ADDITEMS",
  0x91: "FROZENSET",
  0x92: "NEWOBJ_EX",
  0x93: "STACK_GLOBAL",
  0x94: "MEMOIZE",
  0x95: "FRAME",
  0x96: "BYTEARRAY8",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
};

/**
 * Largest `LONG1`/`LONG4` integer accepted, in bytes (8192 bits). State dicts hold nothing beyond 64 bits;
 * the bound keeps a hostile pickle from making huge integers (and huge error messages).
 */
export const MAX_LONG_BYTES = 1024;

const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/**
 * `s` made safe to quote in a one-line error message: control characters (line breaks included) are
 * escaped as `\uXXXX` and text beyond `max` characters is cut with `…`.
 */
export function printable(s: string, max = 120): string {
  const cut = s.length > max ? s.slice(0, max) + "…" : s;
  return cut.replace(
    /[\p{Cc}\u2028\u2029]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Whether `v` came from a pickled tuple (tuples are frozen arrays, lists are not). */
export function isTuple(v: unknown): v is readonly unknown[] {
  return Array.isArray(v) && Object.isFrozen(v);
}

/** A short description of an unpickled value for error messages, e.g. `int 3`, `tuple of 2`. */
export function describePickled(v: unknown): string {
  if (v === null) return "None";
  if (typeof v === "number") return `number ${v}`;
  if (typeof v === "bigint") {
    const text = v.toString();
    return text.length > 40 ? `number of ${text.length} digits (${text.slice(0, 12)}…)` : `number ${text}`;
  }
  if (typeof v === "boolean") return `bool ${v}`;
  if (typeof v === "string") return `str ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (v instanceof Uint8Array) return `bytes of length ${v.length}`;
  if (Array.isArray(v)) return `${isTuple(v) ? "tuple" : "list"} of ${v.length}`;
  if (v instanceof Map) return `dict of ${v.size}`;
  if (v instanceof Set) return `set of ${v.size}`;
  if (isPickleGlobal(v)) return v.qualifiedName;
  return (v as object).constructor?.name ?? typeof v;
}

function isPickleGlobal(v: unknown): v is PickleGlobal {
  return typeof v === "object" && v !== null && typeof (v as PickleGlobal).qualifiedName === "string";
}

function isBuildable(v: unknown): v is PickleBuildable {
  return typeof v === "object" && v !== null && typeof (v as PickleBuildable).setState === "function";
}

/**
 * Unpickles the pickle starting at `options.offset` of `bytes`. Throws, naming `options.source`, on a
 * forbidden global, an unsupported or malformed opcode, or a truncated pickle.
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): UnpickleResult {
  const source = options.source ?? "<bytes>";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = options.offset ?? 0;
  let opAt = pos;
  let op = 0;

  const opName = () => OPCODE_NAMES[op] ?? `0x${op.toString(16).padStart(2, "0")}`;
  const fail = (msg: string): never => {
    throw new Error(`${source}: pickle ${opName()} at byte ${opAt}: ${msg}`);
  };
  const need = (n: number): number => {
    if (n > bytes.length - pos) fail(`truncated: needs ${n} more bytes, ${bytes.length - pos} left`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is too large`);
    return Number(v);
  };
  const take = (n: number) => bytes.subarray(need(n), pos);
  const text = (n: number): string => {
    const raw = take(n);
    try {
      return utf8.decode(raw);
    } catch {
      return fail("string is not valid UTF-8");
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail("truncated: no end of line");
    return text(end - pos + 1).slice(0, -1);
  };
  const long = (n: number): number | bigint => {
    if (n > MAX_LONG_BYTES) fail(`integer of ${n} bytes is too large (at most ${MAX_LONG_BYTES})`);
    const b = take(n);
    if (n === 0) return 0;
    // Little-endian two's complement: hex digits most significant first, then one BigInt (linear in n).
    const digits = new Array<string>(n);
    for (let i = 0; i < n; i++) digits[i] = HEX_BYTES[b[n - 1 - i]];
    let v = BigInt("0x" + digits.join(""));
    if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  const push = (v: unknown) => stack.push(v);
  const pop = (): unknown => {
    if (stack.length === 0 || stack.length === marks[marks.length - 1]) fail("stack underflow");
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0 || stack.length === marks[marks.length - 1]) fail("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const at = marks.pop();
    if (at === undefined) return fail("no MARK on the stack");
    return stack.splice(at);
  };
  const tuple = (items: unknown[]): readonly unknown[] => Object.freeze(items);
  const memoGet = (i: number) => {
    if (!memo.has(i)) fail(`memo entry ${i} is not defined`);
    return memo.get(i);
  };
  const memoPut = (i: number) => memo.set(i, top());
  const list = (): unknown[] => {
    const l = top();
    if (!Array.isArray(l) || isTuple(l)) fail(`expected a list, found ${describePickled(l)}`);
    return l as unknown[];
  };
  const dict = (): Map<unknown, unknown> => {
    const d = top();
    if (!(d instanceof Map)) fail(`expected a dict, found ${describePickled(d)}`);
    return d as Map<unknown, unknown>;
  };
  const resolve = (module: string, name: string): unknown => {
    const v = options.findGlobal(module, name);
    if (v === undefined) {
      const hint = options.forbiddenHint ? ` (${options.forbiddenHint})` : "";
      throw new Error(`forbidden global '${printable(`${module}.${name}`)}' in ${source}${hint}`);
    }
    return v;
  };
  const call = (f: unknown, args: unknown): unknown => {
    if (!isTuple(args)) fail(`arguments must be a tuple, found ${describePickled(args)}`);
    if (!isPickleGlobal(f) || f.call === undefined) return fail(`${describePickled(f)} is not callable`);
    return f.call(args as readonly unknown[]);
  };

  for (;;) {
    opAt = pos;
    if (pos >= bytes.length) {
      op = 0x2e;
      fail("truncated: the pickle ends before its STOP opcode");
    }
    op = bytes[pos++];
    switch (op) {
      case 0x80: { // PROTO
        const version = u8();
        if (version > 5) fail(`unsupported pickle protocol ${version}`);
        break;
      }
      case 0x95: // FRAME: a length prefix for buffered reading; the whole pickle is in memory already
        need(8);
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (stack.length > 0 && stack.length !== marks[marks.length - 1]) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4a: // BININT
        push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(long(u8()));
        break;
      case 0x8b: { // LONG4
        const n = view.getInt32(need(4), true);
        if (n < 0) fail(`negative length ${n}`);
        push(long(n));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        push(view.getFloat64(need(8), false));
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x8c: // SHORT_BINUNICODE
      case 0x55: // SHORT_BINSTRING (Python 2 str, decoded as UTF-8 like torch.load does)
        push(text(u8()));
        break;
      case 0x58: // BINUNICODE
      case 0x54: // BINSTRING
        push(text(u32()));
        break;
      case 0x8d: // BINUNICODE8
        push(text(u64()));
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8()).slice());
        break;
      case 0x42: // BINBYTES
        push(take(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        push(take(u64()).slice());
        break;
      case 0x7d: // EMPTY_DICT
        push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push(tuple([]));
        break;
      case 0x85: // TUPLE1
        push(tuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        push(tuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        push(tuple([pop(), b, c]));
        break;
      }
      case 0x74: // TUPLE
        push(tuple(popMark()));
        break;
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x64: { // DICT
        const items = popMark();
        if (items.length % 2 !== 0) fail("odd number of items");
        const d = new Map();
        for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
        push(d);
        break;
      }
      case 0x8f: // EMPTY_SET
        push(new Set());
        break;
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail(`expected a set, found ${describePickled(s)}`);
        for (const item of items) (s as Set<unknown>).add(item);
        break;
      }
      case 0x91: // FROZENSET
        push(new Set(popMark()));
        break;
      case 0x61: { // APPEND
        const v = pop();
        list().push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const l = list();
        // A loop, not push(...items): spreading passes every item as an argument, which overflows the
        // stack for long lists.
        for (const item of items) l.push(item);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        dict().set(k, v);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) fail("odd number of items");
        const d = dict();
        for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
        break;
      }
      case 0x71: // BINPUT
        memoPut(u8());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x68: // BINGET
        push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet(u32()));
        break;
      case 0x63: { // GLOBAL
        const module = line();
        push(resolve(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("module and name must be strings");
        push(resolve(module as string, name as string));
        break;
      }
      case 0x52: // REDUCE
      case 0x81: { // NEWOBJ
        const args = pop();
        push(call(pop(), args));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        if (!(kwargs instanceof Map) || kwargs.size > 0) fail("keyword arguments are not supported");
        push(call(pop(), args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (isBuildable(obj)) obj.setState(state);
        else if (obj instanceof Map && (state === null || state instanceof Map)) {
          // Instance attributes of a dict subclass (OrderedDict's `_metadata` in state dicts): not needed.
        } else fail(`cannot set the state of ${describePickled(obj)}`);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (options.persistentLoad === undefined) fail("persistent ids are not expected here");
        push(options.persistentLoad!(pid));
        break;
      }
      default:
        fail(OPCODE_NAMES[op] === undefined ? "unknown opcode" : "unsupported opcode");
    }
  }
}
