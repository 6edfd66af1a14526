import { strict as assert } from "node:assert";
import { Rng } from "./rng.ts";
import {
  type Matrix,
  mirrorUpper,
  multiplyABt,
  pivotedCholesky,
  symmetricEigen,
  symmetricEigenvalues,
  traceSqrtProduct,
  transpose,
} from "./linalg.ts";

function random(rows: number, cols: number, seed: number): Matrix {
  return { rows, cols, data: new Rng(seed).normals(rows * cols) };
}

function naiveABt(a: Matrix, b: Matrix): Float64Array {
  const out = new Float64Array(a.rows * b.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.rows; j++) {
      let s = 0;
      for (let t = 0; t < a.cols; t++) s += a.data[i * a.cols + t] * b.data[j * b.cols + t];
      out[i * b.rows + j] = s;
    }
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A random symmetric positive semi-definite matrix `X Xᵀ / samples` of rank min(n, samples). */
function covariance(n: number, samples: number, seed: number): Matrix {
  const x = random(n, samples, seed);
  const c = multiplyABt(x, x);
  for (let i = 0; i < c.data.length; i++) c.data[i] /= samples;
  return c;
}

Deno.test("multiplyABt: equals the naive product across panel and block edges", () => {
  // k = 300 spans two 256-column panels; n = 70 spans two 64-row blocks; odd sizes exercise the edges.
  const a = random(7, 300, 1), b = random(70, 300, 2);
  const c = multiplyABt(a, b);
  assert.deepEqual([c.rows, c.cols], [7, 70]);
  assert.ok(maxAbsDiff(c.data, naiveABt(a, b)) < 1e-12);
  // `into` accumulates.
  multiplyABt(a, b, { into: c });
  assert.ok(maxAbsDiff(c.data, naiveABt(a, b).map((v) => 2 * v)) < 1e-12);
});

Deno.test("multiplyABt: upper half of a symmetric product, and triangular operands", () => {
  const x = random(69, 130, 3);
  const full = naiveABt(x, x);
  const up = mirrorUpper(multiplyABt(x, x, { upper: true }));
  assert.ok(maxAbsDiff(up.data, full) < 1e-12);
  // Zero the part of each row before the diagonal: the skipped products must be exactly those zeros.
  const tri = random(69, 130, 4);
  for (let i = 0; i < 69; i++) for (let t = 0; t < Math.min(i, 130); t++) tri.data[i * 130 + t] = 0;
  const other = random(50, 130, 5);
  assert.ok(maxAbsDiff(multiplyABt(tri, other, { aUpper: true }).data, naiveABt(tri, other)) < 1e-12);
  assert.ok(maxAbsDiff(multiplyABt(other, tri, { bUpper: true }).data, naiveABt(other, tri)) < 1e-12);
  assert.throws(() => multiplyABt(random(2, 3, 1), random(2, 4, 1)), /A is \[2,3\] but B is \[2,4\]/);
});

Deno.test("transpose: tiles cover non-multiple sizes", () => {
  const a = random(37, 45, 6);
  const t = transpose(a);
  assert.deepEqual([t.rows, t.cols], [45, 37]);
  for (let i = 0; i < 37; i++) {
    for (let j = 0; j < 45; j++) assert.equal(t.data[j * 37 + i], a.data[i * 45 + j]);
  }
});

Deno.test("symmetricEigen: small known cases", () => {
  const two = symmetricEigen({ rows: 2, cols: 2, data: new Float64Array([2, 1, 1, 2]) }, { vectors: true });
  assert.ok(maxAbsDiff(two.values, [1, 3]) < 1e-15);
  const v = two.vectors!;
  assert.ok(Math.abs(Math.abs(v[0]) - Math.SQRT1_2) < 1e-15 && Math.abs(v[0] + v[1]) < 1e-15); // (1, −1)/√2
  assert.deepEqual([...symmetricEigenvalues({ rows: 1, cols: 1, data: new Float64Array([-4]) })], [-4]);
  const diag = { rows: 4, cols: 4, data: new Float64Array(16) };
  [3, -1, 0, 2].forEach((x, i) => (diag.data[i * 5] = x));
  assert.deepEqual([...symmetricEigenvalues(diag)], [-1, 0, 2, 3]);
  const zero = symmetricEigen({ rows: 3, cols: 3, data: new Float64Array(9) }, { vectors: true });
  assert.deepEqual([...zero.values], [0, 0, 0]);
  assert.throws(
    () => symmetricEigen({ rows: 2, cols: 2, data: new Float64Array([1, NaN, NaN, 1]) }),
    /non-finite/,
  );
  assert.throws(() => symmetricEigen({ rows: 2, cols: 3, data: new Float64Array(6) }), /square/);
});

Deno.test("symmetricEigen: A v = λ v and orthonormal vectors on random matrices, with repeated eigenvalues", () => {
  for (const [n, samples] of [[37, 50], [60, 12]]) { // the second is singular: 48 zero eigenvalues
    const a = covariance(n, samples, n);
    const { values, vectors } = symmetricEigen(a, { vectors: true });
    const v = { rows: n, cols: n, data: vectors! };
    const av = multiplyABt(v, a); // row j = (A v_j)ᵀ
    let residual = 0;
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        residual = Math.max(residual, Math.abs(av.data[j * n + i] - values[j] * v.data[j * n + i]));
      }
    }
    const gram = multiplyABt(v, v);
    for (let i = 0; i < n; i++) gram.data[i * n + i] -= 1;
    const scale = values[n - 1];
    assert.ok(residual < 1e-13 * scale * n, `n=${n}: residual ${residual}`);
    assert.ok(maxAbsDiff(gram.data, new Float64Array(n * n)) < 1e-12, `n=${n}: not orthonormal`);
    for (let j = 1; j < n; j++) assert.ok(values[j] >= values[j - 1]);
    if (samples < n) assert.ok(Math.abs(values[n - samples - 1]) < 1e-14 * scale * n);
    // The trace is the sum of the eigenvalues.
    let trace = 0;
    for (let i = 0; i < n; i++) trace += a.data[i * n + i];
    assert.ok(Math.abs(values.reduce((s, x) => s + x, 0) - trace) < 1e-12 * trace);
  }
});

