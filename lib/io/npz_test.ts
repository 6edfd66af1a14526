/**
 * `.npz` reading against archives numpy wrote (tests/fixtures/make_npy_fixtures.py): pytorch-fid's and
 * clean-fid's statistics layouts, stored and deflated, compared value by value; malformed archives give one
 * line naming the file, never a `RangeError`.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { openNpz, openNpzFile, parseNpz, readNpz } from "./npz.ts";
import { Rng } from "../tensor/rng.ts";

const DIR = new URL("../../tests/fixtures/npy/", import.meta.url).pathname;
const expected = JSON.parse(await Deno.readTextFile(join(DIR, "expected.json")));

for (const file of ["stats.npz", "stats_compressed.npz"]) {
  Deno.test(`readNpz: ${file} (np.savez${file.includes("compressed") ? "_compressed" : ""}(mu=, sigma=)) exact`, async () => {
    const arrays = await readNpz(join(DIR, file));
    assert.deepEqual([...arrays.keys()], ["mu", "sigma"]);
    for (const name of ["mu", "sigma"]) {
      const a = arrays.get(name)!, want = expected.stats[name];
      assert.equal(a.descr, "<f8");
      assert.ok(a.data instanceof Float64Array);
      assert.deepEqual(a.shape, want.shape);
      assert.deepEqual([...a.data], want.values);
    }
  });
}

Deno.test("readNpz: clean-fid's KID statistics (feats) and a member that is not .npy", async () => {
  const feats = (await readNpz(join(DIR, "feats.npz"))).get("feats")!;
  assert.deepEqual(feats.shape, [30, 6]);
  assert.deepEqual([...feats.data as Float32Array], expected.features_b.values);
  const path = join(DIR, "bad_member.npz");
  const npz = await openNpzFile(path);
  assert.deepEqual(npz.names, ["x"]); // readme.txt is not an array
  assert.throws(() => npz.read("x"), {
    message: `${path}: x.npy: not a .npy file (no \\x93NUMPY magic string)`,
  });
  assert.throws(() => npz.read("mu"), { message: `${path}: no array "mu" (holds: x)` });
});

Deno.test("openNpz: members are decoded on demand, and maxBytes refuses one before inflating it", async () => {
  const bytes = await Deno.readFile(join(DIR, "stats_compressed.npz"));
  const npz = openNpz(bytes, { name: "s.npz", maxBytes: 300 });
  assert.ok(npz.has("mu") && npz.has("sigma") && !npz.has("sigma.npy"));
  assert.deepEqual(npz.read("mu").shape, [6]);
  assert.throws(() => npz.read("sigma"), {
    message: "s.npz: member sigma.npy of 416 bytes is larger than the 300 bytes accepted",
  });
  await assert.rejects(readNpz(join(DIR, "missing.npz")), {
    message: `${join(DIR, "missing.npz")}: no such file`,
  });
});

/** Open `bytes` and read every array; a thrown error must be one line naming `name`, not a RangeError. */
function readsOrFailsCleanly(bytes: Uint8Array, name: string): boolean {
  try {
    parseNpz(bytes, { name });
    return true;
  } catch (e) {
    assert.ok(e instanceof Error && !(e instanceof RangeError) && !(e instanceof TypeError), String(e));
    assert.ok(e.message.startsWith(`${name}: `), e.message);
    assert.ok(!e.message.includes("\n"), e.message);
    return false;
  }
}

for (const file of ["stats.npz", "stats_compressed.npz"]) {
  Deno.test(`parseNpz: every truncation and random corruption of ${file} fails in one line naming it`, async () => {
    const good = await Deno.readFile(join(DIR, file));
    assert.ok(readsOrFailsCleanly(good, file));
    for (let n = 0; n < good.length; n++) assert.equal(readsOrFailsCleanly(good.subarray(0, n), file), false);
    const rng = new Rng(11);
    let failed = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = good.slice();
      for (let j = 0; j < 2; j++) bytes[rng.int(bytes.length)] = rng.int(256);
      if (!readsOrFailsCleanly(bytes, file)) failed++;
    }
    assert.ok(failed > 0);
  });
}

Deno.test("parseNpz: not a zip archive", () => {
  assert.throws(() => parseNpz(new TextEncoder().encode("\x93NUMPY not a zip"), { name: "a.npz" }), {
    message: "a.npz: zip end-of-central-directory record not found (truncated or not a zip archive)",
  });
});
