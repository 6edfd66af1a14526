import assert from "node:assert/strict";
import { chooseUnits, type UnitSpread } from "./units.ts";

Deno.test("units: local culprits from the least spread live units, broad from the most; dead units never", () => {
  const spread: UnitSpread = {
    layer: "layer4",
    spread: Float64Array.from([0.01, 0.02, 0.5, 0.9, 0.95, 0.001, 0.3, 0.4]),
    peak: Float64Array.from([1, 1, 1, 1, 1, 0.01, 1, 1]), // unit 5 is dead
  };
  assert.deepEqual(chooseUnits(spread, { footprint: "local", count: 2 }), [0, 1]);
  assert.deepEqual(chooseUnits(spread, { footprint: "broad", count: 2 }), [3, 4]);
  assert.deepEqual(chooseUnits(spread, { footprint: "local", count: 1, seed: 4 }).length, 1);
  assert.throws(() => chooseUnits(spread, { footprint: "local", count: 9 }), /live local units/);
});
