/**
 * Fuzzing parameter files: seeded byte mutations of classifier and segmenter files, and mutations of the
 * config in their metadata (wrong types, out-of-bounds values, broken JSON), either read or fail with a
 * one-line `Error` naming the file (and the field), quickly; plus the configs an earlier fuzzing pass found.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { expectReaderError, fuzzReader, mutate, type Prng, rssGrowth } from "../io/fuzz_test_util.ts";
import { parseSafetensors, serializeSafetensors } from "../io/safetensors.ts";
import { ARCH_KEY, CONFIG_KEY, parseParamFile, readParamFile } from "./param_file.ts";

const CLASSIFIER = {
  resolution: 16,
  channels: 1,
  widths: [4, 8],
  blocksPerStage: 1,
  stemStride: 1,
  outputs: ["a", "b", "c"],
  kind: "multiclass",
};
const SEGMENTER = { channels: 3, classes: 11, widths: [8, 16] };
const HEAD = { classes: ["artifact", "normal", "real"], backbone: "scenes_net" };

/** A parameter file of `arch` with `config` (raw text when a string) and one small tensor. */
function paramFile(arch: string, config: unknown): Uint8Array {
  const text = typeof config === "string" ? config : JSON.stringify(config);
  return serializeSafetensors(
    { "fc.bias": { dtype: "F32", shape: [3], data: new Float32Array([1, 2, 3]) } },
    { metadata: { [ARCH_KEY]: arch, [CONFIG_KEY]: text } },
  );
}

const ARCH_OF = ["classifier", "segmenter", "artifact_head"];
const WEIRD: unknown[] = [-1, 0, 1e9, 1.5, 2 ** 53, 1e308, "4", "", null, true, [], {}, [0], [1e9], ["x"], [
  -3,
  4,
], 5];

/** The file with one field of its config replaced, removed or added, or its JSON text damaged. */
function mutateConfig(rng: Prng, bytes: Uint8Array): Uint8Array {
  const { metadata } = parseSafetensors(bytes);
  const arch = metadata[ARCH_KEY];
  let text = metadata[CONFIG_KEY];
  const config = JSON.parse(text);
  const field = rng.pick([...Object.keys(config), "extra"]);
  switch (rng.int(4)) {
    case 0:
      delete config[field];
      break;
    case 1:
      if (Array.isArray(config[field]) && config[field].length > 0) {
        config[field][rng.int(config[field].length)] = rng.pick(WEIRD);
        break;
      }
      config[field] = rng.pick(WEIRD);
      break;
    default:
      config[field] = rng.pick(WEIRD);
  }
  text = JSON.stringify(config);
  if (rng.int(6) === 0) {
    const at = rng.int(text.length);
    text = text.slice(0, at) + rng.pick(["", "}", "\n", "{", '"', "x"]) + text.slice(at + rng.int(3));
  }
  return paramFile(rng.int(10) === 0 ? rng.pick(ARCH_OF) : arch, rng.int(20) === 0 ? "" : text);
}

