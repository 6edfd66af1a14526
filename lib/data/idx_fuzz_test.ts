/**
 * Fuzzing the IDX reader: seeded mutations of IDX files, plain and gzipped, either read or fail with a
 * one-line `Error` naming the file, quickly; plus the gzip bomb an earlier fuzzing pass found.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { deflateBomb, expectReaderError, fuzzReader, gzipOf, rssGrowth } from "../io/fuzz_test_util.ts";
import { decodeIdx, readIdxFile } from "./idx.ts";

/** IDX bytes of unsigned-byte data with the given dimensions. */
function idx(dims: number[], values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + values.length);
  out.set([0, 0, 8, dims.length]);
  const view = new DataView(out.buffer);
  dims.forEach((d, k) => view.setUint32(4 + 4 * k, d, false));
  out.set(values, 4 + 4 * dims.length);
  return out;
}

Deno.test("fuzz: mutated IDX files, plain and gzipped, read or fail naming the file", async () => {
  const images = idx([3, 4, 4], Uint8Array.from({ length: 48 }, (_, i) => (i * 37) % 256));
  const labels = idx([5], [1, 2, 3, 4, 5]);
  const inputs = [images, labels, new Uint8Array(gzipSync(images)), new Uint8Array(gzipSync(labels))];
  for (const input of inputs) decodeIdx(input, { name: "valid.idx" });
  const start = performance.now();
  const report = await fuzzReader({
    inputs,
    iterations: 4000,
    seed: 7,
    name: "fuzzed-idx.gz",
    read: (bytes, name) => decodeIdx(bytes, { name, rank: bytes[3] === 1 ? 1 : undefined }),
    fields: [0, 2, 3, 4, 8, 12],
  });
  assert.ok(report.parsed > 0 && report.refused > 0, JSON.stringify(report));
  assert.ok(performance.now() - start < 15_000, `fuzzing took ${performance.now() - start} ms`);
});

Deno.test("regression: a gzip bomb fails at the size its header announces, not after gigabytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "idx_fuzz_" });
  try {
    // A header for 3 values, then a gigabyte of zeros (~6.5 MB of gzip); it used to reach 2.2 GB.
    const path = join(dir, "bomb-idx1-ubyte.gz");
    await Deno.writeFile(path, gzipOf(deflateBomb(idx([3], []), 2 ** 30)));
    const growth = await rssGrowth(() =>
      expectReaderError(
        () => readIdxFile(path),
        path,
        5000,
        /: gzip data inflates to more than the 11 bytes its IDX header announces$/,
      )
    );
    assert.ok(growth < 2 ** 30, `rss grew by ${growth} bytes`);

    // A header announcing more than any IDX file may hold is refused from the first bytes.
    const huge = join(dir, "huge.gz");
    await Deno.writeFile(huge, gzipOf(deflateBomb(idx([0xffffffff, 0xffffffff], []), 2 ** 20)));
    await expectReaderError(
      () => readIdxFile(huge),
      huge,
      5000,
      /need \d+ bytes, more than the 2147483647 supported$/,
    );

    // The header comes from a prefix of the gzip data, even when its file-name field is long.
    const named = gzipSync(idx([2], [5, 6]));
    const withName = new Uint8Array(named.length + 5001);
    withName.set(named.subarray(0, 10));
    withName[3] |= 8; // FNAME
    withName.fill(0x61, 10, 5010);
    withName.set(named.subarray(10), 5011);
    const file = join(dir, "named.gz");
    await Deno.writeFile(file, withName);
    assert.deepEqual([...(await readIdxFile(file)).data], [5, 6]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
