import { strict as assert } from "node:assert";
import { gzipSync } from "node:zlib";
import { parseIdx, readIdxFile } from "./idx.ts";

/** IDX bytes of unsigned-byte data with the given dimensions. */
function idx(dims: number[], values: number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header.set([0, 0, 8, dims.length]);
  const view = new DataView(header.buffer);
  dims.forEach((d, k) => view.setUint32(4 + 4 * k, d, false));
  return Uint8Array.from([...header, ...values]);
}

Deno.test("parseIdx reads dimensions and values", () => {
  const { dims, data } = parseIdx(idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
  assert.deepEqual(dims, [2, 2, 3]);
  assert.deepEqual([...data], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
});

Deno.test("parseIdx rejects malformed data, naming it", () => {
  const opts = { name: "x.idx" };
  assert.throws(
    () => parseIdx(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]), opts),
    /x.idx: not an IDX file \(bad magic number 0x01000801\)/,
  );
  assert.throws(
    () => parseIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), opts),
    /x.idx: unsupported IDX type 0xd/,
  );
  assert.throws(
    () => parseIdx(idx([3], [1, 2, 3]), { ...opts, rank: 3 }),
    /x.idx: expected 3 dimensions \(magic 0x00000803\), got 1/,
  );
  assert.throws(
    () => parseIdx(idx([4], [1, 2, 3]), opts),
    /x.idx: expected 4 values for dimensions \[4\], found 3/,
  );
  assert.throws(() => parseIdx(Uint8Array.from([0, 0, 8, 3, 0, 0]), opts), /x.idx: truncated header/);
  assert.throws(
    () => parseIdx(Uint8Array.from([0, 0]), opts),
    /x.idx: not an IDX file \(2 bytes, no header\)/,
  );
});

Deno.test("readIdxFile gunzips .gz files and names the file in errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/a.gz`, gzipSync(idx([3], [7, 8, 9])));
    await Deno.writeFile(`${dir}/b`, idx([3], [7, 8, 9]));
    assert.deepEqual([...(await readIdxFile(`${dir}/a.gz`)).data], [7, 8, 9]);
    assert.deepEqual([...(await readIdxFile(`${dir}/b`)).data], [7, 8, 9]);
    await Deno.writeFile(`${dir}/bad.gz`, Uint8Array.from([0x1f, 0x8b, 1, 2, 3]));
    await assert.rejects(() => readIdxFile(`${dir}/bad.gz`), new RegExp(`${dir}/bad.gz: could not gunzip`));
    await Deno.writeFile(`${dir}/short.gz`, gzipSync(idx([5], [1])));
    await assert.rejects(
      () => readIdxFile(`${dir}/short.gz`),
      new RegExp(`${dir}/short.gz: expected 5 values`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
