export { POINT_BYTES, type PsiDecryptor, type PsiEngine, type PublicKeys } from './psi-engine';
export type { BlindedGroup, CohortAggregate, CohortSets, GroupNoise, OutcomeReply } from './psi-messages';
export { CohortParty, type CohortPartyOptions } from './cohort-party';
export { OutcomeParty, type GroupRule, type OutcomePartyOptions } from './outcome-party';
export { checkTupleBytes, permuteRecords, tupleKeys } from './tuple-bytes';
