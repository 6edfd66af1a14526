/**
 * Dense float64 linear algebra on row-major `Float64Array`s, for the statistics and the metrics (running
 * moments, the Fréchet distance): a cache-blocked matrix product, a pivoted Cholesky factorisation, a
 * symmetric eigensolver and the trace of the square root of a product of two covariance matrices (the hard
 * term of the Fréchet distance).
 *
 * Everything is plain TypeScript in float64 (tfjs has no float64 on its cpu and wasm backends):
 * - {@link multiplyABt}: `C = A·Bᵀ`, packed into contiguous panels of 256 columns and computed in 4×4 register
 *   blocks (≈ 1.8 G multiply-adds per second on one core of the development machine); it can skip the
 *   structurally zero part of triangular operands and the lower half of a symmetric result.
 * - {@link symmetricEigen}: Householder reduction to tridiagonal form, then the implicit QL algorithm with
 *   Wilkinson shifts (the classical EISPACK `tred2`/`tql2` pair, written here row-wise so that every inner
 *   loop runs over contiguous memory). Eigenvalues only: ≈ (4/3) n³ flops; with eigenvectors ≈ 3× more.
 * - {@link pivotedCholesky}: `Pᵀ S P = L Lᵀ` for a positive *semi*-definite `S`, stopping at its numerical rank
 *   (LAPACK `dpstrf`'s rule), so singular covariances need no regularisation.
 * - {@link traceSqrtProduct}: `tr √(S₁ S₂) = Σ √λᵢ(Lᵀ S₂ L)` with `S₁ = L Lᵀ`; the product `S₁ S₂` is not
 *   symmetric, but it is similar to the symmetric positive semi-definite `Lᵀ S₂ L`, whose eigenvalues are those of
 *   `S₁ S₂` (plus zeros). This is what `scipy.linalg.sqrtm(S₁ @ S₂).trace()` computes, without complex arithmetic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { symmetricEigen, traceSqrtProduct } from "./linalg.ts";
 * const a = { rows: 2, cols: 2, data: new Float64Array([2, 1, 1, 2]) }; // [[2, 1], [1, 2]]
 * const { values, vectors } = symmetricEigen(a, { vectors: true }); // values [1, 3]; eigenvectors as rows
 * const t = traceSqrtProduct(a, a); // tr √(A²) = tr A = 4
 * const close = (x: number, y: number) => Math.abs(x - y) < 1e-12;
 * assert.ok(close(values[0], 1) && close(values[1], 3) && close(t.value, 4));
 * assert.equal(vectors!.length, 4); // 2 eigenvectors of 2, row-major
 * ```
 * @module
 */

/** Columns of A and B packed per pass: 256 float64 = 2 KB per row, so a 4-row panel stays in L1. */
const PANEL = 256;
/** Rows of B packed per block: 64 × 2 KB = 128 KB, which stays in L2 while every row of A passes. */
const B_BLOCK = 64;

/** A dense row-major float64 matrix: `data[i * cols + j]` is entry `(i, j)`. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** A new zero matrix `[rows, cols]`. */
export function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

/** Options of {@link multiplyABt}. */
export interface MultiplyOptions {
  /** Add the product to this matrix `[m, n]` (and return it) instead of a new zero matrix; default none. */
  into?: Matrix;
  /**
   * Compute only the entries `C[i][j]` with `j ≥ i` (and a few next to the diagonal): for a symmetric result
   * whose lower half is filled afterwards (see {@link mirrorUpper}); default false.
   */
  upper?: boolean;
  /** Row `i` of `A` is zero before column `i` (`A` upper trapezoidal): those products are skipped; default false. */
  aUpper?: boolean;
  /** Row `j` of `B` is zero before column `j`: those products are skipped; default false. */
  bUpper?: boolean;
}

/**
 * `C = A · Bᵀ` (or `C += A · Bᵀ` with `into`) for `A` `[m, k]` and `B` `[n, k]`. Both operands are read along
 * their rows, so `A·Bᵀ` is the natural product here: pass {@link transpose}d copies for other combinations.
 *
 * @returns `C` `[m, n]`: `options.into` if given, else a new matrix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { multiplyABt } from "./linalg.ts";
 * const a = { rows: 2, cols: 2, data: new Float64Array([1, 2, 3, 4]) }; // [[1, 2], [3, 4]]
 * const c = multiplyABt(a, a); // A Aᵀ = [[5, 11], [11, 25]]
 * assert.deepEqual(c.data, Float64Array.of(5, 11, 11, 25));
 * ```
 */
