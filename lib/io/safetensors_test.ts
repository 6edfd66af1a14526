import { strict as assert } from "node:assert";
import { join } from "node:path";
import { DTYPE_SIZE, HostTensor } from "./dtype.ts";
import { parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors } from "./safetensors.ts";

const FIXTURES = join(import.meta.dirname!, "../../tests/fixtures/pth");

/** A safetensors file with header `header` (an object, or raw JSON text) and `dataBytes` zero data bytes. */
function fileWith(header: unknown, dataBytes = 0): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

Deno.test("readSafetensors reads a file written from the spec by Python to PyTorch's values", async () => {
  const want = JSON.parse(await Deno.readTextFile(join(FIXTURES, "expected.json"))).safetensors;
  const file = await readSafetensors(join(FIXTURES, "reference.safetensors"));
  assert.deepEqual(file.metadata, want.metadata);
  assert.deepEqual([...file.tensors.keys()], Object.keys(want.tensors));
  for (
    const [name, w] of Object.entries(want.tensors) as [
      string,
      { dtype: string; shape: number[]; values: unknown[] },
    ][]
  ) {
    const t = file.tensors.get(name)!;
    assert.equal(t.dtype, w.dtype, name);
    assert.deepEqual(t.shape, w.shape, name);
    assert.deepEqual(t.data instanceof BigInt64Array ? [...t.data].map(String) : [...t.data], w.values, name);
  }
  assert.ok(file.tensors.get("f16")!.data instanceof Float32Array, "F16 is widened to float32");
  assert.ok(file.tensors.get("i64")!.data instanceof BigInt64Array);
});

Deno.test("writeSafetensors round-trips every dtype, aligned, with metadata", async () => {
  const tensors = new Map<string, HostTensor>([
    ["b.f32", { dtype: "F32", shape: [2, 2], data: new Float32Array([1, -2.5, 3e-8, 0]) }],
    ["a.f16", { dtype: "F16", shape: [3], data: new Float32Array([1, 0.5, -65504]) }],
    ["bf16", { dtype: "BF16", shape: [1], data: new Float32Array([-2.5]) }],
    ["f64", { dtype: "F64", shape: [1], data: new Float64Array([0.1]) }],
    ["i64", { dtype: "I64", shape: [2], data: new BigInt64Array([2n ** 62n, -1n]) }],
    ["i32", { dtype: "I32", shape: [], data: new Int32Array([-7]) }],
    ["i16", { dtype: "I16", shape: [1], data: new Int16Array([-300]) }],
    ["i8", { dtype: "I8", shape: [1], data: new Int8Array([-100]) }],
    ["u8", { dtype: "U8", shape: [3], data: new Uint8Array([0, 7, 255]) }],
    ["bool", { dtype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) }],
    ["empty", { dtype: "F32", shape: [0, 4], data: new Float32Array(0) }],
  ]);
  const dir = await Deno.makeTempDir({ prefix: "ganatomy_safetensors_" });
  try {
    const path = join(dir, "sub", "all.safetensors");
    await writeSafetensors(path, tensors, { metadata: { step: "10" } });
    const file = await readSafetensors(path);
    assert.deepEqual(file.metadata, { step: "10" });
    assert.deepEqual(new Map([...file.tensors].sort()), new Map([...tensors].sort()));

    const bytes = await Deno.readFile(path);
    const headerBytes = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal((8 + headerBytes) % 8, 0, "data starts 8-byte aligned");
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerBytes)));
    for (
      const [name, info] of Object.entries(header) as [string, { dtype: "F32"; data_offsets: number[] }][]
    ) {
      if (name !== "__metadata__") assert.equal(info.data_offsets[0] % DTYPE_SIZE[info.dtype], 0, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serializeSafetensors stores float32 weights as F16 on request", () => {
  const w = { dtype: "F32" as const, shape: [3], data: new Float32Array([1, 1 / 3, 1e6]) };
  const ids = { dtype: "I32" as const, shape: [1], data: new Int32Array([5]) };
  const f32 = serializeSafetensors({ w, ids });
  const f16 = serializeSafetensors({ w, ids }, { dtype: "F16" });
  assert.ok(f16.length < f32.length);
  const back = parseSafetensors(f16).tensors;
  assert.equal(back.get("w")!.dtype, "F16");
  assert.deepEqual([...back.get("w")!.data], [1, 0.333251953125, Infinity], "rounded to nearest half");
  assert.deepEqual(back.get("ids"), ids, "integer tensors keep their dtype");
});

