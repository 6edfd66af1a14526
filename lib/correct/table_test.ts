import { strict as assert } from "node:assert";
import {
  combinedTableMarkdown,
  type CorrectionTable,
  readCorrectionTables,
  tableMarkdown,
  tableRow,
} from "./table.ts";

const metrics = (fd: number) => ({
  count: 10,
  features: "scenes-net",
  fd,
  realism: 1.25,
  realismMedian: 1,
  precision: 0.5,
  recall: 0.25,
  extras: { p_artifact: 0.75 },
});

function table(model: string, rows: string[]): CorrectionTable {
  return {
    model,
    checkpoint: `${model}.safetensors`,
    features: "scenes-net",
    metric: "FD (scenes-net)",
    evalSeeds: 10,
    rows: Object.fromEntries(rows.map((r, i) => [r, tableRow(r.toUpperCase(), metrics(10 + i))])),
  };
}

Deno.test("tableMarkdown: every metric and extra of every row", () => {
  const md = tableMarkdown(table("scenes", ["none", "seq"]), { note: "a note" });
  assert.deepEqual(md.split("\n").slice(2), [
    "| method | FD (scenes-net) ↓ | realism ↑ | precision ↑ | recall ↑ | p_artifact ↓ |",
    "|---|---|---|---|---|---|",
    "| NONE | 10.000 | 1.250 | 0.500 | 0.250 | 0.750 |",
    "| SEQ | 11.000 | 1.250 | 0.500 | 0.250 | 0.750 |",
    "",
    "a note",
  ]);
});

Deno.test("combinedTableMarkdown: one column per model, a dash where a model lacks a row", async () => {
  const dir = await Deno.makeTempDir();
  for (const [model, rows] of [["scenes", ["none", "seq"]], ["fashion", ["none"]]] as const) {
    await Deno.mkdir(`${dir}/${model}`);
    await Deno.writeTextFile(`${dir}/${model}/table.json`, JSON.stringify(table(model, [...rows])));
  }
  await Deno.mkdir(`${dir}/cache`); // not a model: skipped
  const md = combinedTableMarkdown(await readCorrectionTables(dir));
  const lines = md.split("\n");
  assert.equal(
    lines[2],
    "| method | fashion: FD (scenes-net) ↓ / realism ↑ | scenes: FD (scenes-net) ↓ / realism ↑ |",
  );
  assert.ok(lines.includes("| None | 10.000 / 1.250 | 10.000 / 1.250 |"));
  assert.ok(lines.includes("| Seq. Corr. | — | 11.000 / 1.250 |"));
  await Deno.writeTextFile(`${dir}/scenes/table.json`, "{");
  await assert.rejects(() => readCorrectionTables(dir), /scenes\/table\.json/);
  await Deno.remove(dir, { recursive: true });
});
