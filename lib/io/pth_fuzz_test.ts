/**
 * Fuzzing the PyTorch checkpoint reader: seeded mutations of the fixture checkpoints (both formats, and zip
 * archives re-packed around mutated pickles so that the CRC check does not stop them first) either read or
 * fail with a one-line `Error` naming the file, quickly; plus the inputs an earlier fuzzing pass found.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import {
  concat,
  expectReaderError,
  fuzzReader,
  latin1,
  makeZip,
  mutate,
  Prng,
  rssGrowth,
} from "./fuzz_test_util.ts";
import { parsePth } from "./pth.ts";
import { openZip } from "./zip.ts";

const FIXTURES = join(import.meta.dirname!, "../../tests/fixtures/pth");
const fixture = (name: string) => Deno.readFile(join(FIXTURES, name));

/** A zip checkpoint whose data.pkl is `pickle`, with storages `storages` (key → bytes). */
function zipPth(pickle: Uint8Array, storages: Record<string, Uint8Array> = {}): Uint8Array {
  return makeZip([
    { name: "archive/data.pkl", data: pickle },
    ...Object.entries(storages).map(([key, data]) => ({ name: `archive/data/${key}`, data })),
    { name: "archive/version", data: latin1("3\n") },
  ]);
}

const int32 = (v: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
};
const str = (s: string) => concat([latin1("X"), int32(s.length), latin1(s)]);
const ints = (values: readonly number[]) =>
  concat([latin1("("), ...values.map((v) => concat([latin1("J"), int32(v)])), latin1("t")]);

/** The pickle of `{'w': tensor}`, a view (size, stride, offset) of storage '0' (`numel` elements of `type`). */
function tensorPickle(
  size: number[],
  stride: number[],
  numel: number,
  type = "FloatStorage",
  offset = 0,
): Uint8Array {
  return concat([
    latin1("\x80\x02}"),
    str("w"),
    latin1("ctorch._utils\n_rebuild_tensor_v2\n(("),
    str("storage"),
    latin1(`ctorch\n${type}\n`),
    str("0"),
    str("cpu"),
    latin1("J"),
    int32(numel),
    latin1("tQJ"),
    int32(offset),
    ints(size),
    ints(stride),
    latin1("\x89}tRs."),
  ]);
}

/** The data.pkl of a zip fixture. */
async function pickleOf(file: string): Promise<Uint8Array> {
  const zip = openZip(await fixture(file));
  return zip.read([...zip.entries.keys()].find((n) => n.endsWith("/data.pkl"))!);
}

Deno.test("fuzz: mutated checkpoints read or fail with an error naming the file", async () => {
  const files = await Promise.all(
    ["model_zip.pth", "model_legacy.pth", "nested_zip.pth", "wrapped_legacy.pth", "wrapped_zip.pth"].map(
      fixture,
    ),
  );
  const start = performance.now();
  const report = await fuzzReader({
    inputs: files,
    iterations: 2000,
    seed: 2,
    name: "fuzzed.pth",
    read: (bytes, name) => parsePth(bytes, { name }),
  });
  assert.ok(report.refused > 0, JSON.stringify(report));

  // Mutated pickles inside a well-formed archive, storages included: they reach the tensor rebuilding.
  const zip = openZip(files[0]);
  const storages: Record<string, Uint8Array> = {};
  for (const name of zip.entries.keys()) {
    const m = name.match(/\/data\/(\w+)$/);
    if (m) storages[m[1]] = zip.read(name);
  }
  const pickles = [
    await pickleOf("model_zip.pth"),
    await pickleOf("nested_zip.pth"),
    tensorPickle([2, 3], [1, 2], 6),
  ];
  const inner = await fuzzReader({
    inputs: pickles,
    iterations: 1500,
    seed: 3,
    name: "repacked.pth",
    read: (bytes, name) => parsePth(bytes, { name }),
    mutation: (rng: Prng, input) =>
      zipPth(mutate(rng, input, pickles), { ...storages, 0: new Uint8Array(24) }),
  });
  assert.ok(inner.parsed > 0 && inner.refused > 0, JSON.stringify(inner));
  assert.ok(performance.now() - start < 15_000, `fuzzing took ${performance.now() - start} ms`);
});

Deno.test("regression: a dict that contains itself is an error, not a stack overflow", async () => {
  const bytes = zipPth(latin1("\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s."));
  await expectReaderError(
    () => parsePth(bytes, { name: "cycle.pth" }),
    "cycle.pth",
    5000,
    /^cycle\.pth: dict of 1 at 'a' contains itself \(it is the top-level dict\): not a state dict$/,
  );
});

