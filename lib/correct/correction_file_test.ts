import { strict as assert } from "node:assert";
import { randomPggan } from "../models/pggan.ts";
import {
  correctionEdits,
  makeCorrection,
  parseCorrection,
  readCorrection,
  writeCorrection,
} from "./correction_file.ts";

const MODEL = randomPggan([16, 16, 8]);

Deno.test("a correction round-trips through a file and becomes scale edits", async () => {
  const c = makeCorrection("sequential", [{ layer: "layer2", units: [1, 5], scales: [0, 0.5] }], { n: 2 });
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await writeCorrection(path, c);
  const back = await readCorrection(path);
  assert.deepEqual(back, c);
  const edits = correctionEdits(MODEL, back);
  const scale = Array.from(edits.layer2.scale as Float32Array);
  assert.deepEqual([scale[0], scale[1], scale[5], scale.length], [1, 0, 0.5, 16]);
  await Deno.remove(path);
});

Deno.test("bad correction files get errors naming the file and the entry", () => {
  assert.throws(() => parseCorrection("{", { file: "c.json" }), /c\.json: not JSON/);
  assert.throws(
    () => parseCorrection('{"kind":"x"}', { file: "c.json" }),
    /c\.json: not a ganatomy correction/,
  );
  const bad = JSON.stringify({
    ...makeCorrection("m", []),
    layers: [{ layer: "layer1", units: [1], scales: [] }],
  });
  assert.throws(() => parseCorrection(bad, { file: "c.json" }), /c\.json: layers\[0\] needs/);
  const unknown = makeCorrection("m", [{ layer: "layer9", units: [0], scales: [1] }]);
  assert.throws(() => correctionEdits(MODEL, unknown), /layer9/);
  const outside = makeCorrection("m", [{ layer: "layer1", units: [99], scales: [1] }]);
  assert.throws(() => correctionEdits(MODEL, outside), /unit 99 is out of range/);
});
