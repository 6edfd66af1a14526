/**
 * Fuzzing the pickle virtual machine: seeded mutations of real pickles either unpickle or fail with a
 * one-line `Error` naming the source, quickly; plus the inputs an earlier fuzzing pass found.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { expectReaderError, fuzzReader, latin1, rssGrowth } from "./fuzz_test_util.ts";
import { MAX_LONG_BYTES, type PickleGlobal, unpickle } from "./pickle.ts";
import { openZip } from "./zip.ts";

const FIXTURES = join(import.meta.dirname!, "../../tests/fixtures/pth");
const base64 = (s: string) => latin1(atob(s));

// The protocol 5 and 4 pickles of pickle_test.ts (every opcode of plain Python values).
const PROTOCOL5 = base64(
  "gAWVvAAAAAAAAAB9lCiMBGludHOUXZQoSwBL/03//0r/////Sv///39KAAAAgIoGAAAAAAABiggAAAAAAAAAgIoJAAAAAAAAAABA" +
    "ZYwGZmxvYXRzlEc/+AAAAAAAAEeAAAAAAAAAAEd+N+Q8iAB1nIeUjARtaXNjlF2UKE6IiYwFw6ninJOUQwJ4eZSWAQAAAAAAAAB6lGWM" +
    "BHNldHOUj5QoSwFLApAojAFhlJGUhpSMBnNoYXJlZJRdlChLAUsCZWgQhpR1Lg==",
);
const PROTOCOL4 = base64(
  "gASV0gAAAAAAAAB9lCiMBGludHOUXZQoSwBL/03//0r/////Sv///39KAAAAgIoGAAAAAAABiggAAAAAAAAAgIoJAAAAAAAAAABA" +
    "ZYwGZmxvYXRzlEc/+AAAAAAAAEeAAAAAAAAAAEd+N+Q8iAB1nIeUjARtaXNjlF2UKE6IiYwFw6ninJOUQwJ4eZSMCGJ1aWx0aW5zlIwJ" +
    "Ynl0ZWFycmF5lJOUQwF6lIWUUpRljARzZXRzlI+UKEsBSwKQKIwBYZSRlIaUjAZzaGFyZWSUXZQoSwFLAmVoFYaUdS4=",
);

/** The data.pkl of a fixture checkpoint (state-dict pickles: globals, persistent ids, REDUCE, BUILD). */
async function statePickle(file: string): Promise<Uint8Array> {
  const zip = openZip(await Deno.readFile(join(FIXTURES, file)));
  return zip.read([...zip.entries.keys()].find((n) => n.endsWith("/data.pkl"))!);
}

/** Grants every other global as a callable that returns its arguments; forbids the rest. */
function findGlobal(module: string, name: string): PickleGlobal | undefined {
  const qualifiedName = `${module}.${name}`;
  if (qualifiedName.length % 2 === 0) return undefined;
  return { qualifiedName, call: (args) => ({ args }) };
}

const read = (bytes: Uint8Array, name: string) =>
  unpickle(bytes, { source: name, findGlobal, persistentLoad: (pid) => pid });

Deno.test("fuzz: mutated pickles unpickle or fail with an error naming the source", async () => {
  const inputs = [
    PROTOCOL5,
    PROTOCOL4,
    await statePickle("model_zip.pth"),
    await statePickle("model_zip_p4.pth"),
    await statePickle("nested_zip.pth"),
  ];
  const start = performance.now();
  const report = await fuzzReader({ inputs, iterations: 4000, seed: 1, name: "fuzzed.pkl", read });
  assert.ok(report.parsed > 0 && report.refused > 0, JSON.stringify(report));
  assert.ok(performance.now() - start < 15_000, `fuzzing took ${performance.now() - start} ms`);
});

Deno.test("regression: APPENDS of 200,000 items unpickles (no spread onto the stack)", async () => {
  const bytes = latin1("\x80\x02](" + "N".repeat(200_000) + "e.");
  const start = performance.now();
  const { value } = read(bytes, "appends.pkl");
  assert.ok(Array.isArray(value) && value.length === 200_000 && value.every((v) => v === null));
  assert.ok(performance.now() - start < 5000);
  // Items below the mark stay where they are.
  const below = read(latin1("\x80\x02N](" + "K\x07".repeat(150_000) + "e0."), "appends.pkl");
  assert.equal(below.value, null, "POP of the list leaves the None below it");
  await Promise.resolve();
});

Deno.test("regression: LONG4 is linear and bounded", async () => {
  const long4 = (payload: Uint8Array) => {
    const n = new Uint8Array(new Uint32Array([payload.length]).buffer);
    return Uint8Array.from([0x80, 2, 0x8b, ...n, ...payload, 0x2e]);
  };
  // 300 kB took 81 s byte by byte; now it is refused at once.
  const huge = new Uint8Array(300_000).fill(0x5a);
  const growth = await rssGrowth(() =>
    expectReaderError(
      () => read(long4(huge), "long.pkl"),
      "long.pkl",
      5000,
      /integer of 300000 bytes is too large/,
    )
  );
  assert.ok(growth < 2 ** 30, `rss grew by ${growth} bytes`);

  // The largest accepted integer is exact, negative ones too (two's complement, little-endian).
  const bytes = Uint8Array.from({ length: MAX_LONG_BYTES }, (_, i) => (i * 131 + 7) & 0xff);
  let expected = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) expected = (expected << 8n) | BigInt(bytes[i]);
  expected -= bytes[bytes.length - 1] & 0x80 ? 1n << BigInt(8 * bytes.length) : 0n;
  const start = performance.now();
  assert.equal(read(long4(bytes), "long.pkl").value, expected);
  assert.ok(performance.now() - start < 5000);
  assert.equal(read(long4(Uint8Array.of(0xff, 0xff)), "long.pkl").value, -1);
  assert.equal(read(long4(Uint8Array.of()), "long.pkl").value, 0);
  assert.equal(read(latin1("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01."), "l").value, 2n ** 64n);
});

Deno.test("regression: names from the pickle are quoted on one line in errors", async () => {
  // STACK_GLOBAL of a module name with a line break, forbidden by the allow-list.
  const bytes = latin1("\x80\x04\x8c\x04os\nx\x8c\x06system\x93.");
  const message = await expectReaderError(
    () => unpickle(bytes, { source: "evil.pkl", findGlobal: () => undefined }),
    "evil.pkl",
  );
  assert.equal(message, "forbidden global 'os\\u000ax.system' in evil.pkl");
});