Deno.test("regression: dicts nested 100,000 deep flatten without recursion", () => {
  const depth = 100_000;
  const key = concat([latin1("X"), int32(1), latin1("a")]);
  const open = concat([latin1("}"), key]);
  const nested = new Uint8Array(2 + open.length * depth + 1 + depth + 1);
  nested.set(latin1("\x80\x02"));
  for (let i = 0; i < depth; i++) nested.set(open, 2 + i * open.length);
  nested.set(latin1("}" + "s".repeat(depth) + "."), 2 + depth * open.length);
  const start = performance.now();
  const skipped: string[] = [];
  const sd = parsePth(zipPth(nested), { name: "deep.pth", onSkip: (k) => skipped.push(k) });
  assert.equal(sd.size, 0);
  assert.deepEqual(skipped, [], "an empty dict at the bottom: nothing to skip");
  assert.ok(performance.now() - start < 5000);
});

Deno.test("regression: a dict shared by two keys is flattened once and the second key reported", () => {
  // {'a': d, 'b': d} with d = {'w': tensor}
  const t = tensorPickle([2], [1], 2).subarray(3, -2); // key and tensor, without the dict and STOP
  const pickle = concat([
    latin1("\x80\x02}(X\x01\x00\x00\x00a}q\x01("),
    t,
    latin1("uX\x01\x00\x00\x00bh\x01u."),
  ]);
  const skipped: string[] = [];
  const sd = parsePth(zipPth(pickle, { 0: new Uint8Array(8) }), {
    name: "shared.pth",
    onSkip: (k, what) => skipped.push(`${k}: ${what}`),
  });
  assert.deepEqual([...sd.keys()], ["a.w"]);
  assert.deepEqual(skipped, ["b: dict of 1, the same object as 'a' (flattened there)"]);
});

Deno.test("regression: negative sizes and huge expansions are errors naming the tensor", async () => {
  const file = (size: number[], stride: number[], numel: number, type = "FloatStorage", bytes = 4 * numel) =>
    zipPth(tensorPickle(size, stride, numel, type), { 0: new Uint8Array(bytes) });
  await expectReaderError(
    () => parsePth(file([-1, 3], [0, 1], 3), { name: "neg.pth" }),
    "neg.pth",
    5000,
    /^neg\.pth: tensor 'w': size \[-1,3\] and stride \[0,1\] must not be negative$/,
  );
  await expectReaderError(
    () => parsePth(file([-1], [1], 3), { name: "neg1.pth" }),
    "neg1.pth",
    5000,
    /^neg1\.pth: tensor 'w': size \[-1\] and stride \[1\] must not be negative$/,
  );
  await expectReaderError(
    () => parsePth(file([2], [-1], 3), { name: "negstride.pth" }),
    "negstride.pth",
    5000,
    /must not be negative/,
  );
  // One byte expanded to 2^31 - 1 elements took 9-46 s and 2 GB.
  const growth = await rssGrowth(() =>
    expectReaderError(
      () => parsePth(file([0x7fffffff], [0], 1, "ByteStorage", 1), { name: "expand.pth" }),
      "expand.pth",
      5000,
      /^expand\.pth: tensor 'w': size \[2147483647\] has 2147483647 elements, more than the 16777216 allowed/,
    )
  );
  assert.ok(growth < 2 ** 30, `rss grew by ${growth} bytes`);
  // Expansions within the bounds still read, e.g. one element repeated 1000 x 1000 times.
  const ok = parsePth(file([1000, 1000], [0, 0], 1), { name: "ok.pth" });
  assert.equal(ok.get("w")!.data.length, 1_000_000);
  // So many dimensions that the contiguity check was quadratic.
  await expectReaderError(
    () => parsePth(file(new Array(100_000).fill(1), new Array(100_000).fill(1), 1), { name: "rank.pth" }),
    "rank.pth",
    5000,
    /^rank\.pth: tensor of 100000 dimensions \(stride of 100000\), more than the 64 supported$/,
  );
});

Deno.test("regression: APPENDS of 200,000 items inside a checkpoint", async () => {
  const bytes = zipPth(latin1("\x80\x02](" + "N".repeat(200_000) + "e."));
  await expectReaderError(
    () => parsePth(bytes, { name: "appends.pth" }),
    "appends.pth",
    5000,
    /^appends\.pth: expected a dict of tensors, found list of 200000$/,
  );
});

Deno.test("regression: keys from the file are quoted on one line", async () => {
  // {'a.\nb': t, 'a': {'\nb': t}}: two keys that flatten to the same "a.\nb".
  const t = tensorPickle([2], [1], 2).subarray(9, -2); // the tensor without the dict, its key and STOP
  const pickle = concat([
    latin1("\x80\x02}("),
    str("a.\nb"),
    t,
    str("a"),
    latin1("}"),
    str("\nb"),
    t,
    latin1("su."),
  ]);
  await expectReaderError(
    () => parsePth(zipPth(pickle, { 0: new Uint8Array(8) }), { name: "keys.pth" }),
    "keys.pth",
    5000,
    /^keys\.pth: key 'a\.\\u000ab' occurs twice after flattening nested dicts$/,
  );
});
