import { strict as assert } from "node:assert";
import {
  checkHostTensor,
  decodeElements,
  encodeElements,
  gatherStrided,
  toFloat32Array,
  toInt32Array,
} from "./dtype.ts";

const allHalfBits = () => Uint16Array.from({ length: 65536 }, (_, i) => i);

Deno.test("F16 and BF16: every non-NaN bit pattern survives decode then encode", () => {
  for (const dtype of ["F16", "BF16"] as const) {
    const bits = allHalfBits();
    const values = decodeElements(dtype, new Uint8Array(bits.buffer)) as Float32Array;
    const back = new Uint16Array(encodeElements(dtype, values).buffer);
    for (let i = 0; i < bits.length; i++) {
      if (Number.isNaN(values[i])) {
        assert.ok(
          Number.isNaN(decodeElements(dtype, encodeElements(dtype, values.subarray(i, i + 1)))[0] as number),
        );
      } else assert.equal(back[i], bits[i], `${dtype} 0x${i.toString(16)} → ${values[i]}`);
    }
  }
});

Deno.test("F16 and BF16 encoding rounds to nearest, ties to even", () => {
  const f16 = (x: number) => decodeElements("F16", encodeElements("F16", new Float32Array([x])))[0];
  assert.equal(f16(1 + 2 ** -11), 1, "tie rounds to the even neighbour");
  assert.equal(f16(1 + 3 * 2 ** -11), 1 + 2 ** -9, "tie rounds to the even neighbour (up)");
  assert.equal(f16(65519), 65504);
  assert.equal(f16(65520), Infinity, "overflow");
  assert.equal(f16(2 ** -25), 0, "half of the smallest subnormal ties to 0");
  assert.equal(f16(1.5 * 2 ** -25), 2 ** -24);

  const bf16 = (x: number) => decodeElements("BF16", encodeElements("BF16", new Float32Array([x])))[0];
  assert.equal(bf16(1 + 2 ** -8), 1, "tie rounds to the even neighbour");
  assert.equal(bf16(1 + 3 * 2 ** -8), 1 + 2 ** -6, "tie rounds to the even neighbour (up)");
  assert.equal(bf16(1 + 1.5 * 2 ** -8), 1 + 2 ** -7);
  assert.equal(bf16(-Infinity), -Infinity);
  assert.ok(Number.isNaN(bf16(NaN)));
});

Deno.test("decodeElements copies, normalises BOOL and checks the byte count", () => {
  const bytes = Uint8Array.of(0, 2, 1);
  const bools = decodeElements("BOOL", bytes);
  assert.deepEqual([...bools], [0, 1, 1]);
  const u8 = decodeElements("U8", bytes);
  bytes[0] = 9;
  assert.equal(u8[0], 0, "the result does not share memory with the input");
  // Unaligned input (offset 1 in its buffer) still decodes.
  const f32 = new Uint8Array(9);
  f32.set(new Uint8Array(new Float32Array([1.5, -2]).buffer), 1);
  assert.deepEqual([...decodeElements("F32", f32.subarray(1))], [1.5, -2]);
  assert.throws(() => decodeElements("F32", new Uint8Array(6)), {
    message: "6 bytes is not a whole number of F32 elements (4 bytes each)",
  });
});

Deno.test("toInt32Array converts with a range check; toFloat32Array casts", () => {
  const ok = { dtype: "I64" as const, shape: [2], data: new BigInt64Array([-5n, 2147483647n]) };
  assert.deepEqual([...toInt32Array(ok)], [-5, 2147483647]);
  assert.deepEqual([...toFloat32Array(ok)], [-5, 2147483648]);
  const big = { dtype: "I64" as const, shape: [2], data: new BigInt64Array([1n, 2n ** 40n]) };
  assert.throws(() => toInt32Array(big), {
    message: "toInt32Array: I64 value 1099511627776 at index 1 does not fit in int32",
  });
  const floats = { dtype: "F16" as const, shape: [1], data: new Float32Array(1) };
  assert.throws(() => toInt32Array(floats), {
    message: "toInt32Array: expected an integer or boolean tensor, got F16",
  });
  assert.deepEqual([...toInt32Array({ dtype: "U8", shape: [2], data: Uint8Array.of(0, 255) })], [0, 255]);
});

Deno.test("checkHostTensor names the tensor and the inconsistency", () => {
  const what = "m.pth: tensor 'w'";
  assert.throws(() => checkHostTensor({ dtype: "F32", shape: [2, 2], data: new Float32Array(3) }, what), {
    message: "m.pth: tensor 'w': shape [2,2] has 4 elements, data has 3",
  });
  assert.throws(() => checkHostTensor({ dtype: "F64", shape: [1], data: new Float32Array(1) }, what), {
    message: "m.pth: tensor 'w': dtype F64 is held in a Float64Array, got Float32Array",
  });
  assert.throws(() => checkHostTensor({ dtype: "F32", shape: [1.5], data: new Float32Array(1) }, what), {
    message: "m.pth: tensor 'w': shape must be a list of non-negative integers, got [1.5]",
  });
});

Deno.test("gatherStrided copies transposed and expanded views", () => {
  const src = Float32Array.from({ length: 6 }, (_, i) => i); // [[0, 1, 2], [3, 4, 5]]
  assert.deepEqual([...gatherStrided(src, { offset: 0, shape: [3, 2], stride: [1, 3] })], [0, 3, 1, 4, 2, 5]);
  assert.deepEqual([...gatherStrided(src, { offset: 1, shape: [2, 2], stride: [0, 2] })], [1, 3, 1, 3]);
  const longs = gatherStrided(new BigInt64Array([7n, 8n]), { offset: 0, shape: [2], stride: [1] });
  assert.deepEqual([...longs], [7n, 8n]);
});

Deno.test("gatherStrided refuses negative sizes, views outside the source and huge expansions", () => {
  const src = new Uint8Array(3);
  const what = "m.pth: tensor 'w'";
  assert.throws(() => gatherStrided(src, { offset: 0, shape: [-1, 3], stride: [0, 1] }, { what }), {
    message: "m.pth: tensor 'w': size [-1,3], stride [0,1] and offset 0 must be non-negative integers " +
      "(as many strides as sizes)",
  });
  assert.throws(() => gatherStrided(src, { offset: 0, shape: [2], stride: [-1] }, { what }), /non-negative/);
  assert.throws(() => gatherStrided(src, { offset: 1, shape: [3], stride: [1] }, { what }), {
    message: "m.pth: tensor 'w': size [3], stride [1] and offset 1 reach element 3 of a 3-element storage",
  });
  assert.throws(() => gatherStrided(src, { offset: 0, shape: [0x7fffffff], stride: [0] }, { what }), {
    message: "m.pth: tensor 'w': size [2147483647] has 2147483647 elements, more than the 16777216 allowed " +
      "for a view of a 3-element storage (at most 64 times the storage, or 16777216)",
  });
  assert.throws(
    () => gatherStrided(src, { offset: 0, shape: [2 ** 40, 2 ** 40], stride: [0, 0] }),
    /^Error: strided view: /,
  );
  // Many size-1 dimensions cost nothing; an empty view is fine anywhere.
  const ones = new Array(1000).fill(1);
  assert.deepEqual([...gatherStrided(src, { offset: 2, shape: [...ones, 2], stride: [...ones, 0] })], [0, 0]);
  assert.equal(gatherStrided(src, { offset: 99, shape: [0, 5], stride: [1, 1] }).length, 0);
});
