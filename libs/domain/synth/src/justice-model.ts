import { ageOn } from './civil-date';
import { clampProbability, SYNTH_EFFECTS } from './effects';
import { birthdayAt, type IndexRelease, type Offence, type Person } from './population';
import { createRng, WeightedChoice, type Rng } from './prng';
import { OFFENCE_TYPES, SENTENCES } from './synth-schemas';
import type { SynthContext } from './synth-options';

const FIRST_OFFENCE_TYPES = new WeightedChoice<string>(
  OFFENCE_TYPES.filter((type) => type !== 'breach'),
  [0.3, 0.2, 0.14, 0.13, 0.09, 0.09, 0.05],
);
const REPEAT_OFFENCE_TYPES = new WeightedChoice<string>(OFFENCE_TYPES, [0.26, 0.18, 0.11, 0.12, 0.14, 0.08, 0.07, 0.04]);
const NON_CUSTODIAL_SENTENCES = new WeightedChoice<string>(
  SENTENCES.filter((sentence) => sentence !== 'custody'),
  [0.45, 0.4, 0.15],
);
const ONE_YEAR_DAYS = 365;
const MAX_CUSTODY_DAYS = 1825;

/**
 * The person's offences, drawn from `SYNTH_EFFECTS.offending`, `conviction`, `reoffending` and
 * `reentrySelection`: a first offence at a uniform time after the 12th birthday within the window,
 * then a chain of reoffences, each starting from the release date (custody) or the offence date.
 * Also sets `person.indexRelease` when the person has a custody release with a full year of follow-up.
 * Employment at each offence (`SYNTH_EFFECTS.employment`) comes from its own stream, so adding it
 * changed no other draw.
 */
export function drawOffences(context: SynthContext, person: Person, rng: Rng): Offence[] {
  const eligibleFrom = Math.max(context.windowStart, birthdayAt(person, 12));
  if (eligibleFrom >= context.referenceDay) return [];
  const offending = SYNTH_EFFECTS.offending;
  const fasd = person.fasd ? 1 : 0;
  const male = person.sex === 'M' ? 1 : 0;
  const aged50 = ageOn(person.birthDay, context.referenceDay) >= 50 ? 1 : 0;
  const risk = offending.base + offending.fasd * fasd + offending.male * male + offending.region[person.region] + offending.aged50AtReference * aged50;
  const exposure = (context.referenceDay - eligibleFrom) / (context.referenceDay - context.windowStart);
  if (!rng.chance(clampProbability(risk) * exposure)) return [];

  const reoffending = SYNTH_EFFECTS.reoffending;
  const conviction = SYNTH_EFFECTS.conviction;
  const selection = SYNTH_EFFECTS.reentrySelection;
  const employment = SYNTH_EFFECTS.employment;
  const employmentRng = createRng(context.seed, 'justice/employment', person.index);
  const offences: Offence[] = [];
  let day = eligibleFrom + rng.int(context.referenceDay - eligibleFrom);
  while (day < context.referenceDay && offences.length < reoffending.maxOffences) {
    const priors = offences.length;
    let type = (priors === 0 ? FIRST_OFFENCE_TYPES : REPEAT_OFFENCE_TYPES).sample(rng);
    if (type === 'impaired_driving' && ageOn(person.birthDay, day) < 16) type = 'mischief';
    const convicted = rng.chance(conviction.convicted);
    const custodyRisk = Math.min(
      conviction.custodyMax,
      conviction.custodyBase + conviction.custodyPerPriorOffence * priors + (type === 'assault' ? conviction.assaultCustody : 0),
    );
    const custody = convicted && rng.chance(custodyRisk);
    const sentence = convicted ? (custody ? 'custody' : NON_CUSTODIAL_SENTENCES.sample(rng)) : null;
    const courtDelayDays = rng.between(30, 180);
    const custodyDays = custody ? Math.min(MAX_CUSTODY_DAYS, Math.max(1, Math.round(rng.logNormal(60, 0.9)))) : null;
    const release = custodyDays === null ? null : day + courtDelayDays + custodyDays;
    const offence: Offence = {
      day,
      type,
      convicted,
      sentence,
      custodyDays,
      releaseDay: release !== null && release < context.referenceDay ? release : null,
      reentryProgram: false,
      employed: employmentRng.chance(
        clampProbability(
          employment.base +
            (ageOn(person.birthDay, day) < 25 ? employment.under25 : 0) +
            employment.perPriorOffence * priors +
            (person.sex === 'F' ? employment.female : 0),
        ),
      ),
    };
    offences.push(offence);
    if (release !== null && release >= context.referenceDay) break;

    const atRisk = release ?? day;
    const isIndex = release !== null && person.indexRelease === null && release + ONE_YEAR_DAYS < context.referenceDay;
    const under25 = ageOn(person.birthDay, atRisk) < 25 ? 1 : 0;
    if (isIndex) {
      offence.reentryProgram = rng.chance(
        clampProbability(selection.base + (person.sex === 'F' ? selection.female : 0) + selection.under25AtRelease * under25),
      );
    }
    const withinYear = clampProbability(
      reoffending.base +
        reoffending.fasd * fasd +
        reoffending.male * male +
        reoffending.under25AtRisk * under25 +
        (offence.reentryProgram ? reoffending.reentryProgram : 0),
    );
    let next: number | null = null;
    if (rng.chance(withinYear)) next = atRisk + rng.between(1, ONE_YEAR_DAYS);
    else if (rng.chance(reoffending.laterShare)) next = atRisk + rng.between(ONE_YEAR_DAYS + 1, 4 * ONE_YEAR_DAYS);
    if (offences.length >= reoffending.maxOffences) next = null;
    if (isIndex && release !== null) {
      const indexRelease: IndexRelease = {
        releaseDay: release,
        reentryProgram: offence.reentryProgram,
        reoffendedWithinYear: next !== null && next <= release + ONE_YEAR_DAYS,
      };
      person.indexRelease = indexRelease;
    }
    if (next === null) break;
    day = next;
  }
  return offences;
}
