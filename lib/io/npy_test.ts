/**
 * `.npy` reading against files numpy wrote (tests/fixtures/make_npy_fixtures.py), compared value by value, and
 * malformed files: every error is one line naming the file, never a `RangeError`.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { isNpy, parseNpy, parseNpyHeader, readNpy } from "./npy.ts";
import { Rng } from "../tensor/rng.ts";

const DIR = new URL("../../tests/fixtures/npy/", import.meta.url).pathname;
const expected = JSON.parse(await Deno.readTextFile(join(DIR, "expected.json")));

interface Described {
  descr: string;
  shape: number[];
  values: number[];
}

const DTYPES: Record<string, string> = {
  f4: "F32",
  f8: "F64",
  u1: "U8",
  i1: "I8",
  i2: "I16",
  i4: "I32",
  i8: "I64",
  f2: "F16",
  b1: "BOOL",
  f8_big_endian: "F64",
  scalar: "F64",
  empty: "F32",
  v2: "F32",
  features_a: "F32",
  features_b: "F32",
};

/** The values of `data` as plain numbers (int64 checked to be exact). */
function numbers(data: ArrayLike<number | bigint>): number[] {
  return Array.from(data, (v) => {
    if (typeof v === "bigint") {
      assert.ok(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER));
      return Number(v);
    }
    return v;
  });
}

for (const [name, dtype] of Object.entries(DTYPES)) {
  Deno.test(`readNpy: ${name}.npy as numpy wrote it, values exact`, async () => {
    const want = expected[name] as Described;
    const a = await readNpy(join(DIR, `${name}.npy`));
    assert.equal(a.descr, want.descr);
    assert.equal(a.dtype, dtype);
    assert.deepEqual(a.shape, want.shape);
    assert.deepEqual(numbers(a.data as ArrayLike<number | bigint>), want.values);
  });
}

Deno.test("readNpy: element types are held as dtype.ts says", async () => {
  assert.ok((await readNpy(join(DIR, "f4.npy"))).data instanceof Float32Array);
  assert.ok((await readNpy(join(DIR, "f2.npy"))).data instanceof Float32Array);
  assert.ok((await readNpy(join(DIR, "f8_big_endian.npy"))).data instanceof Float64Array);
  assert.ok((await readNpy(join(DIR, "i8.npy"))).data instanceof BigInt64Array);
  assert.ok((await readNpy(join(DIR, "u1.npy"))).data instanceof Uint8Array);
  assert.deepEqual(parseNpyHeader(await Deno.readFile(join(DIR, "v2.npy"))).version, [2, 0]);
});

Deno.test("readNpy: Fortran order is refused, naming the file and the way out", async () => {
  const path = join(DIR, "fortran.npy");
  await assert.rejects(readNpy(path), {
    message: `${path}: .npy array is in Fortran (column-major) order, which is not supported: ` +
      "save it in C order (np.save(path, np.ascontiguousarray(a)))",
  });
});

/** A `.npy` file with header `text` (padded as numpy pads it) and `data`, format `version`. */
function npy(text: string, data: Uint8Array = new Uint8Array(), version = 1): Uint8Array {
  const lengthBytes = version === 1 ? 2 : 4;
  let header = new TextEncoder().encode(text);
  const total = 8 + lengthBytes + header.length + 1;
  const padded = new Uint8Array(header.length + ((64 - (total % 64)) % 64) + 1).fill(0x20);
  padded.set(header);
  padded[padded.length - 1] = 0x0a;
  header = padded;
  const out = new Uint8Array(8 + lengthBytes + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(header, 8 + lengthBytes);
  out.set(data, 8 + lengthBytes + header.length);
  return out;
}

const f4 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

Deno.test("parseNpy: headers written by hand, as numpy would (and Python 2's long integers)", () => {
  const a = parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4([1, 2.5])));
  assert.deepEqual([a.shape, [...a.data as Float32Array]], [[2], [1, 2.5]]);
  const b = parseNpy(npy('{"shape": (1L, 2L), "fortran_order": False, "descr": "<f4"}', f4([3, 4]), 3));
  assert.deepEqual([b.shape, [...b.data as Float32Array]], [[1, 2], [3, 4]]);
  assert.ok(isNpy(npy("{}")) && !isNpy(new Uint8Array([1, 2])));
});

