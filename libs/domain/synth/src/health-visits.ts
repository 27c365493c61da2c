import { ageOn } from './civil-date';
import { SYNTH_EFFECTS } from './effects';
import type { Person } from './population';
import { WeightedChoice, type Rng } from './prng';
import { ICD10_CODES } from './synth-schemas';
import type { SynthContext } from './synth-options';

/** One physician visit or hospital stay (day numbers). */
export interface HealthVisit {
  day: number;
  setting: 'physician' | 'hospital';
  icd10: string;
  cost: number;
  lengthOfStay: number | null;
}

type Code = (typeof ICD10_CODES)[number];
type AgeBand = 'child' | 'adult' | 'older';

/** Relative frequency of each diagnosis by age band: [under 18, 18–39, 40 and over]. */
const CODE_WEIGHTS: ReadonlyArray<[Code, number, number, number]> = [
  ['Z00.0', 0.2, 0.14, 0.12],
  ['J06.9', 0.28, 0.14, 0.1],
  ['H66.9', 0.14, 0.01, 0.005],
  ['J45.9', 0.06, 0.04, 0.03],
  ['F32.9', 0.01, 0.08, 0.06],
  ['F41.1', 0.02, 0.07, 0.05],
  ['F90.0', 0.05, 0.02, 0.005],
  ['E11.9', 0.002, 0.03, 0.12],
  ['I10', 0.001, 0.04, 0.16],
  ['S52.5', 0.04, 0.02, 0.02],
  ['M54.5', 0.005, 0.09, 0.09],
  ['N39.0', 0.02, 0.05, 0.05],
  ['K21.9', 0.01, 0.05, 0.06],
  ['L20.9', 0.05, 0.02, 0.01],
  ['R51', 0.03, 0.04, 0.03],
  ['F10.2', 0, 0.015, 0.015],
];

/** Diagnosis mix by age band, sex and FASD: women see more depression, anxiety and UTIs; FASD more ADHD and alcohol use. */
function codeWeight(code: Code, base: number, sex: 'F' | 'M', fasd: boolean): number {
  let weight = base;
  if (sex === 'F' && (code === 'F32.9' || code === 'F41.1')) weight *= 1.5;
  if (code === 'N39.0') weight *= sex === 'F' ? 1.6 : 0.4;
  if (sex === 'M' && code === 'S52.5') weight *= 1.3;
  if (fasd && code === 'F90.0') weight += 0.15;
  if (fasd && code === 'F10.2' && base > 0) weight += 0.04;
  return weight;
}

const CODE_CHOICES = new Map<string, WeightedChoice<Code>>();
for (const [bandIndex, band] of (['child', 'adult', 'older'] as const).entries()) {
  for (const sex of ['F', 'M'] as const) {
    for (const fasd of [false, true]) {
      const codes = CODE_WEIGHTS.map(([code]) => code);
      const weights = CODE_WEIGHTS.map(([code, child, adult, older]) => codeWeight(code, [child, adult, older][bandIndex], sex, fasd));
      CODE_CHOICES.set(`${band}/${sex}/${fasd}`, new WeightedChoice(codes, weights));
    }
  }
}

function ageBand(age: number): AgeBand {
  return age < 18 ? 'child' : age < 40 ? 'adult' : 'older';
}

const FASD_CODE = 'Q86.0';
const DAYS_PER_YEAR = 365.25;

function roundCents(value: number): number {
  return Math.round(value * 100) / 100;
}

function drawSettingAndCost(rng: Rng, code: string, age: number): Omit<HealthVisit, 'day' | 'icd10'> {
  const hospital = SYNTH_EFFECTS.healthVisits.hospital;
  const hospitalFactor = code === 'Z00.0' || code === FASD_CODE ? 0 : code === 'S52.5' ? hospital.fractureMultiplier : 1;
  if (rng.chance((hospital.base + hospital.perYearOfAge * age) * hospitalFactor)) {
    const lengthOfStay = Math.min(90, 1 + Math.floor(-Math.log(1 - rng.float()) * (2 + age / 20)));
    return { setting: 'hospital', lengthOfStay, cost: roundCents(2200 + lengthOfStay * rng.logNormal(1400, 0.35)) };
  }
  return { setting: 'physician', lengthOfStay: null, cost: roundCents(rng.logNormal(48, 0.45)) };
}

/**
 * The person's visits in the window, in date order, following `SYNTH_EFFECTS.healthVisits`: a Poisson
 * number of visits at a yearly rate rising with age and FASD; a person with FASD also has one
 * diagnosis visit coded Q86.0 (in early childhood when born in the window) and may have a follow-up.
 */
export function drawHealthVisits(context: SynthContext, person: Person, rng: Rng): HealthVisit[] {
  const from = Math.max(context.windowStart, person.birthDay);
  const exposureDays = context.referenceDay - from;
  const ageAtReference = ageOn(person.birthDay, context.referenceDay);
  const rate = SYNTH_EFFECTS.healthVisits.visitsPerYear;
  const ratePerYear = rate.base + rate.perYearOfAgeAtReference * ageAtReference + (person.fasd ? rate.fasd : 0);
  const visitCount = rng.poisson((ratePerYear * exposureDays) / DAYS_PER_YEAR);
  const codes = (day: number): WeightedChoice<Code> =>
    CODE_CHOICES.get(`${ageBand(ageOn(person.birthDay, day))}/${person.sex}/${person.fasd}`) as WeightedChoice<Code>;

  const visits: HealthVisit[] = [];
  for (let i = 0; i < visitCount; i += 1) {
    const day = from + rng.int(exposureDays);
    const icd10 = codes(day).sample(rng);
    visits.push({ day, icd10, ...drawSettingAndCost(rng, icd10, ageOn(person.birthDay, day)) });
  }
  if (person.fasd) {
    const diagnosisSpan = person.birthDay >= context.windowStart ? Math.min(10 * DAYS_PER_YEAR, exposureDays) : exposureDays;
    const diagnosisDays = [from + rng.int(Math.floor(diagnosisSpan))];
    if (rng.chance(SYNTH_EFFECTS.healthVisits.fasdFollowUpShare)) diagnosisDays.push(from + rng.int(exposureDays));
    for (const day of diagnosisDays) {
      visits.push({ day, icd10: FASD_CODE, ...drawSettingAndCost(rng, FASD_CODE, ageOn(person.birthDay, day)) });
    }
  }
  return visits.sort((a, b) => a.day - b.day);
}
