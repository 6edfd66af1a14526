import { strict as assert } from "node:assert";
import { CLASS_ID, NUM_SCENE_CLASSES } from "./scene_classes.ts";
import { allowedSwatches, CLASS_STYLE, lightGain, SKY_PALETTES, SKY_SWATCHES } from "./scene_palette.ts";

Deno.test("every class has a style and swatches with distinct names", () => {
  assert.equal(CLASS_STYLE.length, NUM_SCENE_CLASSES);
  for (let c = 0; c < NUM_SCENE_CLASSES; c++) {
    const names = allowedSwatches(c).map((s) => s.name);
    assert.ok(names.length > 0, `class ${c} has no swatch`);
    assert.equal(new Set(names).size, names.length, `class ${c} repeats a swatch name`);
    const [lo, hi] = CLASS_STYLE[c].shade;
    assert.ok(lo > 0 && lo <= 1 && hi >= 1, `class ${c} shade [${lo}, ${hi}] must bracket 1`);
  }
  assert.equal(
    allowedSwatches(CLASS_ID.sky).length,
    SKY_PALETTES.map((p) => SKY_SWATCHES[p].length).reduce((a, b) => a + b),
  );
  assert.throws(() => allowedSwatches(11), /Expected a class id 0..10, got 11/);
});

Deno.test("lightGain: neutral, warm and cool light", () => {
  assert.deepEqual(lightGain(1, 0), [1, 1, 1]);
  const [r, g, b] = lightGain(0.9, 1);
  assert.ok(r > g && g > b && Math.abs(g - 0.9) < 1e-12);
  const cool = lightGain(1, -1);
  assert.ok(cool[2] > cool[0]);
});
