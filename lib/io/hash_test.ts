import { strict as assert } from "node:assert";
import { sha256File, sha256Hex } from "./hash.ts";

Deno.test("sha256Hex and sha256File give the standard digest", async () => {
  const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  assert.equal(await sha256Hex(new TextEncoder().encode("abc")), abc);
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, "abc");
  assert.equal(await sha256File(path), abc);
  await Deno.remove(path);
});
