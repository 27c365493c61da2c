import type { AnalysisKind, Purpose } from './query';

/** Floors that no node policy may go below (DESIGN.md §5). */
export const SDC_FLOORS = { minPersons: 3, dominanceMaxShare: 0.9 } as const;

/** Disclosure-control settings of one node. */
export interface SdcPolicy {
  /** Minimum distinct persons behind any released cell (default 10, floor 3). */
  minPersons: number;
  /** Dominance (n=2,k): the two largest contributors may hold at most this share of a cell total (default 0.9). */
  dominanceMaxShare: number;
  /** Random rounding of released counts to base 5. */
  rounding: 'none' | 'random5';
}

export interface DatasetPolicy {
  purposes: Purpose[];
}

/** A node's steward policy (DESIGN.md §5). Missing policy means the node answers nothing. */
export interface NodePolicy {
  sdc: SdcPolicy;
  /** Analysis kinds this node answers at all (projects may be approved for fewer). */
  analyses: AnalysisKind[];
  datasets: Record<string, DatasetPolicy>;
  /** Linkage studies (DESIGN.md §7.4). */
  linkage: LinkagePolicy;
  /** Impact evaluations (DESIGN.md §7.5); null: this node runs none. */
  evaluation: EvaluationPolicy | null;
  /** Differential-privacy budgets (DESIGN.md §5 "Privacy model"). */
  privacy: PrivacyPolicy;
}

/**
 * The steward's defaults and ceilings for privacy budgets, in ρ of zero-concentrated differential
 * privacy (Bun & Steinke 2016). A project's budget per dataset is what its approval here grants,
 * or `defaultProjectRho` when the approval names none.
 */
export interface PrivacyPolicy {
  /** Budget per project and dataset when the approval grants none explicitly. */
  defaultProjectRho: number;
  /** The most an approval may grant per project and dataset. */
  maxProjectRho: number;
  /** The most one query may spend (an approval may set a lower cap). */
  maxQueryRho: number;
  /** δ for the (ε, δ) figure shown beside ρ in reports (ρ-zCDP implies (ε, δ)-DP for every δ > 0). */
  reportDelta: number;
  /**
   * Pooled queries: how many of the other nodes of a secure-aggregation session this node assumes may
   * collude with the coordinator when it sizes its share of the noise (docs/privacy.md). Unset: the most
   * the session's threshold tolerates, and at least one.
   */
  colludingNodes?: number;
}

export const DEFAULT_PRIVACY_POLICY: PrivacyPolicy = { defaultProjectRho: 1, maxProjectRho: 5, maxQueryRho: 1, reportDelta: 1e-6 };

/** The dataset columns an evaluation reads, by role. Defaults are the synthetic Justice dataset's names. */
export interface EvaluationColumns {
  surname: string;
  forename: string;
  dateOfBirth: string;
  sex: string;
  region: string;
  offenceDate: string;
  offenceType: string;
  convicted: string;
  sentence: string;
  releaseDate: string;
  employed: string;
  incomeSupport: string;
}

export const DEFAULT_EVALUATION_COLUMNS: EvaluationColumns = {
  surname: 'surname',
  forename: 'given_name',
  dateOfBirth: 'birth_date',
  sex: 'sex',
  region: 'region',
  offenceDate: 'offence_date',
  offenceType: 'offence_type',
  convicted: 'convicted',
  sentence: 'sentence',
  releaseDate: 'release_date',
  employed: 'employed',
  incomeSupport: 'income_support',
};

/** The steward's standing approval of the Justice Data Lab service at this node. */
export interface EvaluationPolicy {
  /** The offence dataset evaluations run against. */
  dataset: string;
  /** Organisations (roster ids) that may submit; null: every organisation on the roster. */
  organisations: string[] | null;
  /** Days the uploaded list and matched cohort are kept after the report (0: deleted when it is produced). */
  retentionDays: number;
  /** At least this many people in the final treatment group (JDL: 60; never below 60). */
  minCohort: number;
  /** A resubmission must differ from every earlier treatment group of the organisation by at least this many persons. */
  minDifference: number;
  /** Follow-up after the index date (days). */
  followUpDays: number;
  /** A release counts as the index event from this many days before the intervention start. */
  indexWindowDays: number;
  /** The sentence value that means custody. */
  custodyValue: string;
  /** Privacy budget (ρ) each organisation may spend on evaluations at this node (docs/privacy.md "Impact evaluations"). */
  rhoPerOrganisation: number;
  /** ρ one evaluation spends. */
  rhoPerEvaluation: number;
  columns: EvaluationColumns;
}

export const DEFAULT_EVALUATION_POLICY: Omit<EvaluationPolicy, 'dataset'> = {
  organisations: null,
  retentionDays: 0,
  minCohort: 60,
  minDifference: 10,
  followUpDays: 365,
  indexWindowDays: 90,
  custodyValue: 'custody',
  rhoPerOrganisation: 2,
  rhoPerEvaluation: 0.5,
  columns: DEFAULT_EVALUATION_COLUMNS,
};

export interface LinkagePolicy {
  /** Largest set the other party of a private intersection-sum may present (default 1,000,000). */
  maxSetSize: number;
}

export const DEFAULT_LINKAGE_POLICY: LinkagePolicy = { maxSetSize: 1_000_000 };

export const DEFAULT_SDC_POLICY: SdcPolicy = { minPersons: 10, dominanceMaxShare: 0.9, rounding: 'none' };
