export { computeKeys, recipeFingerprint, selectRecipes, KEY_PART_SEPARATOR, KEY_ALGORITHM_VERSION } from './key-recipe';
export { matchTuples, type KeyTuple } from './tuple-matching';
export { soundex, nysiis, NYSIIS_DEFAULT_LENGTH } from './phonetic';
export { normaliseText, normaliseAscii, onlyDigits, parseCivilDate, type CivilDate } from './normalise';
export { canonicalGivenName, NICKNAME_GROUPS } from './nicknames';
