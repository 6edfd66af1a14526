/**
 * Test helpers for the readers' fuzz tests (not re-exported by `mod.ts`): a seeded PRNG, byte mutations
 * (bit flips, insertions, deletions, truncation, length fields set to 0 / 0xffffffff / negative, splices),
 * the check every reader's errors must pass, and builders of hostile inputs (zip archives, deflate bombs).
 *
 * A reader passes {@link fuzzReader} when every mutated input either parses or throws a plain `Error` (not a
 * `RangeError`, `TypeError`, `SyntaxError` or stack overflow) whose one-line message names the input, each
 * within a time bound. The bounds guard against hangs; they are not speed claims.
 * @module
 */
import { strict as assert } from "node:assert";
import { crc32 } from "node:zlib";

/** A small deterministic PRNG (mulberry32). */
export class Prng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** Values a length or offset field is set to: empty, saturated, negative as int32/int64, off by one. */
function fieldValue(rng: Prng, length: number): bigint {
  return rng.pick([
    0n,
    1n,
    0xffn,
    0xffffn,
    0x7fffffffn,
    0x80000000n,
    0xffffffffn, // -1 as int32, the zip64 marker
    0xffffffffffffffffn, // -1 as int64
    0x8000000000000000n,
    BigInt(length),
    BigInt(length + 1),
    BigInt(rng.int(2 ** 31)),
  ]);
}

/** Writes `value` as a `size`-byte field at `at` (little- or big-endian), clipped to the buffer. */
function writeField(out: Uint8Array, at: number, size: number, value: bigint, littleEndian: boolean): void {
  for (let k = 0; k < size && at + k < out.length; k++) {
    const byte = Number((value >> BigInt(8 * k)) & 0xffn);
    out[littleEndian ? at + k : at + size - 1 - k] = byte;
  }
}

/** Options of {@link mutate}. */
export interface MutateOptions {
  /** Offsets of known length/offset fields, targeted half of the time by the field mutation. */
  fields?: readonly number[];
}

/** One to three random mutations of `input`; `others` are spliced in. */
export function mutate(
  rng: Prng,
  input: Uint8Array,
  others: readonly Uint8Array[],
  options: MutateOptions = {},
): Uint8Array {
  let b: Uint8Array = input.slice();
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(8)) {
      case 0: { // bit flips
        for (let k = 1 + rng.int(4); k > 0 && b.length > 0; k--) b[rng.int(b.length)] ^= 1 << rng.int(8);
        break;
      }
      case 1: { // a byte set to an interesting or random value
        if (b.length > 0) b[rng.int(b.length)] = rng.pick([0, 0xff, 0x7f, 0x80, 0x0a, rng.int(256)]);
        break;
      }
      case 2: { // insertion of random bytes or of a copy of a range
        const n = 1 + rng.int(16);
        const ins = rng.int(2) === 0
          ? Uint8Array.from({ length: n }, () => rng.int(256))
          : b.slice(rng.int(b.length + 1), rng.int(b.length + 1) + n);
        b = concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 3: { // deletion
        const n = 1 + rng.int(Math.min(64, Math.max(1, b.length)));
        b = concat([b.subarray(0, at), b.subarray(at + n)]);
        break;
      }
      case 4: // truncation
        b = b.slice(0, rng.int(b.length + 1));
        break;
      case 5:
      case 6: { // a length field
        const fields = options.fields ?? [];
        const where = fields.length > 0 && rng.int(2) === 0
          ? rng.pick(fields)
          : rng.int(Math.max(1, b.length));
        writeField(b, where, rng.pick([1, 2, 4, 8]), fieldValue(rng, b.length), rng.int(4) !== 0);
        break;
      }
      case 7: { // splice: a prefix of this input, a suffix of another
        const other = others.length > 0 ? rng.pick(others) : b;
        b = concat([b.subarray(0, at), other.subarray(rng.int(other.length + 1))]);
        break;
      }
    }
  }
  return b;
}

/** The byte arrays joined. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Bytes of a string of code points 0–255 (how pickles are spelled in Python's repr). */
export const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/**
 * Asserts that `e` is what a reader may throw on bad input: a plain `Error` (no subclass: a `RangeError` or
 * `TypeError` is a bug that escaped) whose message is one line and names `name`.
 */