export function multiplyABt(a: Matrix, b: Matrix, options: MultiplyOptions = {}): Matrix {
  checkMatrix(a, "A");
  checkMatrix(b, "B");
  if (a.cols !== b.cols) {
    throw new Error(`multiplyABt: A is [${a.rows},${a.cols}] but B is [${b.rows},${b.cols}]`);
  }
  const m = a.rows, n = b.rows, k = a.cols;
  const out = options.into ?? zeros(m, n);
  checkMatrix(out, "into");
  if (out.rows !== m || out.cols !== n) {
    throw new Error(`multiplyABt: into: Expected [${m},${n}], got [${out.rows},${out.cols}]`);
  }
  const { upper = false, aUpper = false, bUpper = false } = options;
  if (upper && m !== n) throw new Error(`multiplyABt: upper needs a square result, got [${m},${n}]`);
  if (m === 0 || n === 0 || k === 0) return out;
  const ad = a.data, bd = b.data, c = out.data;
  const panel = Math.min(PANEL, k);
  const ap = new Float64Array(m * panel); // A[:, k0:k1], rows contiguous
  const bp = new Float64Array(Math.min(B_BLOCK, n) * panel); // B[j0:j1, k0:k1]
  for (let k0 = 0; k0 < k; k0 += PANEL) {
    const kl = Math.min(PANEL, k - k0);
    for (let i = 0; i < m; i++) ap.set(ad.subarray(i * k + k0, i * k + k0 + kl), i * kl);
    for (let j0 = 0; j0 < n; j0 += B_BLOCK) {
      const j1 = Math.min(n, j0 + B_BLOCK);
      for (let j = j0; j < j1; j++) bp.set(bd.subarray(j * k + k0, j * k + k0 + kl), (j - j0) * kl);
      const iEnd = upper ? Math.min(m, j1) : m;
      for (let i0 = 0; i0 < iEnd; i0 += 4) {
        const rows = Math.min(4, m - i0);
        for (let jj = j0; jj < j1; jj += 4) {
          if (upper && jj + 3 < i0) continue;
          // First column with a non-zero product in this 4×4 block, relative to the panel.
          const from = Math.max(0, (aUpper ? i0 : 0) - k0, (bUpper ? jj : 0) - k0);
          if (from >= kl) continue;
          const cols = Math.min(4, j1 - jj);
          if (rows === 4 && cols === 4) {
            kernel4x4(ap, i0 * kl, bp, (jj - j0) * kl, from, kl, c, i0 * n + jj, n);
          } else {
            for (let r = 0; r < rows; r++) {
              for (let s = 0; s < cols; s++) {
                const ao = (i0 + r) * kl, bo = (jj + s - j0) * kl;
                let sum = 0;
                for (let t = from; t < kl; t++) sum += ap[ao + t] * bp[bo + t];
                c[(i0 + r) * n + jj + s] += sum;
              }
            }
          }
        }
      }
    }
  }
  return out;
}

/** The 4×4 register block: 16 accumulators, 8 loads per 16 multiply-adds. */
function kernel4x4(
  ap: Float64Array,
  a0: number,
  bp: Float64Array,
  b0: number,
  from: number,
  kl: number,
  c: Float64Array,
  c0: number,
  n: number,
): void {
  const a1 = a0 + kl, a2 = a1 + kl, a3 = a2 + kl;
  const b1 = b0 + kl, b2 = b1 + kl, b3 = b2 + kl;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let t = from; t < kl; t++) {
    const x0 = ap[a0 + t], x1 = ap[a1 + t], x2 = ap[a2 + t], x3 = ap[a3 + t];
    const y0 = bp[b0 + t], y1 = bp[b1 + t], y2 = bp[b2 + t], y3 = bp[b3 + t];
    c00 += x0 * y0;
    c01 += x0 * y1;
    c02 += x0 * y2;
    c03 += x0 * y3;
    c10 += x1 * y0;
    c11 += x1 * y1;
    c12 += x1 * y2;
    c13 += x1 * y3;
    c20 += x2 * y0;
    c21 += x2 * y1;
    c22 += x2 * y2;
    c23 += x2 * y3;
    c30 += x3 * y0;
    c31 += x3 * y1;
    c32 += x3 * y2;
    c33 += x3 * y3;
  }
  let o = c0;
  c[o] += c00, c[o + 1] += c01, c[o + 2] += c02, c[o + 3] += c03;
  o += n;
  c[o] += c10, c[o + 1] += c11, c[o + 2] += c12, c[o + 3] += c13;
  o += n;
  c[o] += c20, c[o + 1] += c21, c[o + 2] += c22, c[o + 3] += c23;
  o += n;
  c[o] += c30, c[o + 1] += c31, c[o + 2] += c32, c[o + 3] += c33;
}

