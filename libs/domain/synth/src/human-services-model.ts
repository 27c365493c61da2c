import { addMonths, civilFromDays } from './civil-date';
import { clampProbability, SYNTH_EFFECTS } from './effects';
import { birthdayAt, type Person, type Spell } from './population';
import type { Rng } from './prng';
import type { SynthContext } from './synth-options';

/** Whole months from one day to a later one (at least 1). */
function monthsBetween(start: number, end: number): number {
  const a = civilFromDays(start);
  const b = civilFromDays(end);
  const months = (b.year - a.year) * 12 + (b.month - a.month) - (b.day < a.day ? 1 : 0);
  return Math.max(1, months);
}

function roundCents(value: number): number {
  return Math.round(value * 100) / 100;
}

/** A spell from `start` lasting `months`, cut at `limit` (exclusive) and left open at the reference date. */
function makeSpell(context: SynthContext, program: Spell['program'], start: number, months: number, limit: number, amount: number): Spell {
  const endExclusive = Math.min(addMonths(start, months), limit);
  const ongoing = endExclusive >= context.referenceDay;
  return {
    program,
    start,
    end: ongoing ? null : endExclusive - 1,
    months: monthsBetween(start, ongoing ? context.referenceDay : endExclusive),
    monthlyAmount: roundCents(amount),
  };
}

/**
 * The person's Human Services spells, drawn from `SYNTH_EFFECTS.humanServices`: income support for
 * adults (up to three spells), child support while under 18, and disability services.
 */
export function drawSpells(context: SynthContext, person: Person, rng: Rng): Spell[] {
  const effects = SYNTH_EFFECTS.humanServices;
  const fasd = person.fasd ? 1 : 0;
  const windowDays = context.referenceDay - context.windowStart;
  const spells: Spell[] = [];

  const adultFrom = Math.max(context.windowStart, birthdayAt(person, 18));
  if (adultFrom < context.referenceDay) {
    const income = effects.income_support;
    const risk = income.base + income.fasd * fasd + (person.sex === 'F' ? income.female : 0) + income.region[person.region];
    if (rng.chance(clampProbability(risk) * ((context.referenceDay - adultFrom) / windowDays))) {
      const spellCount = 1 + (rng.chance(0.35) ? 1 : 0) + (rng.chance(0.15) ? 1 : 0);
      let start = adultFrom + rng.int(context.referenceDay - adultFrom);
      for (let i = 0; i < spellCount && start < context.referenceDay; i += 1) {
        const months = Math.min(60, 1 + Math.floor(-Math.log(1 - rng.float()) * 8));
        const spell = makeSpell(context, 'income_support', start, months, Infinity, rng.logNormal(1100, 0.25));
        spells.push(spell);
        if (spell.end === null) break;
        start = spell.end + rng.between(30, 720);
      }
    }
  }

  const childFrom = Math.max(context.windowStart, person.birthDay);
  const childUntil = Math.min(context.referenceDay, birthdayAt(person, 18));
  if (childFrom < childUntil) {
    const child = effects.child_support;
    if (rng.chance(clampProbability(child.base + child.fasd * fasd) * ((childUntil - childFrom) / windowDays))) {
      const start = childFrom + rng.int(childUntil - childFrom);
      spells.push(makeSpell(context, 'child_support', start, rng.between(6, 120), birthdayAt(person, 18), rng.logNormal(450, 0.3)));
    }
  }

  const disabilityFrom = Math.max(context.windowStart, birthdayAt(person, 2));
  if (disabilityFrom < context.referenceDay) {
    const disability = effects.disability_services;
    if (rng.chance(clampProbability(disability.base + disability.fasd * fasd))) {
      const start = disabilityFrom + rng.int(context.referenceDay - disabilityFrom);
      spells.push(makeSpell(context, 'disability_services', start, rng.between(12, 180), Infinity, rng.logNormal(1500, 0.2)));
    }
  }
  return spells;
}
