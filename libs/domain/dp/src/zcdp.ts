import { compareRational, rational, rationalFromNumber, rationalToNumber, type Rational } from './rational';

/*
 * Privacy accounting in ρ-zero-concentrated differential privacy (zCDP): Bun & Steinke,
 * "Concentrated Differential Privacy: Simplifications, Extensions, and Lower Bounds", TCC 2016,
 * arXiv:1605.02065 (BS16). Adding N(0, σ²) (BS16 Proposition 1.6) — or the discrete Gaussian
 * N_Z(0, σ²), which has the same guarantee (CKS20) — to a query of L2 sensitivity Δ is ρ-zCDP with
 * ρ = Δ²/(2σ²); mechanisms compose by adding their ρ (BS16 Lemma 1.7).
 */

function checkSensitivitySquared(caller: string, sensitivitySquared: number): void {
  if (!Number.isFinite(sensitivitySquared) || sensitivitySquared < 0) {
    throw new RangeError(`${caller}: sensitivitySquared must be a finite number of at least 0, got ${sensitivitySquared}`);
  }
}

function checkPositive(caller: string, name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${caller}: ${name} must be a positive finite number, got ${value}`);
}

/** The smallest double above a positive finite `x`. */
function nextUp(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}

/** The smallest double ≥ the non-negative rational `r` (Infinity beyond the largest double). */
function roundUp(r: Rational): number {
  const x = rationalToNumber(r);
  if (x === Infinity || compareRational(rationalFromNumber(x), r) >= 0) return x;
  return x === 0 ? Number.MIN_VALUE : nextUp(x);
}

/**
 * The noise variance σ² = Δ²/(2ρ) of the (discrete) Gaussian mechanism that is ρ-zCDP for a query
 * of squared L2 sensitivity Δ², computed exactly from the two doubles as a reduced rational — what
 * `sampleDiscreteGaussian` takes — so the noise is never smaller than the accounting claims.
 * Δ² = 0 gives σ² = 0: the query reveals nothing about any one person and needs no noise (the
 * sampler refuses σ² = 0). Throws a `RangeError` unless Δ² is finite and ≥ 0 and ρ is finite and > 0.
 */
export function gaussianSigma2(sensitivitySquared: number, rho: number): Rational {
  checkSensitivitySquared('gaussianSigma2', sensitivitySquared);
  checkPositive('gaussianSigma2', 'rho', rho);
  const d = rationalFromNumber(sensitivitySquared);
  const r = rationalFromNumber(rho);
  return rational(d.num * r.den, 2n * d.den * r.num);
}

/**
 * The ρ = Δ²/(2σ²) of adding N_Z(0, σ²) to a query of squared L2 sensitivity Δ² (CKS20),
 * computed exactly and rounded up to a double, so it never understates the privacy loss. Throws a
 * `RangeError` unless Δ² is finite and ≥ 0 and σ² is finite and > 0.
 */
export function gaussianRho(sensitivitySquared: number, sigma2: number): number {
  checkSensitivitySquared('gaussianRho', sensitivitySquared);
  checkPositive('gaussianRho', 'sigma2', sigma2);
  const d = rationalFromNumber(sensitivitySquared);
  const s = rationalFromNumber(sigma2);
  return roundUp({ num: d.num * s.den, den: 2n * d.den * s.num });
}

/**
 * The ρ to spend so that the Gaussian noise has standard deviation `standardError`:
 * Δ²/(2·se²), the inverse of {@link gaussianSigma2} (which then returns σ² = se² up to one rounding
 * of ρ). The discrete Gaussian's actual standard deviation is √Var[N_Z(0, se²)], slightly below se
 * (noticeably only for se < 1). Throws a `RangeError` unless Δ² is finite and ≥ 0 and the standard
 * error is finite and > 0.
 */
export function rhoForStandardError(sensitivitySquared: number, standardError: number): number {
  checkSensitivitySquared('rhoForStandardError', sensitivitySquared);
  checkPositive('rhoForStandardError', 'standardError', standardError);
  const d = rationalFromNumber(sensitivitySquared);
  const se = rationalFromNumber(standardError);
  return rationalToNumber({ num: d.num * se.den * se.den, den: 2n * d.den * se.num * se.num });
}

/**
 * The ρ of running mechanisms that are ρ₁-, ρ₂-, … zCDP on the same data: Σρᵢ (BS16 Lemma 1.7),
 * summed exactly and rounded up. 0 for no mechanisms. Throws a `RangeError` naming the first ρ that
 * is not finite and ≥ 0.
 */
export function composeRho(rhos: readonly number[]): number {
  let sum: Rational = { num: 0n, den: 1n };
  rhos.forEach((rho, i) => {
    if (!Number.isFinite(rho) || rho < 0) throw new RangeError(`composeRho: rhos[${i}] must be a finite number of at least 0, got ${rho}`);
    const r = rationalFromNumber(rho);
    sum = rational(sum.num * r.den + r.num * sum.den, sum.den * r.den);
  });
  return roundUp(sum);
}

function checkConversion(caller: string, rho: number, delta: number): void {
  if (!Number.isFinite(rho) || rho < 0) throw new RangeError(`${caller}: rho must be a finite number of at least 0, got ${rho}`);
  if (!(delta > 0 && delta < 1)) throw new RangeError(`${caller}: delta must be in (0, 1), got ${delta}`);
}

/**
 * ε such that ρ-zCDP implies (ε, δ)-DP by the standard bound ε = ρ + 2√(ρ·ln(1/δ)) (BS16
 * Proposition 1.3). Throws a `RangeError` unless ρ is finite and ≥ 0 and 0 < δ < 1.
 */
export function zcdpToApproxDpSimple(rho: number, delta: number): number {
  checkConversion('zcdpToApproxDpSimple', rho, delta);
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

/**
 * ε such that ρ-zCDP implies (ε, δ)-DP by the tighter conversion of CKS20 (Proposition 12 /
 * Corollary 13): ε = inf over α > 1 of αρ + (ln(1/δ) − ln α)/(α − 1) + ln(1 − 1/α). The infimum is
 * at the unique root of its derivative, (α − 1)²ρ = ln(1/δ) − ln α, found by bisection; the bound
 * holds at every α > 1, so a numerically imperfect α only makes ε slightly larger, never invalid.
 * Never above {@link zcdpToApproxDpSimple}. 0 for ρ = 0. Throws a `RangeError` unless ρ is finite
 * and ≥ 0 and 0 < δ < 1.
 */
export function zcdpToApproxDp(rho: number, delta: number): number {
  checkConversion('zcdpToApproxDp', rho, delta);
  if (rho === 0) return 0;
  const logInverseDelta = -Math.log(delta);
  const epsilonAt = (alpha: number) => alpha * rho + (logInverseDelta - Math.log(alpha)) / (alpha - 1) + Math.log1p(-1 / alpha);
  // At α = 1 + √(ln(1/δ)/ρ) (the simple bound's optimum) the derivative is ln α > 0.
  const simpleAlpha = 1 + Math.sqrt(logInverseDelta / rho);
  let low = 1;
  let high = simpleAlpha;
  for (let i = 0; i < 200 && high - low > 1e-15 * high; i += 1) {
    const mid = (low + high) / 2;
    if ((mid - 1) ** 2 * rho < logInverseDelta - Math.log(mid)) low = mid;
    else high = mid;
  }
  return Math.max(0, Math.min(epsilonAt(high), epsilonAt(simpleAlpha)));
}
