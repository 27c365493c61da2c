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
}

export interface LinkagePolicy {
  /** Largest set the other party of a private intersection-sum may present (default 1,000,000). */
  maxSetSize: number;
}

export const DEFAULT_LINKAGE_POLICY: LinkagePolicy = { maxSetSize: 1_000_000 };

export const DEFAULT_SDC_POLICY: SdcPolicy = { minPersons: 10, dominanceMaxShare: 0.9, rounding: 'none' };
