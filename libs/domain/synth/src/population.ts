import { addYears, civilFromDays } from './civil-date';
import { REGIONS, SYNTH_EFFECTS, type Region } from './effects';
import { FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES, SURNAMES } from './names';
import { createRng, WeightedChoice, type Rng } from './prng';
import type { SynthContext } from './synth-options';

/** A person's record in the education register (see `education-model.ts`). */
export interface EducationRecord {
  schoolBoard: string;
  gradeLevel: number;
  achievementScore: number | null;
  completedHighSchool: boolean;
  completionYear: number | null;
}

/** One Human Services spell (day numbers; `end` is inclusive, null while ongoing). */
export interface Spell {
  program: 'income_support' | 'child_support' | 'disability_services';
  start: number;
  end: number | null;
  months: number;
  monthlyAmount: number;
}

/** One offence and its outcome (day numbers). */
export interface Offence {
  day: number;
  type: string;
  convicted: boolean;
  sentence: string | null;
  custodyDays: number | null;
  /** Release from custody, null unless released before the reference date. */
  releaseDay: number | null;
  reentryProgram: boolean;
  /** Employed at the time of the offence, as Justice recorded it (a covariate only). */
  employed: boolean;
}

/** The index release of the re-entry evaluation: a person's first custody release with a full year of follow-up. */
export interface IndexRelease {
  releaseDay: number;
  reentryProgram: boolean;
  reoffendedWithinYear: boolean;
}

/** A latent person: the truth behind every ministry's records. Only the generator and tests see it. */
export interface Person {
  index: number;
  personId: string;
  sex: 'F' | 'M';
  birthDay: number;
  birthYear: number;
  region: Region;
  surname: string;
  givenName: string;
  healthNumber: string;
  fasd: boolean;
  studentId: string | null;
  clientId: string | null;
  offenderId: string | null;
  education: EducationRecord | null;
  spells: Spell[];
  offences: Offence[];
  indexRelease: IndexRelease | null;
}

function zipfChoice(items: readonly string[], exponent: number): WeightedChoice<string> {
  return new WeightedChoice(
    items,
    items.map((_, rank) => 1 / Math.pow(rank + 3, exponent)),
  );
}

const FEMALE_NAMES = zipfChoice(FEMALE_GIVEN_NAMES, 0.7);
const MALE_NAMES = zipfChoice(MALE_GIVEN_NAMES, 0.7);
const SURNAME_CHOICE = zipfChoice(SURNAMES, 0.8);
const REGION_CHOICE = new WeightedChoice(
  REGIONS,
  REGIONS.map((region) => SYNTH_EFFECTS.regionShares[region]),
);

/** Luhn check digit, as many provinces use on health numbers. */
function luhnCheckDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return String((10 - (sum % 10)) % 10);
}

function randomDigits(rng: Rng, count: number): string {
  let text = String(1 + rng.int(9));
  for (let i = 1; i < count; i += 1) text += String(rng.int(10));
  return text;
}

/** Draws unique identifiers of one format from one stream, in person order. */
class IdentifierIssuer {
  private readonly issued = new Set<string>();
  private readonly rng: Rng;

  constructor(
    seed: number,
    stream: string,
    private readonly format: (rng: Rng) => string,
  ) {
    this.rng = createRng(seed, stream);
  }

  issue(): string {
    for (;;) {
      const id = this.format(this.rng);
      if (!this.issued.has(id)) {
        this.issued.add(id);
        return id;
      }
    }
  }
}

/** Creates the four issuers of person identifiers (health number, student, client and offender numbers). */
export function createIdentifierIssuers(seed: number): Record<'health' | 'student' | 'client' | 'offender', () => string> {
  const health = new IdentifierIssuer(seed, 'ids/health', (rng) => {
    const body = randomDigits(rng, 9);
    return body + luhnCheckDigit(body);
  });
  const student = new IdentifierIssuer(seed, 'ids/student', (rng) => `S${randomDigits(rng, 9)}`);
  const client = new IdentifierIssuer(seed, 'ids/client', (rng) => `HS-${randomDigits(rng, 7)}`);
  const offender = new IdentifierIssuer(seed, 'ids/offender', (rng) => `J${randomDigits(rng, 8)}`);
  return {
    health: () => health.issue(),
    student: () => student.issue(),
    client: () => client.issue(),
    offender: () => offender.issue(),
  };
}

/** Draws a person's demographics, registered identity and FASD status (no ministry events yet). */
export function drawPerson(context: SynthContext, index: number, healthNumber: string): Person {
  const rng = createRng(context.seed, 'person', index);
  const sex = rng.chance(SYNTH_EFFECTS.femaleShare) ? 'F' : 'M';
  const birthDay = context.birthStart + rng.int(context.birthEnd - context.birthStart + 1);
  return {
    index,
    personId: `P${String(index + 1).padStart(7, '0')}`,
    sex,
    birthDay,
    birthYear: civilFromDays(birthDay).year,
    region: REGION_CHOICE.sample(rng),
    surname: SURNAME_CHOICE.sample(rng),
    givenName: (sex === 'F' ? FEMALE_NAMES : MALE_NAMES).sample(rng),
    healthNumber,
    fasd: rng.chance(SYNTH_EFFECTS.fasdPrevalence),
    studentId: null,
    clientId: null,
    offenderId: null,
    education: null,
    spells: [],
    offences: [],
    indexRelease: null,
  };
}

/** The day a person reaches an age. */
export function birthdayAt(person: Person, age: number): number {
  return addYears(person.birthDay, age);
}
