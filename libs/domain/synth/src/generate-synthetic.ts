import type { DatasetSchema } from '@fedlab/model';
import { stringify } from 'yaml';
import { ageOn, formatDay } from './civil-date';
import { CsvBuilder } from './csv';
import { drawEducation } from './education-model';
import { SYNTH_EFFECTS, type NoisyMinistry } from './effects';
import { drawHealthVisits } from './health-visits';
import { drawSpells } from './human-services-model';
import { recordIdentity, type RecordedIdentity } from './identifier-noise';
import { drawOffences } from './justice-model';
import { createIdentifierIssuers, drawPerson, type Person } from './population';
import { createRng } from './prng';
import {
  columnNames,
  EDUCATION_ENROLMENTS_SCHEMA,
  HEALTH_VISITS_SCHEMA,
  INCOME_SUPPORT_SCHEMA,
  JUSTICE_OFFENCES_SCHEMA,
  SYNTH_DATASETS,
  type SynthDataset,
} from './synth-schemas';
import { compileSynthOptions, type SynthContext, type SynthOptions } from './synth-options';

/** One generated file: a path relative to the output folder and its UTF-8 text. */
export interface SynthFile {
  path: string;
  content: string;
}

/** Path of the ground-truth person table (for tests only; no node ever imports it). */
export const TRUTH_PERSONS_PATH = 'truth/persons.csv';
/** Path of the ground-truth effects description. */
export const TRUTH_EFFECTS_PATH = 'truth/effects.json';

/**
 * Columns of `truth/persons.csv`, one row per latent person: the latent id, every ministry's local id
 * (empty when the person has no record there), the clean registered identity, covariates and the
 * outcomes tests recompute federated answers from. Booleans are `true`/`false`.
 */
export const TRUTH_PERSON_COLUMNS = [
  'person_id',
  'health_number',
  'student_id',
  'client_id',
  'offender_id',
  'surname',
  'given_name',
  'birth_date',
  'sex',
  'birth_year',
  'region',
  'fasd',
  'health_visits',
  'completed_high_school',
  'completion_year',
  'any_income_support',
  'any_child_support',
  'any_disability_services',
  'offences',
  'any_offence',
  'any_offence_by_18',
  'first_offence_date',
  'index_release_date',
  'reentry_program',
  'reoffended_within_1y',
] as const;

function cleanIdentity(person: Person): RecordedIdentity {
  return { surname: person.surname, givenName: person.givenName, birthDay: person.birthDay, healthNumber: person.healthNumber };
}

function createPopulation(context: SynthContext): Person[] {
  const issue = createIdentifierIssuers(context.seed);
  const persons: Person[] = new Array(context.persons);
  for (let i = 0; i < context.persons; i += 1) {
    const person = drawPerson(context, i, issue.health());
    person.education = drawEducation(context, person, createRng(context.seed, 'education', i));
    person.spells = drawSpells(context, person, createRng(context.seed, 'human_services', i));
    person.offences = drawOffences(context, person, createRng(context.seed, 'justice', i));
    if (person.education) person.studentId = issue.student();
    if (person.spells.length > 0) person.clientId = issue.client();
    if (person.offences.length > 0) person.offenderId = issue.offender();
    persons[i] = person;
  }
  return persons;
}

/** Surname, given name, birth date, sex, birth year and region: the columns every dataset shares. */
function identityCells(identity: RecordedIdentity, person: Person): Array<string | number> {
  const birthDate = formatDay(identity.birthDay);
  return [identity.surname, identity.givenName, birthDate, person.sex, Number(birthDate.slice(0, 4)), person.region];
}

function noisyIdentity(context: SynthContext, ministry: NoisyMinistry, person: Person): RecordedIdentity {
  return recordIdentity(createRng(context.seed, `${ministry}/identity`, person.index), cleanIdentity(person), SYNTH_EFFECTS.identifierNoise[ministry]);
}

function healthCsv(context: SynthContext, persons: Person[], visitCounts: Uint16Array): string {
  const csv = new CsvBuilder(columnNames(HEALTH_VISITS_SCHEMA));
  for (const person of persons) {
    const visits = drawHealthVisits(context, person, createRng(context.seed, 'health', person.index));
    visitCounts[person.index] = visits.length;
    if (visits.length === 0) continue;
    const prefix = [person.healthNumber, ...identityCells(cleanIdentity(person), person)];
    for (const visit of visits) {
      csv.add([...prefix, formatDay(visit.day), visit.setting, visit.icd10, visit.cost, visit.lengthOfStay]);
    }
  }
  return csv.toString();
}

