import { strict as assert } from "node:assert";
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "./atomic.ts";

async function listNames(folder: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(folder)) names.push(entry.name);
  return names.sort();
}

Deno.test("writeFileAtomic creates parent folders and leaves no temporary file", async () => {
  const root = await Deno.makeTempDir({ prefix: "atomic_test_" });
  try {
    const path = join(root, "a", "b", "out.bin");
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([1, 2, 3]));
    await writeFileAtomic(path, "replaced");
    assert.equal(await Deno.readTextFile(path), "replaced");
    assert.deepEqual(await listNames(join(root, "a", "b")), ["out.bin"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeJsonAtomic writes pretty JSON with a trailing newline", async () => {
  const root = await Deno.makeTempDir({ prefix: "atomic_test_" });
  try {
    const path = join(root, "meta.json");
    await writeJsonAtomic(path, { a: 1, b: [true] });
    assert.equal(await Deno.readTextFile(path), '{\n  "a": 1,\n  "b": [\n    true\n  ]\n}\n');
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a failed JSON write does not clobber the old file", async () => {
  const root = await Deno.makeTempDir({ prefix: "atomic_test_" });
  try {
    const path = join(root, "meta.json");
    await writeJsonAtomic(path, { ok: true });
    await assert.rejects(() => writeJsonAtomic(path, { n: 1n }), /Could not write .*meta\.json/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assert.rejects(() => writeJsonAtomic(path, cyclic), /Could not write/);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), { ok: true });
    assert.deepEqual(await listNames(root), ["meta.json"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a failed rename removes the temporary file and keeps the destination", async () => {
  const root = await Deno.makeTempDir({ prefix: "atomic_test_" });
  try {
    // A non-empty folder at the destination makes the final rename fail.
    const path = join(root, "target");
    await Deno.mkdir(path);
    await Deno.writeTextFile(join(path, "keep.txt"), "kept");
    await assert.rejects(() => writeFileAtomic(path, "data"), /Could not write .*target/);
    assert.deepEqual(await listNames(root), ["target"]);
    assert.equal(await Deno.readTextFile(join(path, "keep.txt")), "kept");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