export function assertReaderError(e: unknown, name: string, context = ""): void {
  const what = context ? ` (${context})` : "";
  if (!(e instanceof Error)) assert.fail(`threw a non-Error ${String(e)}${what}`);
  assert.equal(
    e.constructor,
    Error,
    `expected a plain Error, got ${e.constructor.name}: ${e.message.slice(0, 300)}${what}`,
  );
  assert.ok(e.message.includes(name), `message does not name ${name}: ${e.message.slice(0, 300)}${what}`);
  assert.ok(
    !/[\r\n]/.test(e.message),
    `message is not one line: ${JSON.stringify(e.message.slice(0, 300))}${what}`,
  );
}

/**
 * Runs `run()` and asserts it throws a reader error naming `name` (see {@link assertReaderError}) within
 * `ms`; returns the message.
 */
export async function expectReaderError(
  run: () => unknown,
  name: string,
  ms = 5000,
  pattern?: RegExp,
): Promise<string> {
  const start = performance.now();
  let thrown: unknown;
  try {
    await run();
  } catch (e) {
    thrown = e;
  }
  const elapsed = performance.now() - start;
  if (thrown === undefined) assert.fail(`expected an error naming ${name}, but it parsed`);
  assertReaderError(thrown, name);
  const message = (thrown as Error).message;
  if (pattern) assert.match(message, pattern);
  assert.ok(elapsed < ms, `took ${Math.round(elapsed)} ms (bound ${ms} ms): ${message}`);
  return message;
}

/** Resident memory growth (bytes) while `run` runs, sampled every 20 ms and at the end. */
export async function rssGrowth(run: () => Promise<unknown> | unknown): Promise<number> {
  const before = Deno.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 20);
  try {
    await run();
  } finally {
    clearInterval(timer);
    peak = Math.max(peak, Deno.memoryUsage().rss);
  }
  return peak - before;
}

/** Options of {@link fuzzReader}. */
export interface FuzzOptions extends MutateOptions {
  /** Valid inputs to mutate. */
  inputs: readonly Uint8Array[];
  /** How many mutated inputs to try. */
  iterations: number;
  /** Seed of the PRNG. */
  seed: number;
  /** Name the reader is given for its input; its errors must contain it. */
  name: string;
  /** Reads one input (a name to use in errors is passed along). */
  read: (bytes: Uint8Array, name: string) => unknown;
  /** Bound per input, ms; default 5000. */
  perInputMs?: number;
  /** Custom mutation, used instead of {@link mutate} when it returns bytes. */
  mutation?: (rng: Prng, input: Uint8Array) => Uint8Array | undefined;
}

/** What a fuzz run saw. */
export interface FuzzReport {
  parsed: number;
  refused: number;
  /** The slowest input, ms. */
  slowestMs: number;
}

/**
 * Mutates the inputs `iterations` times and asserts that each mutation either parses or throws a reader
 * error (see {@link assertReaderError}) within the bound. A failure names the iteration and shows the
 * input in base64 so that it can be replayed.
 */
export async function fuzzReader(options: FuzzOptions): Promise<FuzzReport> {
  const rng = new Prng(options.seed);
  const bound = options.perInputMs ?? 5000;
  const report: FuzzReport = { parsed: 0, refused: 0, slowestMs: 0 };
  for (let i = 0; i < options.iterations; i++) {
    const input = rng.pick(options.inputs);
    const bytes = options.mutation?.(rng, input) ?? mutate(rng, input, options.inputs, options);
    const context = () =>
      `iteration ${i} of seed ${options.seed}, input (base64) ${
        btoa(String.fromCharCode(...bytes.subarray(0, 3000)))
      }${bytes.length > 3000 ? "…" : ""}`;
    const start = performance.now();
    try {
      await options.read(bytes, options.name);
      report.parsed++;
    } catch (e) {
      assertReaderError(e, options.name, context());
      report.refused++;
    }
    const elapsed = performance.now() - start;
    report.slowestMs = Math.max(report.slowestMs, elapsed);
    assert.ok(elapsed < bound, `took ${Math.round(elapsed)} ms (bound ${bound} ms): ${context()}`);
  }
  return report;
}

