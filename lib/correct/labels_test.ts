import { strict as assert } from "node:assert";
import { join } from "node:path";
import {
  countLabels,
  formatLabels,
  type LabelSet,
  parseLabels,
  readLabels,
  seedsWith,
  writeLabels,
} from "./labels.ts";

const opts = { file: "labels.csv" };

Deno.test("parseLabels reads both headers, blank lines, CRLF, spaces and a byte-order mark", () => {
  const set = parseLabels("\uFEFFseed,label\r\n0,normal\r\n\r\n 5 , artifact \r\n2,skip", opts);
  assert.deepEqual([...set], [
    [0, { label: "normal", source: "manual" }],
    [5, { label: "artifact", source: "manual" }],
    [2, { label: "skip", source: "manual" }],
  ]);
  const withSource = parseLabels("seed,label,source\n3,artifact,auto:iqr\n4,normal,manual\n", opts);
  assert.deepEqual(withSource.get(3), { label: "artifact", source: "auto:iqr" });
  assert.equal(parseLabels("seed,label\n", opts).size, 0);
});

Deno.test("parseLabels names the file, the line and the problem", () => {
  const bad = (text: string, message: string) =>
    assert.throws(() => parseLabels(text, opts), (e: Error) => {
      assert.equal(e.message, message);
      return true;
    });
  bad(
    "seed,label\n0,normal\n1,normal\n2,normal\n3,normal\n4,normal\n5,artfact\n",
    `labels.csv:7: label "artfact" is not one of normal, artifact, skip`,
  );
  bad(
    "seed,label\n12,normal\n\n1,skip\n\n\n\n\n12,artifact\n",
    "labels.csv:9: line 9 repeats seed 12 from line 2",
  );
  bad("seed,label\n-3,normal\n", `labels.csv:2: seed "-3" is not a non-negative integer`);
  bad("seed,label\n1.5,normal\n", `labels.csv:2: seed "1.5" is not a non-negative integer`);
  bad("seed,label\nx,normal\n", `labels.csv:2: seed "x" is not a non-negative integer`);
  bad(
    "seed,label\n99999999999999999999,normal\n", /* not a safe integer */
    `labels.csv:2: seed "99999999999999999999" is not a non-negative integer`,
  );
  bad(
    "id,label\n1,normal\n",
    `labels.csv:1: expected the header "seed,label" or "seed,label,source", got "id,label"`,
  );
  bad("seed,label\n1,normal,manual\n", "labels.csv:2: expected 2 columns (seed,label), got 3");
  bad("seed,label,source\n1,normal\n", "labels.csv:2: expected 3 columns (seed,label,source), got 2");
  bad(
    "seed,label,source\n1,normal,\n",
    `labels.csv:2: source "" must be one word without spaces, commas or quotes`,
  );
  bad("\n\n", `labels.csv: empty; expected the header "seed,label" on the first line`);
});

Deno.test("formatLabels writes what parseLabels reads back, in the set's order", () => {
  const set: LabelSet = new Map([
    [9, { label: "artifact", source: "manual" }],
    [0, { label: "normal", source: "auto:fid" }],
    [4, { label: "skip", source: "manual" }],
  ]);
  const text = formatLabels(set);
  assert.equal(text, "seed,label,source\n9,artifact,manual\n0,normal,auto:fid\n4,skip,manual\n");
  assert.deepEqual([...parseLabels(text)], [...set]);
  assert.throws(
    () => formatLabels(new Map([[1, { label: "normal", source: "a b" }]])),
    /seed 1: source "a b"/,
  );
  assert.throws(() => formatLabels(new Map([[-1, { label: "normal", source: "manual" }]])), /seed "-1"/);
});

Deno.test("seedsWith and countLabels", () => {
  const set = parseLabels("seed,label\n3,artifact\n1,normal\n2,artifact\n", opts);
  assert.deepEqual(seedsWith(set, "artifact"), [3, 2]);
  assert.deepEqual(seedsWith(set, "skip"), []);
  assert.deepEqual(countLabels(set), { normal: 1, artifact: 2, skip: 0 });
});

Deno.test("writeLabels and readLabels round-trip through a file; errors name the path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labels_test_" });
  try {
    const path = join(dir, "sub", "labels.csv");
    const set: LabelSet = new Map([[7, { label: "artifact", source: "manual" }]]);
    await writeLabels(path, set);
    assert.deepEqual(await readLabels(path), set);
    assert.deepEqual([...Deno.readDirSync(join(dir, "sub"))].map((e) => e.name), ["labels.csv"]);
    await Deno.writeTextFile(path, "seed,label\n7,maybe\n");
    await assert.rejects(() => readLabels(path), new RegExp(`^Error: ${path}:2: label "maybe"`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("labels: checkLabelCounts names both counts and the hint", async () => {
  const { checkLabelCounts } = await import("./labels.ts");
  checkLabelCounts({ artifact: 10, normal: 12, skip: 0 }, { min: 10 });
  assert.throws(
    () => checkLabelCounts({ artifact: 3, normal: 12, skip: 0 }, { min: 10, hint: " in x.csv" }),
    /need at least 10 artifact and 10 normal seeds, got 3 and 12 in x\.csv/,
  );
});