function educationCsv(context: SynthContext, persons: Person[]): string {
  const csv = new CsvBuilder(columnNames(EDUCATION_ENROLMENTS_SCHEMA));
  for (const person of persons) {
    const record = person.education;
    if (!record) continue;
    const identity = noisyIdentity(context, 'education', person);
    csv.add([
      person.studentId,
      identity.healthNumber,
      ...identityCells(identity, person),
      record.schoolBoard,
      record.gradeLevel,
      record.achievementScore,
      record.completedHighSchool,
      record.completionYear,
    ]);
  }
  return csv.toString();
}

function incomeSupportCsv(context: SynthContext, persons: Person[]): string {
  const csv = new CsvBuilder(columnNames(INCOME_SUPPORT_SCHEMA));
  for (const person of persons) {
    if (person.spells.length === 0) continue;
    const identity = noisyIdentity(context, 'human_services', person);
    const prefix = [person.clientId, identity.healthNumber, ...identityCells(identity, person)];
    for (const spell of person.spells) {
      csv.add([...prefix, spell.program, formatDay(spell.start), spell.end === null ? null : formatDay(spell.end), spell.months, spell.monthlyAmount]);
    }
  }
  return csv.toString();
}

function justiceCsv(context: SynthContext, persons: Person[]): string {
  const csv = new CsvBuilder(columnNames(JUSTICE_OFFENCES_SCHEMA));
  for (const person of persons) {
    if (person.offences.length === 0) continue;
    const identity = noisyIdentity(context, 'justice', person);
    const prefix = [person.offenderId, identity.healthNumber, ...identityCells(identity, person)];
    for (const offence of person.offences) {
      csv.add([
        ...prefix,
        formatDay(offence.day),
        ageOn(identity.birthDay, offence.day),
        offence.type,
        offence.convicted,
        offence.sentence,
        offence.custodyDays,
        offence.releaseDay === null ? null : formatDay(offence.releaseDay),
        offence.reentryProgram,
        offence.employed,
        receivingIncomeSupport(person, offence.day),
      ]);
    }
  }
  return csv.toString();
}

function receivingIncomeSupport(person: Person, day: number): boolean {
  return person.spells.some((spell) => spell.program === 'income_support' && spell.start <= day && (spell.end === null || day <= spell.end));
}

/** The columns of the re-entry organisation's client list, as `fedlab evaluate submit` reads them. */
export const CLIENT_LIST_PATH = 'organisation/reentry_clients.csv';
const CLIENT_LIST_HEADER = ['surname', 'forename', 'date_of_birth', 'sex', 'intervention_start', 'intervention_end'];

/**
 * The re-entry organisation's client list: every program participant as the organisation recorded them
 * (its own identifier noise), the intervention around the index release (`SYNTH_EFFECTS.clientList`),
 * and a few people without any Justice record. Rows are in a shuffled order, as an export would be.
 */
function clientListCsv(context: SynthContext, persons: Person[]): string {
  const settings = SYNTH_EFFECTS.clientList;
  const rng = createRng(context.seed, 'organisation/clients');
  const rows: Array<Array<string | number>> = [];
  const row = (person: Person, start: number, end: number): void => {
    const identity = noisyIdentity(context, 'organisation', person);
    rows.push([identity.surname, identity.givenName, formatDay(identity.birthDay), person.sex, formatDay(start), formatDay(end)]);
  };
  const participants = persons.filter((person) => person.indexRelease?.reentryProgram === true);
  for (const person of participants) {
    const release = person.indexRelease!.releaseDay;
    row(person, release - rng.int(settings.inReachDays + 1), release + rng.between(settings.minAfterDays, settings.maxAfterDays));
  }
  const strangers = Math.round(participants.length * settings.strangerShare);
  for (let added = 0, tries = 0; added < strangers && tries < 100 * strangers; tries += 1) {
    const person = persons[rng.int(persons.length)]!;
    if (person.offences.length > 0 || ageOn(person.birthDay, context.referenceDay) < 20) continue;
    const start = context.referenceDay - 400 - rng.int(1500);
    row(person, start, start + rng.between(settings.minAfterDays, settings.maxAfterDays));
    added += 1;
  }
  for (let i = rows.length - 1; i > 0; i -= 1) {
    const j = rng.int(i + 1);
    [rows[i], rows[j]] = [rows[j]!, rows[i]!];
  }
  const csv = new CsvBuilder(CLIENT_LIST_HEADER);
  for (const cells of rows) csv.add(cells);
  return csv.toString();
}