Deno.test("writeSafetensors rejects inconsistent tensors, naming file and tensor", async () => {
  const bad = { w: { dtype: "F32" as const, shape: [2, 3], data: new Float32Array(5) } };
  await assert.rejects(writeSafetensors("/tmp/never_written.safetensors", bad), {
    message: "/tmp/never_written.safetensors: tensor 'w': shape [2,3] has 6 elements, data has 5",
  });
  const wrongKind = { n: { dtype: "I64" as const, shape: [1], data: new Int32Array(1) } };
  assert.throws(() => serializeSafetensors(wrongKind), {
    message: "tensor 'n': dtype I64 is held in a BigInt64Array, got Int32Array",
  });
});

Deno.test("readSafetensors names the file and tensor on every malformed input", async () => {
  const opts = { name: "bad.safetensors" };
  const f32 = (begin: number, end: number, shape = [2]) => ({
    dtype: "F32",
    shape,
    data_offsets: [begin, end],
  });
  const cases: [Uint8Array, string][] = [
    [
      new Uint8Array(5),
      "bad.safetensors: truncated safetensors file: 5 bytes, the header length alone needs 8",
    ],
    [
      fileWith({ w: f32(0, 8) }).subarray(0, 20),
      "bad.safetensors: safetensors header length 54 exceeds the 12 bytes after it (truncated file?)",
    ],
    [fileWith("{not json"), "bad.safetensors: safetensors header is not valid JSON: "],
    [fileWith("[1, 2]"), "bad.safetensors: safetensors header must be a JSON object"],
    [
      fileWith({ w: f32(0, 8), v: f32(8, 16) }, 12),
      "bad.safetensors: tensor 'v': data_offsets [8, 16] out of range: the data section has 12 bytes",
    ],
    [
      fileWith({ w: f32(0, 12) }, 12),
      "bad.safetensors: tensor 'w': shape [2] of F32 needs 8 bytes but data_offsets [0, 12] span 12",
    ],
    [fileWith({ w: f32(0, 8), v: f32(4, 12) }, 12), "bad.safetensors: tensor 'v' overlaps tensor 'w'"],
    [fileWith({ w: f32(4, 12) }, 12), "bad.safetensors: 4 unused bytes before tensor 'w' (at 0)"],
    [fileWith({ w: f32(0, 8) }, 12), "bad.safetensors: 4 bytes after the last tensor are not described"],
    [
      fileWith({ w: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, 1),
      `bad.safetensors: tensor 'w': unsupported dtype "F8_E4M3"`,
    ],
    [
      fileWith({ w: f32(0, 8, [-2]) }, 8),
      "bad.safetensors: tensor 'w': shape must be a list of non-negative integers, got [-2]",
    ],
    [
      fileWith({ w: { dtype: "F32", shape: [2], data_offsets: [0] } }, 8),
      "bad.safetensors: tensor 'w': data_offsets must be [begin, end], got [0]",
    ],
    [
      fileWith({ __metadata__: { step: 3 } }),
      `bad.safetensors: __metadata__ value of 'step' must be a string, got 3`,
    ],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => parseSafetensors(bytes, opts), (e: Error) => {
      assert.ok(e.message.startsWith(message), `got: ${e.message}\nwanted: ${message}`);
      return true;
    });
  }
  // From a path, the path names the file.
  const dir = await Deno.makeTempDir({ prefix: "ganatomy_safetensors_" });
  try {
    const path = join(dir, "cut.safetensors");
    await Deno.writeFile(path, new Uint8Array(3));
    await assert.rejects(readSafetensors(path), {
      message: `${path}: truncated safetensors file: 3 bytes, the header length alone needs 8`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
