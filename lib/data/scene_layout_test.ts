import { strict as assert } from "node:assert";
import { Rng } from "../tensor/rng.ts";
import { sampleLayout, type SceneLayout } from "./scene_layout.ts";

const LAYOUTS: SceneLayout[] = Array.from({ length: 500 }, (_, seed) => sampleLayout(new Rng(seed)));

Deno.test("layouts are deterministic by seed", () => {
  assert.deepEqual(sampleLayout(new Rng(12)), sampleLayout(new Rng(12)));
  assert.notDeepEqual(sampleLayout(new Rng(12)), sampleLayout(new Rng(13)));
});

Deno.test("layouts vary over every axis of the grammar", () => {
  const seen = (f: (l: SceneLayout) => string | number) => new Set(LAYOUTS.map(f));
  assert.deepEqual([...seen((l) => l.buildings.length)].sort(), [0, 1, 2]);
  assert.deepEqual([...seen((l) => l.trees.length)].sort(), [0, 1, 2, 3, 4]);
  assert.deepEqual([...seen((l) => l.sky)].sort(), ["day", "dusk", "overcast"]);
  assert.deepEqual([...seen((l) => l.foreground.kind)].sort(), ["none", "road", "water"]);
  const buildings = LAYOUTS.flatMap((l) => l.buildings);
  assert.deepEqual([...new Set(buildings.map((b) => b.kind))].sort(), ["church", "house"]);
  assert.deepEqual([...new Set(buildings.map((b) => b.roof.shape))].sort(), ["flat", "triangle"]);
  assert.ok(buildings.some((b) => b.doors.length === 0) && buildings.some((b) => b.doors.length === 2));
  assert.ok(Math.max(...buildings.map((b) => b.windows.length)) >= 5);
  assert.ok(LAYOUTS.some((l) => l.sun) && LAYOUTS.some((l) => !l.sun));
  assert.ok(seen((l) => l.clouds.length).size >= 5);
  const horizons = LAYOUTS.map((l) => l.horizon);
  assert.ok(Math.min(...horizons) >= 0.46 && Math.max(...horizons) <= 0.7);
  assert.ok(Math.max(...horizons) - Math.min(...horizons) > 0.2);
});

Deno.test("objects keep their context", () => {
  for (const l of LAYOUTS) {
    if (l.sun) assert.ok(l.sun.y < l.horizon, "the sun's centre is above the horizon");
    for (const c of l.clouds) assert.ok(c.base < l.horizon && c.top < c.base, "clouds float in the sky");
    const waterTop = l.foreground.kind === "water" ? l.foreground.top : 1;
    for (const b of l.buildings) {
      assert.ok(b.wall.y1 > l.horizon && b.wall.y1 < waterTop, "buildings stand on the ground");
      for (const d of b.doors) {
        assert.ok(d.y1 === 1 && d.x0 >= 0 && d.x1 <= 1, "doors at the bottom of the wall");
      }
      for (const w of b.windows) {
        assert.ok(w.x0 >= 0 && w.x1 <= 1 && w.y0 >= 0 && w.y1 <= 1, "windows inside the wall");
      }
      if (b.tower) {
        assert.ok(b.tower.wall.y1 === b.wall.y1 && b.tower.wall.y0 < b.wall.y0, "towers rise above");
      }
    }
    for (const t of l.trees) {
      assert.ok(t.base > l.horizon && t.base < waterTop, "trees stand on the ground");
      for (const b of l.buildings) {
        const overlaps = t.x > b.wall.x0 && t.x < b.wall.x1;
        if (overlaps) assert.ok(t.base > b.wall.y1, "a tree over a building stands in front of it");
      }
    }
  }
});