Deno.test("pivotedCholesky: reconstructs full-rank and singular matrices, and finds the rank", () => {
  for (const [n, samples] of [[20, 40], [12, 5]]) {
    const s = covariance(n, samples, 7);
    const { rank, factor, perm } = pivotedCholesky(s);
    assert.equal(rank, Math.min(n, samples));
    const llt = multiplyABt(factor, factor);
    let err = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        err = Math.max(err, Math.abs(llt.data[i * n + j] - s.data[perm[i] * n + perm[j]]));
      }
    }
    assert.ok(err < 1e-13, `n=${n}: error ${err}`);
  }
  const notPsd = { rows: 2, cols: 2, data: new Float64Array([1, 2, 2, 1]) };
  assert.throws(() => pivotedCholesky(notPsd), /not positive semi-definite/);
});

Deno.test("traceSqrtProduct: closed form Σ √(aᵢ bᵢ) for covariances with a common eigenbasis", () => {
  const n = 120;
  // An orthonormal basis Q (rows) from the eigenvectors of a random symmetric matrix.
  const q = { rows: n, cols: n, data: symmetricEigen(covariance(n, n + 5, 11), { vectors: true }).vectors! };
  const rng = new Rng(12);
  const a = Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : rng.uniform() * 2)); // singular
  const b = Float64Array.from({ length: n }, () => 0.01 + rng.uniform());
  const build = (diag: Float64Array): Matrix => {
    const scaled = { rows: n, cols: n, data: Float64Array.from(q.data) };
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) scaled.data[j * n + i] *= diag[j];
    return multiplyABt(transpose(scaled), transpose(q)); // Qᵀ diag Q, with Q's rows as the basis
  };
  const expected = a.reduce((s, ai, i) => s + Math.sqrt(ai * b[i]), 0);
  const got = traceSqrtProduct(build(a), build(b));
  assert.equal(got.rank, n - n / 3);
  assert.ok(Math.abs(got.value - expected) / expected < 1e-9, `${got.value} vs ${expected}`);
  // Symmetric in its arguments. Factoring the full-rank matrix leaves the 40 zero eigenvalues of the product
  // as rounding noise ε‖M‖, each adding √(ε‖M‖) ≈ 1e-8 (scipy's sqrtm has the same noise): 5e-9 relative here.
  const swapped = traceSqrtProduct(build(b), build(a));
  assert.ok(Math.abs(swapped.value - expected) / expected < 1e-7, `${swapped.value} vs ${expected}`);
  const identity = { rows: 2, cols: 2, data: new Float64Array([1, 0, 0, 1]) };
  assert.equal(traceSqrtProduct({ rows: 2, cols: 2, data: new Float64Array(4) }, identity).value, 0);
});
