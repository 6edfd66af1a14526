/**
 * Fuzzing correction files: seeded mutations of their text and of their JSON values either become edits
 * of a generator or fail with a one-line `Error` naming the file, quickly; plus the inputs an earlier
 * fuzzing pass found (a scale that overflows float32, an error that did not name the file).
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { expectReaderError, fuzzReader, mutate, type Prng } from "../io/fuzz_test_util.ts";
import { randomPggan } from "../models/pggan.ts";
import {
  correctionEdits,
  makeCorrection,
  MAX_SCALE,
  parseCorrection,
  readCorrection,
} from "./correction_file.ts";

const MODEL = randomPggan([16, 16, 8]);
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value, null, 2));
const WEIRD: unknown[] = [
  -1,
  0,
  99,
  1e308,
  -1e308,
  1e6,
  1.5,
  "1",
  null,
  true,
  [],
  {},
  [0],
  "layer1",
  "layer9",
];

/** The correction with one value replaced (a unit, a scale, a layer name, a whole field). */
function mutateJson(rng: Prng, bytes: Uint8Array): Uint8Array {
  const json = JSON.parse(new TextDecoder().decode(bytes));
  const layer = json.layers[rng.int(json.layers.length)];
  const field = rng.pick(["units", "scales", "layer", "kind", "version", "layers"]);
  if (field === "kind" || field === "version" || field === "layers") json[field] = rng.pick(WEIRD);
  else if (Array.isArray(layer[field]) && rng.int(3) !== 0) {
    layer[field][rng.int(layer[field].length)] = rng.pick(WEIRD);
  } else layer[field] = rng.pick(WEIRD);
  return encode(json);
}

Deno.test("fuzz: mutated correction files become edits or fail with an error naming the file", async () => {
  const inputs = [
    encode(makeCorrection("sequential", [{ layer: "layer1", units: [1, 5], scales: [0, 0.5] }], { n: 2 })),
    encode(makeCorrection("ds1 ablation", [
      { layer: "layer1", units: [0], scales: [0] },
      { layer: "layer2", units: [3, 4, 15], scales: [0.2, 1, 0.9] },
    ])),
  ];
  const read = (bytes: Uint8Array, name: string) =>
    correctionEdits(MODEL, parseCorrection(new TextDecoder().decode(bytes), { file: name }));
  for (const input of inputs) read(input, "valid.json");
  const start = performance.now();
  const textReport = await fuzzReader({ inputs, iterations: 2000, seed: 11, name: "fuzzed.json", read });
  const jsonReport = await fuzzReader({
    inputs,
    iterations: 2000,
    seed: 12,
    name: "fuzzed.json",
    read,
    mutation: (rng, input) =>
      rng.int(6) === 0 ? mutate(rng, mutateJson(rng, input), inputs) : mutateJson(rng, input),
  });
  for (const report of [textReport, jsonReport]) {
    assert.ok(report.parsed > 0 && report.refused > 0, JSON.stringify(report));
  }
  assert.ok(performance.now() - start < 15_000, `fuzzing took ${performance.now() - start} ms`);
});

Deno.test("regression: scales are float32-safe; edit errors name the correction file", async () => {
  const text = (scales: unknown[]) =>
    JSON.stringify({ ...makeCorrection("m", []), layers: [{ layer: "layer1", units: [1], scales }] });
  // 1e308 passed isFinite and became Infinity in float32.
  await expectReaderError(
    () => parseCorrection(text([1e308]), { file: "big.json" }),
    "big.json",
    5000,
    /^big\.json: layers\[0\]\.scales\[0\] is 1e\+308; scales must be finite numbers in \[-1000000, 1000000\]$/,
  );
  await expectReaderError(
    () => parseCorrection(text(["0.5"]), { file: "str.json" }),
    "str.json",
    5000,
    /scales\[0\] is "0.5"/,
  );
  await expectReaderError(
    () => parseCorrection(text([null]), { file: "null.json" }),
    "null.json",
    5000,
    /is null/,
  );
  const edge = parseCorrection(text([-MAX_SCALE]), { file: "edge.json" });
  assert.equal((correctionEdits(MODEL, edge).layer1.scale as Float32Array)[1], -MAX_SCALE);

  // "unit 99 is out of range" did not say which file.
  const dir = await Deno.makeTempDir({ prefix: "correction_fuzz_" });
  try {
    const path = join(dir, "outside.json");
    await Deno.writeTextFile(
      path,
      JSON.stringify(makeCorrection("m", [{ layer: "layer1", units: [99], scales: [1] }])),
    );
    const correction = await readCorrection(path);
    const message = await expectReaderError(() => correctionEdits(MODEL, correction), path);
    assert.equal(message, `${path}: layers[0] ("layer1"): unit 99 is out of range for a layer of 16 units`);
    const unknown = makeCorrection("m", [{ layer: "layer\n9", units: [0], scales: [1] }]);
    await expectReaderError(
      () => correctionEdits(MODEL, unknown, { file: "named.json" }),
      "named.json",
      5000,
      /^named\.json: layers\[0\] \("layer\\u000a9"\): no stage "layer\\u000a9" in this pggan generator/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