// ---------------------------------------------------------------------------------------------------------
// Builders of inputs.

/** One file of {@link makeZip}. */
export interface ZipFile {
  name: string;
  data: Uint8Array;
  /** Bytes stored for the entry (default `data`, method 0); give deflated bytes with method 8. */
  packed?: Uint8Array;
  method?: number;
  /** Uncompressed size to declare (default `data.length`). */
  declaredSize?: number;
}

/** A plain (not zip64) zip archive of `files`, with right CRCs unless `declaredSize` lies. */
export function makeZip(files: readonly ZipFile[]): Uint8Array {
  const le = (size: number, v: number) => {
    const b = new Uint8Array(size);
    for (let k = 0; k < size; k++) b[k] = Math.floor(v / 256 ** k) & 0xff;
    return b;
  };
  const local: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const f of files) {
    const name = new TextEncoder().encode(f.name);
    const packed = f.packed ?? f.data;
    const method = f.method ?? 0;
    const crc = crc32(f.data) >>> 0;
    const size = f.declaredSize ?? f.data.length;
    const header = concat([
      le(4, 0x04034b50),
      le(2, 20),
      le(2, 0),
      le(2, method),
      le(4, 0),
      le(4, crc),
      le(4, packed.length),
      le(4, size),
      le(2, name.length),
      le(2, 0),
      name,
    ]);
    local.push(header, packed);
    central.push(concat([
      le(4, 0x02014b50),
      le(2, 20),
      le(2, 20),
      le(2, 0),
      le(2, method),
      le(4, 0),
      le(4, crc),
      le(4, packed.length),
      le(4, size),
      le(2, name.length),
      le(2, 0),
      le(2, 0),
      le(2, 0),
      le(2, 0),
      le(4, 0),
      le(4, offset),
      name,
    ]));
    offset += header.length + packed.length;
  }
  const dir = concat(central);
  const eocd = concat([
    le(4, 0x06054b50),
    le(2, 0),
    le(2, 0),
    le(2, files.length),
    le(2, files.length),
    le(4, dir.length),
    le(4, offset),
    le(2, 0),
  ]);
  return concat([...local, dir, eocd]);
}

/**
 * A raw deflate stream (one fixed-Huffman block) that inflates to `prefix` followed by `zeros` zero bytes
 * (rounded up to a multiple of 258): about 13 bits per 258 bytes, so ~6.5 MB inflate to 1 GiB. Built
 * directly, without ever holding the inflated bytes.
 */
export function deflateBomb(prefix: Uint8Array, zeros: number): Uint8Array {
  const out = new Uint8Array(
    Math.ceil((3 + 9 * (prefix.length + 1) + 13 * Math.ceil(zeros / 258) + 7) / 8) + 8,
  );
  let bit = 0;
  const bits = (value: number, count: number) => { // least significant bit first
    for (let k = 0; k < count; k++, bit++) if ((value >> k) & 1) out[bit >> 3] |= 1 << (bit & 7);
  };
  const code = (value: number, count: number) => { // Huffman codes go most significant bit first
    for (let k = count - 1; k >= 0; k--, bit++) if ((value >> k) & 1) out[bit >> 3] |= 1 << (bit & 7);
  };
  const literal = (v: number) => v < 144 ? code(0x30 + v, 8) : code(0x190 + v - 144, 9);
  bits(1, 1); // BFINAL
  bits(1, 2); // BTYPE 01: fixed Huffman codes
  for (const v of prefix) literal(v);
  literal(0); // the zero the matches copy
  for (let n = 0; n < zeros; n += 258) {
    code(0xc5, 8); // length code 285: 258 bytes
    code(0, 5); // distance code 0: distance 1
  }
  code(0, 7); // end of block (256)
  return out.subarray(0, (bit + 7) >> 3);
}

/** A gzip member around a raw deflate stream (CRC and size fields are not checked before the bombs fail). */
export function gzipOf(deflated: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff), deflated, new Uint8Array(8)]);
}
