/**
 * The known effects built into the synthetic population. Every outcome is drawn from an additive
 * risk model: the probability is `base + Σ effect` for the person's covariates (clamped to [0, 1]), so
 * each effect is a risk difference a federated analysis should recover. The generator reads its
 * parameters from here and writes this object to `truth/effects.json`, so documentation, data and
 * tests cannot drift apart.
 *
 * Time frame: the observation window runs from 1 January of (reference year − 11) to the day before
 * the reference date (2015-01-01 … 2025-12-31 for the default reference date 2026-01-01). People are
 * born between 1 January of (reference year − 76) and 31 December of (reference year − 6).
 */
export const SYNTH_EFFECTS = {
  /** Years of records before the reference year. */
  windowYears: 11,
  /** Oldest and youngest birth year, relative to the reference year. */
  birthYearsBeforeReference: { oldest: 76, youngest: 6 },
  /** Share of persons in each region (quasi-identifier). */
  regionShares: { north: 0.15, south: 0.2, east: 0.175, west: 0.175, central: 0.3 },
  /** Share of females; sex is F or M. */
  femaleShare: 0.5,
  /**
   * Probability of Fetal Alcohol Spectrum Disorder. Every person with FASD has at least one Health
   * visit coded Q86.0; nobody else has one.
   */
  fasdPrevalence: 0.01,
  /**
   * Health visits: a Poisson number of visits over the person's time in the window at a yearly rate of
   * `base + perYearOfAgeAtReference × age + fasd`; a person with FASD has one extra diagnosis visit
   * coded Q86.0 and, with probability `fasdFollowUpShare`, a follow-up visit with the same code. A visit
   * is a hospital stay with probability `base + perYearOfAge × age` (× `fractureMultiplier` for S52.5;
   * never for Z00.0 or Q86.0).
   */
  healthVisits: {
    visitsPerYear: { base: 0.25, perYearOfAgeAtReference: 0.006, fasd: 0.4 },
    fasdFollowUpShare: 0.3,
    hospital: { base: 0.05, perYearOfAge: 0.002, fractureMultiplier: 3 },
  },
  /**
   * High-school completion for students whose completion is observable (born ≤ reference year − 20):
   * P(completed) = base + effects. About 10 % of completers finish one year late.
   */
  highSchoolCompletion: {
    base: 0.86,
    fasd: -0.35,
    male: -0.06,
    region: { north: -0.08, south: 0, east: 0.02, west: 0, central: 0.03 },
    lateCompletionShare: 0.1,
  },
  /** Achievement score (0–100, normal, clamped): mean = base + effects, standard deviation `sd`. */
  achievementScore: {
    base: 71,
    fasd: -12,
    male: -3,
    region: { north: -4, south: 0, east: 1, west: 0, central: 2 },
    sd: 12,
    missingShare: 0.05,
  },
  /** Share of school-age persons absent from the public enrolment register (private or home school). */
  educationNonCoverage: 0.02,
  /**
   * Human Services programs. `income_support`: P(any spell) for adults with a full window of
   * adulthood; scaled by the fraction of the window the person is 18 or older.
   * `child_support`: P(any spell) for children under 18 through the whole window; scaled by the
   * fraction of the window spent under 18. `disability_services`: P(any spell), not scaled.
   */
  humanServices: {
    income_support: { base: 0.08, fasd: 0.15, female: 0.02, region: { north: 0.04, south: 0, east: 0, west: 0, central: -0.01 } },
    child_support: { base: 0.04, fasd: 0.12 },
    disability_services: { base: 0.01, fasd: 0.3 },
  },
  /**
   * Offending: P(at least one offence in the window) for persons aged 12 or more through the whole
   * window; scaled by the fraction of the window the person is 12 or older.
   */
  offending: {
    base: 0.06,
    fasd: 0.15,
    male: 0.08,
    region: { north: 0.02, south: 0, east: 0, west: 0, central: 0 },
    aged50AtReference: -0.03,
  },
  /**
   * Reoffending: after each offence the person is at risk from the release date (custody) or the
   * offence date (otherwise). P(a new offence within 365 days) = base + effects; otherwise a new
   * offence follows 366–1460 days later with probability `laterShare`. At most `maxOffences`.
   */
  reoffending: {
    base: 0.3,
    fasd: 0.1,
    male: 0.06,
    under25AtRisk: 0.05,
    reentryProgram: -0.12,
    laterShare: 0.2,
    maxOffences: 12,
  },
  /** P(convicted) per offence, and sentence shares of convictions before custody adjustments. */
  conviction: { convicted: 0.7, custodyBase: 0.2, custodyPerPriorOffence: 0.05, custodyMax: 0.55, assaultCustody: 0.1 },
  /**
   * The re-entry program: at a person's first custody release in the window that is at least 366
   * days before the reference date (the index release), P(participates) = base + effects. Participation
   * changes the one-year reoffending probability after that release by `reoffending.reentryProgram`.
   */
  reentrySelection: { base: 0.25, female: 0.1, under25AtRelease: 0.1 },
  /**
   * Identifier noise per ministry record, relative to the Health registration (the clean identity in
   * `truth/persons.csv`). Rates are per person and ministry: `nickname` applies to given names that
   * have a nickname; `dayMonthSwap` to birth dates whose day is ≤ 12 and differs from the month;
   * `asciiFold` to names with accents (systems that drop them); `healthNumberTypo` to recorded numbers.
   */
  identifierNoise: {
    education: { nickname: 0.05, givenNameTypo: 0.02, surnameTypo: 0.02, asciiFold: 0.3, dayMonthSwap: 0.02, healthNumberMissing: 0.1, healthNumberTypo: 0.01 },
    human_services: {
      nickname: 0.08,
      givenNameTypo: 0.03,
      surnameTypo: 0.03,
      asciiFold: 0.5,
      dayMonthSwap: 0.03,
      healthNumberMissing: 0.05,
      healthNumberTypo: 0.01,
    },
    justice: { nickname: 0.15, givenNameTypo: 0.04, surnameTypo: 0.04, asciiFold: 0.6, dayMonthSwap: 0.03, healthNumberMissing: 0.2, healthNumberTypo: 0.02 },
    /** The re-entry organisation's own client records (it keeps no health numbers). */
    organisation: { nickname: 0.2, givenNameTypo: 0.03, surnameTypo: 0.03, asciiFold: 0.5, dayMonthSwap: 0.02, healthNumberMissing: 1, healthNumberTypo: 0 },
  },
  /**
   * Employment recorded by Justice at each offence: P(employed) = base + effects, clamped. Drawn from its
   * own random stream, so it changes no other draw. It does not change any outcome: a covariate only.
   */
  employment: { base: 0.5, under25: -0.15, perPriorOffence: -0.04, female: 0.05 },
  /**
   * The re-entry organisation's client list (`organisation/reentry_clients.csv`): every participant, with
   * an intervention from up to `inReachDays` before the index release to 30–`maxAfterDays` days after
   * it, plus `strangerShare` × participants people who have no Justice record (the organisation also
   * serves people never convicted), so the match report loses some at the matching stage.
   */
  clientList: { inReachDays: 60, minAfterDays: 30, maxAfterDays: 180, strangerShare: 0.03 },
} as const;

/** The type of {@link SYNTH_EFFECTS}. */
export type SynthEffects = typeof SYNTH_EFFECTS;

/** Regions of the synthetic province. */
export const REGIONS = ['north', 'south', 'east', 'west', 'central'] as const;
/** A region of the synthetic province. */
export type Region = (typeof REGIONS)[number];

/** Ministries other than Health, whose identifiers carry noise. */
export type NoisyMinistry = keyof SynthEffects['identifierNoise'];

/** Clamps a probability to [0, 1]. */
export function clampProbability(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}