function checkMatrix(x: Matrix, name: string): void {
  const { rows, cols, data } = x;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new Error(`${name}: Expected non-negative integer sizes, got [${rows},${cols}]`);
  }
  if (data.length !== rows * cols) {
    throw new Error(`${name}: [${rows},${cols}] needs ${rows * cols} values, got ${data.length}`);
  }
}

function checkSquare(x: Matrix, name: string): number {
  checkMatrix(x, name);
  if (x.rows !== x.cols) throw new Error(`${name}: Expected a square matrix, got [${x.rows},${x.cols}]`);
  return x.rows;
}

/** Copy the upper triangle of the square matrix `a` onto its lower triangle, in place; returns `a`. */
export function mirrorUpper(a: Matrix): Matrix {
  const n = checkSquare(a, "matrix");
  const d = a.data;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) d[i * n + j] = d[j * n + i];
  }
  return a;
}

/** The transpose of `a`, as a new matrix. */
export function transpose(a: Matrix): Matrix {
  checkMatrix(a, "matrix");
  const { rows, cols, data } = a;
  const out = zeros(cols, rows);
  const o = out.data;
  // 32×32 tiles keep both the read and the write side in cache.
  for (let i0 = 0; i0 < rows; i0 += 32) {
    for (let j0 = 0; j0 < cols; j0 += 32) {
      const i1 = Math.min(rows, i0 + 32), j1 = Math.min(cols, j0 + 32);
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < j1; j++) o[j * rows + i] = data[i * cols + j];
      }
    }
  }
  return out;
}

/** A pivoted Cholesky factorisation `Pᵀ S P = L Lᵀ` of a positive semi-definite `S` (see {@link pivotedCholesky}). */
export interface PivotedCholesky {
  /** Numerical rank: the number of columns of `L`. */
  rank: number;
  /** `L` `[n, rank]`, lower trapezoidal (`L[i][j] = 0` for `j > i`), rows in pivoted order. */
  factor: Matrix;
  /** Row `i` of `L` belongs to row `perm[i]` of `S`: `S[perm[i]][perm[j]] ≈ (L Lᵀ)[i][j]`. */
  perm: Int32Array;
}

/** Options of {@link pivotedCholesky}. */
export interface PivotedCholeskyOptions {
  /**
   * Stop when every remaining pivot is at most this; default `n · 2⁻⁵² · max(diag S)`, LAPACK `dpstrf`'s
   * default, so the part left out is at rounding level.
   */
  tolerance?: number;
}

/**
 * Cholesky factorisation with complete (diagonal) pivoting of a symmetric positive semi-definite matrix: at
 * each step the largest remaining diagonal entry is the pivot, and the factorisation stops when it is at
 * rounding level. A singular matrix (a covariance of fewer samples than dimensions) gets an exact low-rank
 * factor instead of a failure. Only the lower triangle of `s` is read; `s` is not modified.
 *
 * Left-looking: column `j` of `L` comes from dot products of contiguous rows of `L` (≈ n³/6 multiply-adds).
 *
 * @throws Error if `s` has a non-finite diagonal entry, or a clearly negative pivot (not semi-definite).
 */
