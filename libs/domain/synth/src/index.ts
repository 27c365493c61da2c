export { CLIENT_LIST_PATH, generateSynthetic, TRUTH_EFFECTS_PATH, TRUTH_PERSONS_PATH, TRUTH_PERSON_COLUMNS, type SynthFile } from './generate-synthetic';
export { compileSynthOptions, SYNTH_DEFAULTS, type SynthContext, type SynthOptions } from './synth-options';
export { SYNTH_EFFECTS, REGIONS, type Region, type SynthEffects } from './effects';
export {
  SYNTH_DATASETS,
  SYNTH_SCHEMAS,
  HEALTH_VISITS_SCHEMA,
  EDUCATION_ENROLMENTS_SCHEMA,
  INCOME_SUPPORT_SCHEMA,
  JUSTICE_OFFENCES_SCHEMA,
  ICD10_CODES,
  OFFENCE_TYPES,
  SENTENCES,
  PROGRAMS,
  SCHOOL_BOARDS,
  type SynthDataset,
  type SynthNode,
} from './synth-schemas';
export { MODEL_COVARIATES, MODEL_RESPONSE_BOUNDS, modelRows, type ModelFamily, type ModelRows } from './model-population';
export { seededRandom } from './prng';
