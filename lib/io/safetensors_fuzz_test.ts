/**
 * Fuzzing the safetensors reader: seeded byte mutations of files, and mutations of their JSON header's
 * values (wrong types, negative, huge, nested), either read or fail with a one-line `Error` naming the file,
 * quickly.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import type { HostTensor } from "./dtype.ts";
import { concat, expectReaderError, fuzzReader, mutate, type Prng } from "./fuzz_test_util.ts";
import { parseSafetensors, serializeSafetensors } from "./safetensors.ts";

const FIXTURES = join(import.meta.dirname!, "../../tests/fixtures/pth");

/** Values that a header field should not hold. */
const WEIRD: unknown[] = [
  -1,
  0,
  1.5,
  2 ** 53,
  1e308,
  "F32",
  "x".repeat(500),
  "a\nb",
  null,
  true,
  [],
  {},
  [-1, 3],
  [1e15, 1e15],
  [0, 2 ** 60],
  JSON.parse("[".repeat(5000) + "]".repeat(5000)),
];

/** A file with one header value (of a tensor or of the metadata) replaced by a weird one. */
function mutateHeader(rng: Prng, bytes: Uint8Array): Uint8Array | undefined {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const names = Object.keys(header);
  const name = rng.pick(names);
  const entry = header[name];
  const weird = rng.pick(WEIRD);
  if (rng.int(4) === 0) header[rng.pick(["__metadata__", name, "x\ny"])] = weird;
  else {
    const field = rng.pick([...Object.keys(entry), "dtype"]);
    if (Array.isArray(entry[field]) && entry[field].length > 0 && rng.int(2) === 0) {
      entry[field][rng.int(entry[field].length)] = weird;
    } else entry[field] = weird;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(json.length), true);
  return concat([length, json, bytes.subarray(8 + n)]);
}

Deno.test("fuzz: mutated safetensors files read or fail with an error naming the file", async () => {
  const tensors = new Map<string, HostTensor>([
    ["w", { dtype: "F32", shape: [2, 3], data: new Float32Array(6).fill(0.5) }],
    ["h", { dtype: "F16", shape: [3], data: new Float32Array([1, 2, 3]) }],
    ["i", { dtype: "I64", shape: [], data: new BigInt64Array([7n]) }],
    ["b", { dtype: "BOOL", shape: [2], data: Uint8Array.of(0, 1) }],
    ["e", { dtype: "U8", shape: [0, 4], data: new Uint8Array(0) }],
  ]);
  const inputs = [
    serializeSafetensors(tensors, { metadata: { "ganatomy.arch": "x", note: "n" } }),
    serializeSafetensors(new Map([["bf", { dtype: "BF16", shape: [1], data: new Float32Array([2]) }]])),
    await Deno.readFile(join(FIXTURES, "reference.safetensors")),
  ];
  for (const input of inputs) parseSafetensors(input, { name: "valid.safetensors" });
  const read = (bytes: Uint8Array, name: string) => parseSafetensors(bytes, { name });
  const start = performance.now();
  const bytesReport = await fuzzReader({
    inputs,
    iterations: 2500,
    seed: 5,
    name: "fuzzed.safetensors",
    read,
    fields: [0, 4],
  });
  const headerReport = await fuzzReader({
    inputs,
    iterations: 1500,
    seed: 6,
    name: "fuzzed.safetensors",
    read,
    mutation: (rng, input) =>
      rng.int(5) === 0 ? mutate(rng, mutateHeader(rng, input)!, inputs) : mutateHeader(rng, input),
  });
  for (const report of [bytesReport, headerReport]) {
    assert.ok(report.parsed > 0 && report.refused > 0, JSON.stringify(report));
  }
  assert.ok(performance.now() - start < 15_000, `fuzzing took ${performance.now() - start} ms`);
});

Deno.test("regression: names and values from the header are quoted on one line", async () => {
  const json = new TextEncoder().encode(
    JSON.stringify({ "a\nb": { dtype: "F99", shape: [1], data_offsets: [0, 4] } }),
  );
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(json.length), true);
  await expectReaderError(
    () => parseSafetensors(concat([length, json, new Uint8Array(4)]), { name: "names.safetensors" }),
    "names.safetensors",
    5000,
    /^names\.safetensors: tensor 'a\\u000ab': unsupported dtype "F99"$/,
  );
  const broken = concat([Uint8Array.of(12, 0, 0, 0, 0, 0, 0, 0), new TextEncoder().encode('{"a":\n  x  }')]);
  await expectReaderError(
    () => parseSafetensors(broken, { name: "json.safetensors" }),
    "json.safetensors",
    5000,
    /^json\.safetensors: safetensors header is not valid JSON: /,
  );
});