export function pivotedCholesky(s: Matrix, options: PivotedCholeskyOptions = {}): PivotedCholesky {
  const n = checkSquare(s, "matrix");
  const sd = s.data;
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const diag = new Float64Array(n); // remaining pivots, in pivoted order
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    const v = sd[i * n + i];
    if (!Number.isFinite(v)) throw new Error(`pivotedCholesky: non-finite diagonal entry ${v} at ${i}`);
    diag[i] = v;
    maxDiag = Math.max(maxDiag, v);
  }
  const tol = options.tolerance ?? n * Number.EPSILON * maxDiag;
  const l = new Float64Array(n * n); // row i holds L[i][0..min(i, rank-1)]
  let rank = n;
  for (let j = 0; j < n; j++) {
    let p = j;
    for (let i = j + 1; i < n; i++) if (diag[i] > diag[p]) p = i;
    if (!(diag[p] > tol)) {
      rank = j;
      break;
    }
    if (p !== j) {
      [perm[j], perm[p]] = [perm[p], perm[j]];
      [diag[j], diag[p]] = [diag[p], diag[j]];
      for (let t = 0; t < j; t++) [l[j * n + t], l[p * n + t]] = [l[p * n + t], l[j * n + t]];
    }
    const ljj = Math.sqrt(diag[j]);
    l[j * n + j] = ljj;
    const pj = perm[j];
    const rowJ = j * n;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      const pi = perm[i];
      let v = pi > pj ? sd[pi * n + pj] : sd[pj * n + pi]; // lower triangle: S[max][min]
      for (let t = 0; t < j; t++) v -= l[rowI + t] * l[rowJ + t];
      v /= ljj;
      l[rowI + j] = v;
      diag[i] -= v * v;
    }
  }
  for (let i = rank; i < n; i++) {
    if (diag[i] < -Math.max(tol, 1e-8 * maxDiag)) {
      throw new Error(`pivotedCholesky: the matrix is not positive semi-definite (pivot ${diag[i]})`);
    }
  }
  const factor = zeros(n, rank);
  for (let i = 0; i < n; i++) factor.data.set(l.subarray(i * n, i * n + Math.min(i + 1, rank)), i * rank);
  return { rank, factor, perm };
}

/** Options of {@link symmetricEigen}. */
export interface SymmetricEigenOptions {
  /** Also compute the eigenvectors; default false (eigenvalues only, ≈ 3× faster). */
  vectors?: boolean;
  /** QL iterations allowed per eigenvalue before giving up; default 60. */
  maxIterations?: number;
}

/** Eigenvalues (ascending) and, if asked for, eigenvectors of a symmetric matrix. */
export interface SymmetricEigenResult {
  values: Float64Array;
  /** Row-major `[n, n]`: row `j` is the unit eigenvector of `values[j]` (numpy's `eigh` gives columns). */
  vectors?: Float64Array;
}

/**
 * Eigen-decomposition of a real symmetric `n×n` matrix (only its lower triangle is read; `a` is not modified):
 * Householder tridiagonalisation followed by implicit QL iterations with Wilkinson shifts. Accuracy: eigenvalues
 * to within a small multiple of `2⁻⁵² · ‖A‖`, as LAPACK's `dsyev`.
 *
 * @throws Error on a non-finite entry, or if an eigenvalue does not converge within `maxIterations`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { symmetricEigen } from "./linalg.ts";
 * const { values } = symmetricEigen({ rows: 2, cols: 2, data: new Float64Array([4, 1, 1, 3]) });
 * // (7 ∓ √5) / 2, ascending
 * assert.ok(Math.abs(values[0] - 2.381966) < 1e-6 && Math.abs(values[1] - 4.618034) < 1e-6);
 * ```
 */
export function symmetricEigen(a: Matrix, options: SymmetricEigenOptions = {}): SymmetricEigenResult {
  const n = checkSquare(a, "matrix");
  for (let i = 0; i < n * n; i++) {
    if (!Number.isFinite(a.data[i])) throw new Error(`symmetricEigen: non-finite entry ${a.data[i]} at ${i}`);
  }
  const work = Float64Array.from(a.data);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const h = new Float64Array(n);
  tridiagonalize(work, n, d, e, h);
  // Rows of `z` are eigenvectors of the tridiagonal matrix, rotated in place by the QL sweeps.
  let z: Float64Array | undefined;
  if (options.vectors) {
    z = new Float64Array(n * n);
    for (let i = 0; i < n; i++) z[i * n + i] = 1;
  }
  tridiagonalQL(d, e, z, n, options.maxIterations ?? 60);
  const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => d[p] - d[q]);
  const values = Float64Array.from(order, (i) => d[i]);
  if (!z) return { values };
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => vectors.set(z!.subarray(src * n, src * n + n), dst * n));
  applyReflectors(work, h, vectors, n);
  return { values, vectors };
}

