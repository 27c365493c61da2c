import { logGamma } from './distributions';

/** The GLM families fedlab fits, each with its canonical link: identity, logit and log. */
export type GlmFamily = 'gaussian' | 'binomial' | 'poisson';

/** The canonical link of each family. */
export const CANONICAL_LINKS = {
  gaussian: 'identity',
  binomial: 'logit',
  poisson: 'log',
} as const satisfies Record<GlmFamily, string>;

/** Returns true when `value` is one of the supported GLM families. */
export function isGlmFamily(value: unknown): value is GlmFamily {
  return value === 'gaussian' || value === 'binomial' || value === 'poisson';
}

/** The quantities of one row at a linear predictor η, as R's `glm.fit` forms them. */
export interface RowFit {
  /** The mean μ = g⁻¹(η). */
  mu: number;
  /** The IRLS weight W = (dμ/dη)² / V(μ). */
  weight: number;
  /** The working response z = η + (y − μ) / (dμ/dη). */
  working: number;
}

// R's family objects clamp the inverse logit and log links so that μ stays strictly inside the valid range
// (family.c: THRESH = 30, DBL_EPSILON; poisson()$linkinv = pmax(exp(eta), .Machine$double.eps)).
const DBL_EPSILON = 2.220446049250313e-16;
const LOGIT_THRESHOLD = 30;

/** μ, the IRLS weight and the working response of one row at η, or null when μ is not finite. */
export function fitRow(family: GlmFamily, y: number, eta: number): RowFit | null {
  switch (family) {
    case 'gaussian':
      if (!Number.isFinite(eta)) return null;
      return { mu: eta, weight: 1, working: y };
    case 'binomial': {
      if (Number.isNaN(eta)) return null;
      const expEta = eta < -LOGIT_THRESHOLD ? DBL_EPSILON : eta > LOGIT_THRESHOLD ? 1 / DBL_EPSILON : Math.exp(eta);
      const mu = expEta / (1 + expEta);
      const onePlus = 1 + Math.exp(eta);
      const muEta = eta > LOGIT_THRESHOLD || eta < -LOGIT_THRESHOLD ? DBL_EPSILON : Math.exp(eta) / (onePlus * onePlus);
      const variance = mu * (1 - mu);
      return { mu, weight: (muEta * muEta) / variance, working: eta + (y - mu) / muEta };
    }
    case 'poisson': {
      const mu = Math.max(Math.exp(eta), DBL_EPSILON);
      if (!Number.isFinite(mu)) return null;
      return { mu, weight: mu, working: eta + (y - mu) / mu };
    }
  }
}

/** R's starting values `mustart`: binomial (y + ½)/2, poisson y + 0.1, gaussian y; and η = g(μ). */
export function startingEta(family: GlmFamily, y: number): number {
  switch (family) {
    case 'gaussian':
      return y;
    case 'binomial': {
      const mu = (y + 0.5) / 2;
      return Math.log(mu / (1 - mu));
    }
    case 'poisson':
      return Math.log(y + 0.1);
  }
}

/** y·ln(y/μ), taken as 0 when y = 0 (R's y_log_y). */
function yLogYOverMu(y: number, mu: number): number {
  return y > 0 ? y * Math.log(y / mu) : 0;
}

/** The unit deviance d(y, μ) of one row (R's `family$dev.resids` with weight 1). */
export function unitDeviance(family: GlmFamily, y: number, mu: number): number {
  switch (family) {
    case 'gaussian':
      return (y - mu) * (y - mu);
    case 'binomial':
      return 2 * (yLogYOverMu(y, mu) + yLogYOverMu(1 - y, 1 - mu));
    case 'poisson':
      return 2 * (yLogYOverMu(y, mu) - (y - mu));
  }
}

/**
 * −2 × the log-likelihood of one row at μ for the families without a dispersion parameter (R's
 * `family$aic` summand): binomial −2·ln dbinom(y; 1, μ), poisson −2·ln dpois(y; μ) = −2(y ln μ − μ − ln y!).
 * The gaussian AIC needs the pooled deviance instead, so its row term is 0.
 */
export function minusTwoLogLikelihood(family: GlmFamily, y: number, mu: number): number {
  switch (family) {
    case 'gaussian':
      return 0;
    case 'binomial':
      return -2 * (y === 1 ? Math.log(mu) : Math.log(1 - mu));
    case 'poisson':
      return -2 * ((y > 0 ? y * Math.log(mu) : 0) - mu - logGamma(y + 1));
  }
}