const BAD: [string, Uint8Array, RegExp][] = [
  ["empty file", new Uint8Array(), /not a \.npy file \(0 bytes/],
  [
    "no magic",
    new TextEncoder().encode("PK\x03\x04 this is a zip"),
    /not a \.npy file \(no \\x93NUMPY magic/,
  ],
  ["cut in the magic", npy("{}").subarray(0, 8), /truncated \.npy file \(8 bytes, no header length\)/],
  [
    "version 4.0",
    (() => {
      const b = npy("{}");
      b[6] = 4;
      return b;
    })(),
    /unsupported \.npy format version 4\.0/,
  ],
  [
    "header longer than the file",
    npy("{}").subarray(0, 40),
    /the header needs bytes up to 64, the file has 40/,
  ],
  ["header not a dict", npy("[1, 2]"), /malformed \.npy header: not a dict/],
  ["header junk", npy("{'descr': '<f4', 'fortran_order': Fals"), /malformed \.npy header: unexpected name/],
  ["unterminated string", npy("{'descr': '<f4"), /malformed \.npy header: unterminated string/],
  [
    "extra key",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}"),
    /needs exactly the keys/,
  ],
  [
    "missing key",
    npy("{'descr': '<f4', 'shape': ()}"),
    /needs exactly the keys descr, fortran_order, shape, got "descr", "shape"/,
  ],
  [
    "code in the header",
    npy("{'descr': __import__('os'), 'fortran_order': False, 'shape': ()}"),
    /unexpected name "__import__"/,
  ],
  ["shape a list", npy("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}"), /shape is not a tuple/],
  [
    "negative dimension",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}"),
    /is not integers ≥ 0/,
  ],
  [
    "float dimension",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}"),
    /unexpected number "2\.5" \(integers only\)/,
  ],
  [
    "huge integer",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"),
    /too large/,
  ],
  [
    "huge shape",
    npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000)}"),
    /larger than the 2147483648 bytes accepted/,
  ],
  [
    "uint32",
    npy("{'descr': '<u4', 'fortran_order': False, 'shape': ()}"),
    /dtype "<u4" is not supported; supported: float16/,
  ],
  [
    "objects",
    npy("{'descr': '|O', 'fortran_order': False, 'shape': ()}"),
    /dtype "\|O" \(Python objects, which need pickle\) is not supported/,
  ],
  [
    "complex",
    npy("{'descr': '<c16', 'fortran_order': False, 'shape': ()}"),
    /\(complex numbers\) is not supported/,
  ],
  ["structured", npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}"), /structured dtype/],
  ["no byte order", npy("{'descr': '|f4', 'fortran_order': False, 'shape': ()}"), /needs a byte order/],
  [
    "fortran_order not a bool",
    npy("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}"),
    /fortran_order is 0/,
  ],
  [
    "truncated data",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", f4([1, 2])),
    /truncated \.npy file: shape \(3,\) <f4 needs 12 bytes of data, the file has 8/,
  ],
  [
    "bytes after the data",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", f4([1, 2])),
    /has 4 bytes after the 4 bytes of data that shape \(1,\) <f4 calls for/,
  ],
];

for (const [what, bytes, message] of BAD) {
  Deno.test(`parseNpy refuses: ${what} (one line naming the file)`, () => {
    assert.throws(() => parseNpy(bytes, { name: "bad.npy" }), (e: Error) => {
      assert.ok(!(e instanceof RangeError), String(e.stack));
      assert.match(e.message, /^bad\.npy: /);
      assert.match(e.message, message);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  });
}

Deno.test("parseNpy: maxBytes bounds the data before anything is allocated", () => {
  const bytes = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", f4([1, 2]));
  assert.throws(() => parseNpy(bytes, { name: "x.npy", maxBytes: 4 }), {
    message: "x.npy: .npy array of shape (2,) <f4 is larger than the 4 bytes accepted",
  });
});

Deno.test("readNpy: every truncation and random corruption of a real file gives a one-line Error or a value", async () => {
  const path = join(DIR, "f4.npy");
  const good = await Deno.readFile(path);
  const check = (bytes: Uint8Array) => {
    try {
      parseNpy(bytes, { name: path });
    } catch (e) {
      assert.ok(e instanceof Error && !(e instanceof RangeError), String(e));
      assert.ok(e.message.startsWith(`${path}: `) && !e.message.includes("\n"), e.message);
    }
  };
  for (let n = 0; n < good.length; n++) {
    assert.throws(() => parseNpy(good.subarray(0, n), { name: path }), (e: Error) => {
      check(good.subarray(0, n));
      return e.message.startsWith(`${path}: `);
    });
  }
  const rng = new Rng(7);
  for (let i = 0; i < 2000; i++) {
    const bytes = good.slice();
    for (let j = 0; j < 3; j++) bytes[rng.int(Math.min(bytes.length, 128))] = rng.int(256);
    check(bytes);
  }
  await assert.rejects(readNpy(join(DIR, "missing.npy")), {
    message: `${join(DIR, "missing.npy")}: no such file`,
  });
});