Deno.test("fuzz: mutated parameter files read or fail with an error naming the file", async () => {
  const inputs = [
    paramFile("classifier", CLASSIFIER),
    paramFile("segmenter", SEGMENTER),
    paramFile("artifact_head", HEAD),
  ];
  // What loadClassifier and loadSegmenter do with a config that passed: the bounds keep it quick.
  const { classifierShapes } = await import("./classifier.ts");
  const { segmenterShapes } = await import("./segmenter.ts");
  const read = (bytes: Uint8Array, name: string) => {
    let arch = "classifier";
    try {
      const found = parseSafetensors(bytes).metadata[ARCH_KEY];
      if (ARCH_OF.includes(found)) arch = found;
    } catch {
      // parseParamFile reports it
    }
    const { config } = parseParamFile<never>(bytes, arch, { name });
    try {
      if (arch === "classifier") classifierShapes(config);
      if (arch === "segmenter") segmenterShapes(config);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`); // as loadClassifier reports it
    }
  };
  for (const [i, input] of inputs.entries()) parseParamFile(input, ARCH_OF[i], { name: "valid.safetensors" });
  const start = performance.now();
  const bytesReport = await fuzzReader({
    inputs,
    iterations: 1500,
    seed: 9,
    name: "fuzzed.safetensors",
    read,
  });
  const configReport = await fuzzReader({
    inputs,
    iterations: 2500,
    seed: 10,
    name: "fuzzed.safetensors",
    read,
    mutation: (rng, input) =>
      rng.int(8) === 0 ? mutate(rng, mutateConfig(rng, input), inputs) : mutateConfig(rng, input),
  });
  for (const report of [bytesReport, configReport]) {
    assert.ok(report.parsed > 0 && report.refused > 0, JSON.stringify(report));
  }
  assert.ok(performance.now() - start < 15_000, `fuzzing took ${performance.now() - start} ms`);
});

Deno.test("regression: configs are checked for JSON, types and bounds, naming file and field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "param_fuzz_" });
  try {
    const file = async (name: string, arch: string, config: unknown) => {
      const path = join(dir, name);
      await Deno.writeFile(path, paramFile(arch, config));
      return path;
    };
    // blocksPerStage 1e9 looped for 15 s and took 1.7 GB in the model code.
    const huge = await file("huge.safetensors", "classifier", { ...CLASSIFIER, blocksPerStage: 1e9 });
    const growth = await rssGrowth(() =>
      expectReaderError(
        () => readParamFile(huge, "classifier"),
        huge,
        5000,
        /: ganatomy\.config field "blocksPerStage" must be an integer in \[1, 64\], got 1000000000$/,
      )
    );
    assert.ok(growth < 2 ** 30, `rss grew by ${growth} bytes`);
    // Wrong types gave "widths.some is not a function".
    const types = await file("types.safetensors", "classifier", { ...CLASSIFIER, widths: 8 });
    await expectReaderError(
      () => readParamFile(types, "classifier"),
      types,
      5000,
      /: ganatomy\.config field "widths" must be a list of 1 to 16 integers in \[1, 4096\], got 8$/,
    );
    const missing = await file("missing.safetensors", "segmenter", { channels: 3, widths: [8] });
    await expectReaderError(
      () => readParamFile(missing, "segmenter"),
      missing,
      5000,
      /: ganatomy\.config of the segmenter lacks the field "classes"$/,
    );
    // A bare SyntaxError before.
    const broken = await file("broken.safetensors", "classifier", '{"resolution": 16,\n');
    await expectReaderError(
      () => readParamFile(broken, "classifier"),
      broken,
      5000,
      /: metadata ganatomy\.config is not valid JSON: /,
    );
    const array = await file("array.safetensors", "segmenter", "[1, 2]");
    await expectReaderError(
      () => readParamFile(array, "segmenter"),
      array,
      5000,
      /: metadata ganatomy\.config must be a JSON object, got \[1,2\]$/,
    );
    // An empty config was called "not a classifier (metadata ganatomy.arch is "classifier")".
    const empty = await file("empty.safetensors", "classifier", "");
    await expectReaderError(
      () => readParamFile(empty, "classifier"),
      empty,
      5000,
      /: metadata ganatomy\.config \(the classifier's config\) is missing or empty$/,
    );
    const other = await file("other.safetensors", "segmenter", SEGMENTER);
    await expectReaderError(
      () => readParamFile(other, "classifier"),
      other,
      5000,
      /: not a classifier \(metadata ganatomy\.arch is "segmenter"\)$/,
    );
    // Valid files still read, optional fields may be absent, unknown fields pass through.
    const ok = await file("ok.safetensors", "classifier", {
      ...CLASSIFIER,
      blocksPerStage: undefined,
      note: 1,
    });
    const { config, tensors } = await readParamFile<Record<string, unknown>>(ok, "classifier");
    const { blocksPerStage: _, ...rest } = CLASSIFIER;
    assert.deepEqual(config, { ...rest, note: 1 });
    assert.deepEqual([...tensors.keys()], ["fc.bias"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("regression: loadClassifier refuses a huge blocksPerStage before building anything", async () => {
  const { loadClassifier } = await import("./classifier.ts");
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    await Deno.writeFile(path, paramFile("classifier", { ...CLASSIFIER, blocksPerStage: 1e9 }));
    await expectReaderError(() => loadClassifier(path), path, 5000, /"blocksPerStage"/);
  } finally {
    await Deno.remove(path);
  }
});