/** Eigenvalues (ascending) of a real symmetric matrix: {@link symmetricEigen} without eigenvectors. */
export function symmetricEigenvalues(a: Matrix): Float64Array {
  return symmetricEigen(a).values;
}

/**
 * Householder reduction of the symmetric `a` (lower triangle, overwritten) to a tridiagonal matrix with diagonal
 * `d` and sub-diagonal `e` (`e[i]` couples rows `i−1` and `i`; `e[0] = 0`).
 *
 * Step `i` (from `n−1` down to 1) reflects rows and columns `0…i−1` with `P = I − u uᵀ / h` so that row `i`
 * becomes zero left of its sub-diagonal. `u` is left in row `i` of `a` (entries `0…i−1`) and `h` in `hs[i]`
 * (0: no reflection), for {@link applyReflectors}. `u` and `h` are both in units of the row's scale, which
 * cancels in `u uᵀ / h` and keeps the squares from overflowing.
 */
function tridiagonalize(
  a: Float64Array,
  n: number,
  d: Float64Array,
  e: Float64Array,
  hs: Float64Array,
): void {
  const p = new Float64Array(n);
  for (let i = n - 1; i >= 1; i--) {
    const l = i - 1;
    const row = i * n;
    let h = 0;
    let scale = 0;
    if (l > 0) { for (let k = 0; k <= l; k++) scale += Math.abs(a[row + k]); }
    if (l === 0 || scale === 0) {
      e[i] = a[row + l]; // already tridiagonal in this row
    } else {
      for (let k = 0; k <= l; k++) {
        a[row + k] /= scale;
        h += a[row + k] * a[row + k];
      }
      const f = a[row + l];
      const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h); // sign opposite to f: no cancellation in f − g
      e[i] = scale * g;
      h -= f * g; // = |u|² / 2
      a[row + l] = f - g; // u = a[row + 0…l]
      // p = A u / h over the leading (l+1)×(l+1) block, reading each lower-triangle row once.
      p.fill(0, 0, l + 1);
      for (let j = 0; j <= l; j++) {
        const rowJ = j * n;
        const uj = a[row + j];
        let s = 0;
        for (let k = 0; k < j; k++) {
          const ajk = a[rowJ + k];
          s += ajk * a[row + k];
          p[k] += ajk * uj;
        }
        p[j] += s + a[rowJ + j] * uj;
      }
      let up = 0;
      for (let j = 0; j <= l; j++) {
        p[j] /= h;
        up += p[j] * a[row + j];
      }
      // q = p − (uᵀp / 2h) u; then A ← A − u qᵀ − q uᵀ (lower triangle).
      const kk = up / (h + h);
      for (let j = 0; j <= l; j++) p[j] -= kk * a[row + j];
      for (let j = 0; j <= l; j++) {
        const rowJ = j * n;
        const uj = a[row + j];
        const qj = p[j];
        for (let k = 0; k <= j; k++) a[rowJ + k] -= uj * p[k] + qj * a[row + k];
      }
    }
    hs[i] = h;
  }
  e[0] = 0;
  hs[0] = 0;
  for (let i = 0; i < n; i++) d[i] = a[i * n + i];
}

/**
 * Eigenvalues of the symmetric tridiagonal matrix (`d`, `e` as from {@link tridiagonalize}) by implicit QL
 * iterations with Wilkinson shifts; `d` receives the eigenvalues (unsorted). When `z` is given, each plane
 * rotation is also applied to its rows, which turns the identity into the eigenvectors (as rows).
 */
