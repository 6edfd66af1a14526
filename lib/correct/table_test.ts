import { strict as assert } from "node:assert";
import {
  combinedTableMarkdown,
  type CorrectionTable,
  readCorrectionTables,
  TABLE_ROWS,
  tableCorrections,
  tableMarkdown,
  tableRow,
} from "./table.ts";
import { randomPggan } from "../models/pggan.ts";

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

Deno.test("tableCorrections: every row of TABLE_ROWS; single-layer rows ablate the top units of the layer", () => {
  const model = randomPggan([16, 16, 8]); // layer1, layer2: 16 units each
  const ds1 = Array.from({ length: 16 }, (_, u) => u / 16); // unit 15 worst
  const ds2 = Array.from({ length: 16 }, (_, u) => (u === 3 ? 1 : 0));
  const fid = Array.from({ length: 16 }, (_, u) => 16 - u); // unit 0 worst
  const seq = [{ layer: "layer1", units: [2, 5], scales: [0, 0.5] }];
  const gentle = [{ layer: "layer1", units: [2], scales: [0.1] }, {
    layer: "layer2",
    units: [7],
    scales: [0.2],
  }];
  const rows = tableCorrections(model, {
    layer: "layer2",
    n: 0.25,
    scores: { fid_based: fid, ds1, ds2 },
    sequential: { seq, seq_gentle: gentle },
    stop: 2,
    lambda: 0.9,
  });
  assert.deepEqual(Object.keys(rows), Object.keys(TABLE_ROWS));
  for (const [name, row] of Object.entries(rows)) {
    assert.ok(row.label.startsWith(TABLE_ROWS[name].slice(0, 6)));
  }
  assert.equal(rows.ds1.label, "DS (1) (4 units of layer2)");
  assert.equal(rows.seq.label, "Seq. Corr. (layer1…layer2, n 0.25, λ 0.9)");
  assert.equal(rows.seq_gentle.label, "Seq. Corr., scale 1 − λ·DS (layer1…layer2, n 0.25, λ 0.9)");
  assert.deepEqual(rows.none.edits, {});
  const ablated = (row: string) => {
    const edit = rows[row].edits.layer2!;
    assert.deepEqual(Object.keys(rows[row].edits), ["layer2"]);
    return [...(edit.a as Float32Array)].flatMap((a, u) => (a === 1 ? [u] : []));
  };
  assert.deepEqual(ablated("ds1"), [12, 13, 14, 15]);
  assert.deepEqual(ablated("fid_based"), [0, 1, 2, 3]);
  assert.equal(ablated("ds2").length, 4);
  assert.ok(ablated("ds2").includes(3));
  assert.equal(ablated("random").length, 4);
  // The random ranking is seeded: 4 units as a count are the same 4 units.
  assert.deepEqual(rows.random, tableCorrections(model, rowsOptions(fid, ds1, ds2)).random);
  assert.deepEqual(Object.keys(rows.seq.edits), ["layer1"]);
  assert.deepEqual(Object.keys(rows.seq_gentle.edits), ["layer1", "layer2"]);
  assert.equal((rows.seq.edits.layer1!.scale as Float32Array)[5], 0.5);
  assert.throws(() => tableCorrections(model, { ...rowsOptions(fid, ds1, ds2), layer: "layer9" }), /layer9/);
});

function rowsOptions(fid: number[], ds1: number[], ds2: number[]) {
  return {
    layer: "layer2",
    n: 4,
    scores: { fid_based: fid, ds1, ds2 },
    sequential: { seq: [], seq_gentle: [] },
    stop: 1,
    lambda: 0.5,
  };
}
