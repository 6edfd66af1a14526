import { strict as assert } from "node:assert";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { HostTensor } from "./dtype.ts";
import { parsePth, readPth } from "./pth.ts";

const FIXTURES = join(import.meta.dirname!, "../../tests/fixtures/pth");
const fixture = (name: string) => join(FIXTURES, name);

interface Expected {
  dtype: string;
  shape: number[];
  /** Row-major values; int64 as decimal strings. */
  values: (number | string)[];
}
const expected: Record<string, Record<string, Expected>> = JSON.parse(
  await Deno.readTextFile(fixture("expected.json")),
);

function assertTensors(actual: Map<string, HostTensor>, want: Record<string, Expected>, file: string): void {
  assert.deepEqual([...actual.keys()], Object.keys(want), `${file}: keys`);
  for (const [key, w] of Object.entries(want)) {
    const t = actual.get(key)!;
    assert.equal(t.dtype, w.dtype, `${file}: ${key} dtype`);
    assert.deepEqual(t.shape, w.shape, `${file}: ${key} shape`);
    const values = t.data instanceof BigInt64Array ? [...t.data].map(String) : [...t.data];
    assert.deepEqual(values, w.values, `${file}: ${key} values`);
  }
}

Deno.test("readPth reads the zip and legacy formats to the values PyTorch saved", async () => {
  // The fixture mixes F32/F16/BF16/F64/I64/I32/I16/I8/U8/BOOL and holds a transposed tensor, two views of
  // one storage at offsets 5 and 2, an expanded (stride 0) tensor, a scalar and an empty tensor.
  for (const file of ["model_zip.pth", "model_zip_p4.pth", "model_legacy.pth"]) {
    assertTensors(await readPth(fixture(file)), expected.model, file);
  }
});