function tridiagonalQL(
  d: Float64Array,
  e: Float64Array,
  z: Float64Array | undefined,
  n: number,
  maxIterations: number,
): void {
  // Renumber so that e[i] couples i and i+1.
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  if (n > 0) e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    for (;;) {
      // Find the first negligible off-diagonal element at or after l: the block l…m is unreduced.
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (++iterations > maxIterations) {
        throw new Error(`symmetricEigen: eigenvalue ${l} did not converge in ${maxIterations} QL iterations`);
      }
      // Wilkinson shift from the leading 2×2 block, folded into the first rotation's g.
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1, c = 1, p = 0;
      let i = m - 1;
      let deflated = false;
      for (; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // Underflow: the matrix splits here; undo the last shift and restart the sweep.
          d[i + 1] -= p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        if (z) rotateRows(z, n, i, c, s);
      }
      if (deflated) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
}

/** Rows `i`, `i+1` of `z` ← the plane rotation (c, s) of the QL sweep. */
function rotateRows(z: Float64Array, n: number, i: number, c: number, s: number): void {
  const r0 = i * n, r1 = r0 + n;
  for (let k = 0; k < n; k++) {
    const f = z[r1 + k];
    z[r1 + k] = s * z[r0 + k] + c * f;
    z[r0 + k] = c * z[r0 + k] - s * f;
  }
}

/**
 * Eigenvectors of `A` from those of its tridiagonal form: `v = P_{n−1} ⋯ P_1 w` for each row `w` of `vectors`,
 * with the reflectors `P_i = I − u_i u_iᵀ / h_i` left by {@link tridiagonalize}.
 */
function applyReflectors(a: Float64Array, hs: Float64Array, vectors: Float64Array, n: number): void {
  for (let v = 0; v < n; v++) {
    const o = v * n;
    for (let i = 1; i < n; i++) {
      const h = hs[i];
      if (h === 0) continue;
      const row = i * n;
      let dot = 0;
      for (let k = 0; k < i; k++) dot += a[row + k] * vectors[o + k];
      const f = dot / h;
      for (let k = 0; k < i; k++) vectors[o + k] -= f * a[row + k];
    }
  }
}

/** The result of {@link traceSqrtProduct}. */
export interface TraceSqrtResult {
  /** `tr √(S₁ S₂)`. */
  value: number;
  /** Numerical rank of `S₁` (the size of the symmetric problem that was solved). */
  rank: number;
  /** The most negative eigenvalue of `Lᵀ S₂ L` (0 if none); rounding makes tiny negative ones, which count as 0. */
  minEigenvalue: number;
  /** The largest eigenvalue of `Lᵀ S₂ L`. */
  maxEigenvalue: number;
}

/**
 * `tr √(S₁ S₂)` for symmetric positive semi-definite `n×n` matrices `S₁`, `S₂` (lower triangles read), in
 * float64: the sum of the square roots of the eigenvalues of `S₁ S₂`, found as those of the symmetric
 * `Lᵀ Pᵀ S₂ P L` where `Pᵀ S₁ P = L Lᵀ` ({@link pivotedCholesky}). Eigenvalues below zero (rounding) count as 0,
 * as the real part of scipy's `sqrtm` does. Cost for n = 2048: ≈ 1.5·10¹⁰ multiply-adds, tens of seconds.
 */
export function traceSqrtProduct(s1: Matrix, s2: Matrix): TraceSqrtResult {
  const n = checkSquare(s1, "S1");
  if (checkSquare(s2, "S2") !== n) {
    throw new Error(`traceSqrtProduct: S1 is ${n}×${n} but S2 is ${s2.rows}×${s2.rows}`);
  }
  const { rank, factor, perm } = pivotedCholesky(s1);
  if (rank === 0) return { value: 0, rank, minEigenvalue: 0, maxEigenvalue: 0 };
  const lt = transpose(factor); // Lᵀ [rank, n]; row c is zero before column c
  const s2p = zeros(n, n); // Pᵀ S₂ P
  const src = s2.data, dst = s2p.data;
  for (let i = 0; i < n; i++) {
    const pi = perm[i];
    for (let k = 0; k <= i; k++) {
      const pk = perm[k];
      const v = pi > pk ? src[pi * n + pk] : src[pk * n + pi];
      dst[i * n + k] = v;
      dst[k * n + i] = v;
    }
  }
  const b = multiplyABt(s2p, lt, { bUpper: true }); // B = Pᵀ S₂ P L  [n, rank]
  const m = multiplyABt(lt, transpose(b), { upper: true, aUpper: true }); // M = Lᵀ B  [rank, rank]
  const values = symmetricEigenvalues(mirrorUpper(m));
  let value = 0;
  for (const v of values) if (v > 0) value += Math.sqrt(v);
  return { value, rank, minEigenvalue: Math.min(0, values[0]), maxEigenvalue: values[rank - 1] };
}
