import { strict as assert } from "node:assert";
import { CLASS_ID } from "./scene_classes.ts";
import { GRAMMAR_RULES, grammarViolations } from "./scene_rules.ts";
import { renderScene } from "./scenes.ts";

const { sky, cloud, sun, ground, tree, wall, roof, door, window } = CLASS_ID;

/** A 16x16 label map: sky above row 8, ground from row 8, with a house: wall [4,12)x[4,8) under a roof. */
function house(): Uint8Array {
  const labels = new Uint8Array(256).fill(sky);
  for (let i = 8 * 16; i < 256; i++) labels[i] = ground;
  fill(labels, 4, 12, 5, 9, wall);
  fill(labels, 4, 12, 3, 5, roof);
  return labels;
}

function fill(labels: Uint8Array, x0: number, x1: number, y0: number, y1: number, cls: number): void {
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) labels[y * 16 + x] = cls;
}

function rulesAt(labels: Uint8Array, x: number, y: number): number {
  return grammarViolations(labels, { height: 16, width: 16 }, { minArea: 2 }).violations[y * 16 + x];
}

Deno.test("a well-formed house breaks no rule", () => {
  const labels = house();
  fill(labels, 6, 8, 6, 9, door);
  fill(labels, 9, 11, 6, 7, window);
  const { violations, horizon } = grammarViolations(labels, { height: 16, width: 16 }, { minArea: 2 });
  assert.equal(horizon, 8);
  assert.ok(violations.every((v) => v === 0));
});

Deno.test("each rule catches its violation", () => {
  let labels = house();
  fill(labels, 1, 3, 1, 4, door); // a door in the sky
  assert.equal(rulesAt(labels, 1, 1), GRAMMAR_RULES.doorOffWall);
  labels = house();
  fill(labels, 13, 15, 11, 13, window); // a window on the grass
  assert.equal(rulesAt(labels, 13, 11), GRAMMAR_RULES.windowOffWall);
  labels = house();
  fill(labels, 1, 4, 12, 14, roof); // a roof on the ground
  assert.equal(rulesAt(labels, 2, 12), GRAMMAR_RULES.roofNotOnWall);
  labels = house();
  fill(labels, 12, 15, 12, 14, cloud); // a cloud below the horizon
  assert.equal(rulesAt(labels, 13, 12), GRAMMAR_RULES.skyObjectBelowHorizon);
  labels = house();
  fill(labels, 1, 3, 10, 12, sun); // the sun in the grass
  assert.equal(rulesAt(labels, 1, 10), GRAMMAR_RULES.skyObjectBelowHorizon);
  labels = house();
  fill(labels, 12, 15, 1, 3, ground); // ground floating in the sky
  assert.equal(rulesAt(labels, 13, 1), GRAMMAR_RULES.groundAboveSky);
  labels = house();
  fill(labels, 13, 15, 1, 4, tree); // a tree in the sky
  assert.equal(rulesAt(labels, 13, 2), GRAMMAR_RULES.treeNotGrounded);
  labels = house();
  fill(labels, 13, 15, 1, 3, wall); // a wall in the sky
  assert.equal(rulesAt(labels, 13, 1), GRAMMAR_RULES.wallNotGrounded);
  labels = house();
  labels[12 * 16 + 2] = sky; // one pixel of sky in the grass: speckle, and sky under ground
  assert.equal(rulesAt(labels, 2, 12), GRAMMAR_RULES.speckle | GRAMMAR_RULES.groundAboveSky);
});

Deno.test("clean scenes break no rule at 32, 64 and 128 px", () => {
  for (const size of [32, 64, 128]) {
    let flagged = 0;
    const count = size === 128 ? 60 : 200;
    for (let seed = 0; seed < count; seed++) {
      const { labels } = renderScene(seed, { size });
      flagged += grammarViolations(labels, { height: size, width: size }).violations.filter((v) => v).length;
    }
    assert.equal(flagged, 0, `${flagged} pixels flagged at ${size}x${size}`);
  }
});

Deno.test("grammarViolations checks its inputs", () => {
  assert.throws(
    () => grammarViolations(new Uint8Array(5), { height: 2, width: 2 }),
    /Expected 2\*2 labels, got 5/,
  );
  assert.throws(
    () => grammarViolations(Uint8Array.from([0, 1, 2, 11]), { height: 2, width: 2 }),
    /Expected class ids 0..10, got 11 at 3/,
  );
});