Deno.test("readPth returns contiguous tensors that own their data", async () => {
  const sd = await readPth(fixture("model_zip.pth"));
  const a = sd.get("extra.shared_a")!;
  const b = sd.get("extra.shared_b")!;
  assert.notEqual(a.data.buffer, b.data.buffer, "views of one storage get separate copies");
  assert.deepEqual([...sd.get("extra.transposed")!.data], [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  assert.equal(sd.get("1.num_batches_tracked")!.data[0], 12n);
});

Deno.test("readPth unwraps {'state_dict': ...} and reports what it leaves out", async () => {
  for (const file of ["wrapped_zip.pth", "wrapped_legacy.pth"]) {
    const skipped: string[] = [];
    const sd = await readPth(fixture(file), { onSkip: (key, what) => skipped.push(`${key}: ${what}`) });
    assertTensors(sd, expected.wrapped, file);
    assert.deepEqual(skipped, [
      `epoch: number 7 outside 'state_dict'`,
      `arch: str "tiny" outside 'state_dict'`,
    ]);
  }
});

Deno.test("readPth flattens nested dicts with dotted keys, or selects one", async () => {
  const skipped: string[] = [];
  const sd = await readPth(fixture("nested_zip.pth"), { onSkip: (key) => skipped.push(key) });
  assertTensors(sd, expected.nested, "nested_zip.pth");
  assert.deepEqual(skipped, ["step", "losses"]);

  const g = await readPth(fixture("nested_zip.pth"), { select: "G" });
  assert.deepEqual([...g.keys()], ["conv.weight", "conv.bias", "fc.weight", "p"]);
  assert.deepEqual([...g.get("p")!.data], [0.25, -0.75], "a Parameter reads as its data");
  await assert.rejects(readPth(fixture("nested_zip.pth"), { select: "g_ema" }), {
    message: `${fixture("nested_zip.pth")}: no entry 'g_ema' of 'g_ema' (found: G, D, step, losses)`,
  });
});

Deno.test("readPth refuses a pickle that calls os.system, naming the global and the file", async () => {
  const { forbidden, marker } = expected.evil as unknown as { forbidden: string; marker: string };
  assert.equal(forbidden, "posix.system", "os.system pickles under its real module name on Linux");
  for (const file of ["evil_zip.pth", "evil_legacy.pth"]) {
    await assert.rejects(readPth(fixture(file)), (e: Error) => {
      assert.ok(e.message.startsWith(`forbidden global 'posix.system' in ${fixture(file)}`), e.message);
      return true;
    });
  }
  assert.ok(!existsSync(marker), `${marker} exists: the payload ran`);
});

Deno.test("readPth names the file when it is truncated or not a checkpoint", async () => {
  const zip = await Deno.readFile(fixture("model_zip.pth"));
  assert.throws(() => parsePth(zip.subarray(0, zip.length - 100), { name: "cut.pth" }), {
    message: "cut.pth: zip end-of-central-directory record not found (truncated or not a zip archive)",
  });
  const legacy = await Deno.readFile(fixture("model_legacy.pth"));
  assert.throws(
    () => parsePth(legacy.subarray(0, legacy.length - 10), { name: "cut.pth" }),
    /^Error: cut\.pth: truncated/,
  );
  assert.throws(
    () => parsePth(legacy.subarray(0, 400), { name: "cut.pth" }),
    /^Error: cut\.pth: pickle .* truncated/,
  );

  assert.throws(() => parsePth(new TextEncoder().encode("hello"), { name: "text.pth" }), {
    message: "text.pth: not a PyTorch checkpoint: starts with bytes 68 65 6c 6c 6f, " +
      "expected a zip archive (50 4b 03 04) or a pickle (80)",
  });
  assert.throws(
    () => parsePth(new Uint8Array(0), { name: "empty.pth" }),
    /^Error: empty\.pth: .*\(empty file\)/,
  );
  // A pickle of the number 5 where the legacy magic number should be.
  assert.throws(() => parsePth(Uint8Array.of(0x80, 2, 0x4b, 5, 0x2e), { name: "five.pth" }), {
    message:
      "five.pth: wrong magic number: found number 5, expected 0x1950a86a20f9469cfc6c (not a PyTorch checkpoint)",
  });
  await assert.rejects(
    readPth(fixture("reference.safetensors")),
    /reference\.safetensors: not a PyTorch checkpoint/,
  );
});

/**
 * A legacy-format file holding {'w': tensor} where the tensor has `size` elements (stride 1) in a storage
 * 'k' of 2 float32 elements, whose data block announces `count` elements.
 */
function legacyFile(size: number, count = 2): Uint8Array {
  const s = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
  const str = (text: string) => [s("X"), Uint8Array.of(text.length, 0, 0, 0), s(text)];
  const magic = Uint8Array.of(
    0x80,
    2,
    0x8a,
    10,
    0x6c,
    0xfc,
    0x9c,
    0x46,
    0xf9,
    0x20,
    0x6a,
    0xa8,
    0x50,
    0x19,
    0x2e,
  );
  const parts = [
    magic,
    s("\x80\x02M\xe9\x03."), // protocol version 1001
    s("\x80\x02}."), // system info: {}
    s("\x80\x02}("),
    ...str("w"),
    s("ctorch._utils\n_rebuild_tensor_v2\n(("),
    ...str("storage"),
    s("ctorch\nFloatStorage\n"),
    ...str("k"),
    ...str("cpu"),
    s("K\x02NtQK\x00K"),
    Uint8Array.of(size),
    s("\x85K\x01\x85\x89}tRu."), // size (size,), stride (1,), False, {}; REDUCE; SETITEMS; STOP
    s("\x80\x02]"),
    ...str("k"),
    s("a."), // storage keys ['k']
    new Uint8Array(new BigInt64Array([BigInt(count)]).buffer),
    new Uint8Array(new Float32Array([1.5, -2]).buffer),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("readPth checks tensors against their storages", () => {
  const sd = parsePth(legacyFile(2), { name: "ok.pth" });
  assert.deepEqual(sd.get("w"), { dtype: "F32", shape: [2], data: new Float32Array([1.5, -2]) });
  assert.throws(() => parsePth(legacyFile(3), { name: "big.pth" }), {
    message: "big.pth: tensor 'w': size [3], stride [1] and offset 0 reach element 2 of a 2-element storage",
  });
  const file = legacyFile(2);
  assert.throws(() => parsePth(file.subarray(0, file.length - 4), { name: "cut.pth" }), {
    message: "cut.pth: truncated: storage 'k' needs 8 bytes, only 4 are left",
  });
  assert.throws(() => parsePth(legacyFile(2, 3), { name: "count.pth" }), {
    message: "count.pth: storage 'k' holds 3 elements, expected 2",
  });
});