function truthCsv(persons: Person[], visitCounts: Uint16Array): string {
  const csv = new CsvBuilder(TRUTH_PERSON_COLUMNS);
  for (const person of persons) {
    const hasProgram = (program: string): boolean => person.spells.some((spell) => spell.program === program);
    const firstOffence = person.offences[0];
    const index = person.indexRelease;
    csv.add([
      person.personId,
      person.healthNumber,
      person.studentId,
      person.clientId,
      person.offenderId,
      person.surname,
      person.givenName,
      formatDay(person.birthDay),
      person.sex,
      person.birthYear,
      person.region,
      person.fasd,
      visitCounts[person.index],
      person.education?.completedHighSchool,
      person.education?.completionYear,
      hasProgram('income_support'),
      hasProgram('child_support'),
      hasProgram('disability_services'),
      person.offences.length,
      person.offences.length > 0,
      firstOffence !== undefined && ageOn(person.birthDay, firstOffence.day) < 18,
      firstOffence === undefined ? null : formatDay(firstOffence.day),
      index === null ? null : formatDay(index.releaseDay),
      index?.reentryProgram,
      index?.reoffendedWithinYear,
    ]);
  }
  return csv.toString();
}

/** The schema as a schema file: `linkageKeys` is spelled `linkage_keys` and `maxRecordsPerPerson` `max_records_per_person`, as in every YAML file. */
function schemaYaml({ linkageKeys, maxRecordsPerPerson, ...schema }: DatasetSchema): string {
  const { columns, ...head } = schema;
  return stringify(
    {
      ...head,
      ...(maxRecordsPerPerson === undefined ? {} : { max_records_per_person: maxRecordsPerPerson }),
      columns,
      ...(linkageKeys === undefined ? {} : { linkage_keys: linkageKeys }),
    },
    { lineWidth: 0 },
  );
}

function effectsJson(context: SynthContext): string {
  const description = {
    generator: 'fedlab synth',
    options: { persons: context.persons, seed: context.seed, referenceDate: context.referenceDate },
    window: { start: formatDay(context.windowStart), end: formatDay(context.referenceDay - 1) },
    births: { start: formatDay(context.birthStart), end: formatDay(context.birthEnd) },
    model: 'additive risk: P(outcome) = base + sum of effects for the covariates, clamped to [0, 1]',
    effects: SYNTH_EFFECTS,
  };
  return `${JSON.stringify(description, null, 2)}\n`;
}

function dataset(name: string): SynthDataset {
  return SYNTH_DATASETS.find((entry) => entry.dataset === name) as SynthDataset;
}

/**
 * Generates the synthetic province: each ministry's dataset (CSV + schema YAML, see
 * {@link SYNTH_DATASETS}), then the ground truth for tests (`truth/persons.csv`, `truth/effects.json`).
 * Files are yielded one at a time so a caller can write each and let it go; the same options always
 * give byte-identical files. The library never touches the file system.
 *
 * @throws FedlabError INVALID_ARGUMENT when the options are out of range.
 */
export function* generateSynthetic(options: SynthOptions): Generator<SynthFile> {
  const context = compileSynthOptions(options);
  const persons = createPopulation(context);
  const visitCounts = new Uint16Array(context.persons);

  const producers: Array<[DatasetSchema, () => string]> = [
    [HEALTH_VISITS_SCHEMA, () => healthCsv(context, persons, visitCounts)],
    [EDUCATION_ENROLMENTS_SCHEMA, () => educationCsv(context, persons)],
    [INCOME_SUPPORT_SCHEMA, () => incomeSupportCsv(context, persons)],
    [JUSTICE_OFFENCES_SCHEMA, () => justiceCsv(context, persons)],
  ];
  for (const [schema, produce] of producers) {
    const entry = dataset(schema.dataset);
    yield { path: entry.schemaPath, content: schemaYaml(schema) };
    yield { path: entry.csvPath, content: produce() };
  }
  yield { path: CLIENT_LIST_PATH, content: clientListCsv(context, persons) };
  yield { path: TRUTH_PERSONS_PATH, content: truthCsv(persons, visitCounts) };
  yield { path: TRUTH_EFFECTS_PATH, content: effectsJson(context) };
}
