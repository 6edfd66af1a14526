/**
 * Fuzzing label files: seeded mutations of label CSVs either parse or fail with a one-line `Error` naming
 * the file and line, quickly.
 */
import { strict as assert } from "node:assert";
import { expectReaderError, fuzzReader } from "../io/fuzz_test_util.ts";
import { parseLabels } from "./labels.ts";

const encode = (s: string) => new TextEncoder().encode(s);

Deno.test("fuzz: mutated label files parse or fail with an error naming the file", async () => {
  const inputs = [
    encode("seed,label,source\n0,normal,manual\n1,artifact,manual\n7,skip,manual\n12,artifact,auto:fid\n"),
    encode("\uFEFFseed,label\r\n0,normal\r\n\r\n 5 , artifact \r\n2,skip"),
    encode(
      "seed,label\n" +
        Array.from({ length: 200 }, (_, i) => `${i},${["normal", "artifact", "skip"][i % 3]}`).join("\n"),
    ),
  ];
  for (const input of inputs) parseLabels(new TextDecoder().decode(input), { file: "valid.csv" });
  const start = performance.now();
  const report = await fuzzReader({
    inputs,
    iterations: 4000,
    seed: 13,
    name: "fuzzed.csv",
    read: (bytes, name) => parseLabels(new TextDecoder().decode(bytes), { file: name }),
  });
  assert.ok(report.parsed > 0 && report.refused > 0, JSON.stringify(report));
  assert.ok(performance.now() - start < 15_000, `fuzzing took ${performance.now() - start} ms`);
});

Deno.test("regression: fields from the file are quoted on one line", async () => {
  await expectReaderError(
    () => parseLabels("seed,label\n1,art\rifact\n", { file: "cr.csv" }),
    "cr.csv",
    5000,
    /^cr\.csv:2: label "art\\u000difact" is not one of normal, artifact, skip$/,
  );
  await expectReaderError(
    () => parseLabels(`seed,label\n${"9".repeat(100_000)},normal\n`, { file: "long.csv" }),
    "long.csv",
    5000,
    /^long\.csv:2: seed "9{80}…" is not a non-negative integer$/,
  );
});
