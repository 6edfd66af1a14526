import { strict as assert } from "node:assert";
import { Rng } from "../tensor/rng.ts";
import { CORRUPTION_KINDS, corruptScene } from "./corrupt.ts";
import { renderScene } from "./scenes.ts";

Deno.test("corruptScene alters copies and masks what changed", () => {
  for (const kind of CORRUPTION_KINDS) {
    for (let seed = 0; seed < 10; seed++) {
      const scene = renderScene(seed);
      const image = scene.image.slice();
      const labels = scene.labels.slice();
      const bad = corruptScene(scene, new Rng(seed), { kinds: [kind] });
      assert.deepEqual(scene.image, image, "the scene itself is untouched");
      assert.deepEqual(scene.labels, labels);
      assert.equal(bad.corruptions.length, 1);
      assert.equal(bad.corruptions[0].kind, kind);
      const masked = bad.mask.reduce((a, b) => a + b, 0);
      assert.equal(masked, bad.corruptions[0].pixels);
      assert.ok(masked > 0, `${kind} on seed ${seed} changed nothing`);
      for (let i = 0; i < bad.mask.length; i++) {
        if (bad.mask[i]) continue;
        // Outside the mask, labels are unchanged and colours moved by at most 20.
        assert.equal(bad.labels[i], labels[i]);
        const d = Math.hypot(...[0, 1, 2].map((c) => bad.image[i * 3 + c] - image[i * 3 + c]));
        assert.ok(d <= 20);
      }
    }
  }
});

Deno.test("corruptScene is deterministic and labels misplaced objects", () => {
  const scene = renderScene(3);
  assert.deepEqual(
    corruptScene(scene, new Rng(5), { count: 3 }),
    corruptScene(scene, new Rng(5), { count: 3 }),
  );
  const bad = corruptScene(scene, new Rng(2), { kinds: ["misplaced"] });
  const relabelled = bad.labels.filter((l, i) => l !== scene.labels[i]).length;
  if (!bad.corruptions[0].detail.includes("no room")) assert.equal(relabelled, bad.corruptions[0].pixels);
});

Deno.test("corruptScene checks its options", () => {
  const scene = renderScene(0, { size: 16 });
  assert.throws(() => corruptScene(scene, new Rng(0), { kinds: [] }), /at least one kind/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => corruptScene(scene, new Rng(0), { kinds: ["fog" as any] }), /Unknown kind "fog"/);
  assert.throws(() => corruptScene(scene, new Rng(0), { count: -1 }), /Expected count ≥ 0, got -1/);
});
