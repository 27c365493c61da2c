/**
 * The squared-norm ratio below which a column counts as collinear with the columns before it: pivot j of
 * the Cholesky factor of A = XᵀWX is the squared weighted norm of column j after projecting out columns
 * 0…j−1, and A_jj is its squared norm before, so pivot ≤ 1e-10·A_jj means less than 1e-5 of the column is
 * left (R² > 1 − 1e-10 against the earlier columns). Below that, the normal equations in double precision
 * carry no reliable digits for that coefficient.
 */
export const SINGULAR_PIVOT_RATIO = 1e-10;

/** The lower-triangular Cholesky factor L (row-major p × p, A = LLᵀ), or the first column found collinear. */
export type CholeskyOutcome = { lower: Float64Array } | { singularColumn: number };

/** Index of (i, j), i ≤ j, in the row-major packed upper triangle of a p × p symmetric matrix. */
export function packedIndex(i: number, j: number, p: number): number {
  return i * p - (i * (i - 1)) / 2 + (j - i);
}

/** Number of entries of the packed upper triangle of a p × p symmetric matrix. */
export function packedLength(p: number): number {
  return (p * (p + 1)) / 2;
}

/**
 * The Cholesky–Banachiewicz factorisation of the symmetric matrix given as its packed upper triangle.
 * Reports the first column whose pivot is not above {@link SINGULAR_PIVOT_RATIO} times its diagonal entry
 * (or is not finite) instead of factorising a singular matrix.
 */
export function choleskyDecompose(packed: ArrayLike<number>, p: number): CholeskyOutcome {
  const lower = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    const diagonal = packed[packedIndex(j, j, p)];
    let pivot = diagonal;
    for (let k = 0; k < j; k++) pivot -= lower[j * p + k] * lower[j * p + k];
    if (!(diagonal > 0) || !(pivot > SINGULAR_PIVOT_RATIO * diagonal) || !Number.isFinite(pivot)) {
      return { singularColumn: j };
    }
    const root = Math.sqrt(pivot);
    lower[j * p + j] = root;
    for (let i = j + 1; i < p; i++) {
      let value = packed[packedIndex(j, i, p)];
      for (let k = 0; k < j; k++) value -= lower[i * p + k] * lower[j * p + k];
      lower[i * p + j] = value / root;
    }
  }
  return { lower };
}

/** Solves LLᵀx = b by forward and back substitution. */
export function choleskySolve(lower: Float64Array, p: number, b: ArrayLike<number>): number[] {
  const y = new Array<number>(p);
  for (let i = 0; i < p; i++) {
    let value = b[i];
    for (let k = 0; k < i; k++) value -= lower[i * p + k] * y[k];
    y[i] = value / lower[i * p + i];
  }
  const x = new Array<number>(p);
  for (let i = p - 1; i >= 0; i--) {
    let value = y[i];
    for (let k = i + 1; k < p; k++) value -= lower[k * p + i] * x[k];
    x[i] = value / lower[i * p + i];
  }
  return x;
}

/** The inverse (LLᵀ)⁻¹ as a row-major p × p matrix, one solve per unit vector. */
export function choleskyInverse(lower: Float64Array, p: number): Float64Array {
  const inverse = new Float64Array(p * p);
  const unit = new Array<number>(p).fill(0);
  for (let j = 0; j < p; j++) {
    unit[j] = 1;
    const column = choleskySolve(lower, p, unit);
    unit[j] = 0;
    for (let i = 0; i < p; i++) inverse[i * p + j] = column[i];
  }
  return inverse;
}

/**
 * The symmetric matrix given as its packed upper triangle with every eigenvalue below `floor` raised to
 * `floor` (cyclic Jacobi rotations to convergence, then V·max(Λ, floor)·Vᵀ), packed again; the matrix
 * itself when no eigenvalue is below the floor. Used on noisy XᵀWX: the nearest matrix, in every
 * direction, whose eigenvalues the noise cannot have pushed below `floor`.
 */
export function floorEigenvalues(packed: ArrayLike<number>, p: number, floor: number): number[] {
  const a = new Float64Array(p * p);
  for (let i = 0; i < p; i++) for (let j = i; j < p; j++) a[i * p + j] = a[j * p + i] = packed[packedIndex(i, j, p)];
  const v = new Float64Array(p * p);
  for (let i = 0; i < p; i++) v[i * p + i] = 1;
  const scale = Math.max(...Array.from({ length: p }, (_, i) => Math.abs(a[i * p + i])), Number.MIN_VALUE);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < p; i++) for (let j = i + 1; j < p; j++) off += a[i * p + j] ** 2;
    if (!(off > (1e-15 * scale) ** 2)) break;
    for (let q = 0; q < p; q++) {
      for (let r = q + 1; r < p; r++) {
        const aqr = a[q * p + r];
        if (aqr === 0) continue;
        const theta = (a[r * p + r] - a[q * p + q]) / (2 * aqr);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < p; k++) {
          const akq = a[k * p + q];
          const akr = a[k * p + r];
          a[k * p + q] = c * akq - s * akr;
          a[k * p + r] = s * akq + c * akr;
        }
        for (let k = 0; k < p; k++) {
          const aqk = a[q * p + k];
          const ark = a[r * p + k];
          a[q * p + k] = c * aqk - s * ark;
          a[r * p + k] = s * aqk + c * ark;
        }
        for (let k = 0; k < p; k++) {
          const vkq = v[k * p + q];
          const vkr = v[k * p + r];
          v[k * p + q] = c * vkq - s * vkr;
          v[k * p + r] = s * vkq + c * vkr;
        }
      }
    }
  }
  const values = Array.from({ length: p }, (_, i) => a[i * p + i]);
  const out = Array.from({ length: packedLength(p) }, (_, k) => packed[k]);
  if (values.every((e) => e >= floor)) return out;
  for (let i = 0; i < p; i++) {
    for (let j = i; j < p; j++) {
      let sum = 0;
      for (let k = 0; k < p; k++) sum += v[i * p + k] * Math.max(values[k], floor) * v[j * p + k];
      out[packedIndex(i, j, p)] = sum;
    }
  }
  return out;
}
