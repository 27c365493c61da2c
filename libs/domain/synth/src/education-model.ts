import { civilFromDays, daysFromCivil } from './civil-date';
import { clampProbability, SYNTH_EFFECTS } from './effects';
import type { EducationRecord, Person } from './population';
import type { Rng } from './prng';
import type { SynthContext } from './synth-options';

const ENTRY_AGE = 5;
const FINAL_GRADE = 12;

/** Start year of the last school year that began (1 September) before the reference date. */
function lastSchoolYear(context: SynthContext): number {
  const septemberFirst = daysFromCivil(context.referenceYear, 9, 1);
  return context.referenceDay > septemberFirst ? context.referenceYear : context.referenceYear - 1;
}

/**
 * The person's enrolment record, or null when they were not of school age (kindergarten to grade 12)
 * in any school year starting within the window, or attended no public board. A child enters
 * kindergarten in the school year starting in the calendar year they turn five.
 *
 * Completion follows `SYNTH_EFFECTS.highSchoolCompletion`: completers finish in June of the year they
 * turn 18 (or 19 when late) and are recorded as completed only if that June is before the reference
 * date; non-completers who are past grade 12 left after grade 10, 11 or 12.
 */
export function drawEducation(context: SynthContext, person: Person, rng: Rng): EducationRecord | null {
  const firstYear = civilFromDays(context.windowStart).year;
  const firstGrade = firstYear - person.birthYear - ENTRY_AGE;
  const lastGrade = lastSchoolYear(context) - person.birthYear - ENTRY_AGE;
  if (lastGrade < 0 || firstGrade > FINAL_GRADE) return null;
  if (rng.chance(SYNTH_EFFECTS.educationNonCoverage)) return null;

  const completion = SYNTH_EFFECTS.highSchoolCompletion;
  const male = person.sex === 'M' ? 1 : 0;
  const fasd = person.fasd ? 1 : 0;
  const completer = rng.chance(clampProbability(completion.base + completion.fasd * fasd + completion.male * male + completion.region[person.region]));
  const completionYear = person.birthYear + 18 + (rng.chance(completion.lateCompletionShare) ? 1 : 0);
  const completed = completer && daysFromCivil(completionYear, 6, 30) < context.referenceDay;

  let gradeLevel: number;
  if (lastGrade <= FINAL_GRADE || completer) gradeLevel = Math.min(lastGrade, FINAL_GRADE);
  else gradeLevel = Math.max(firstGrade, rng.between(10, FINAL_GRADE));

  const score = SYNTH_EFFECTS.achievementScore;
  let achievementScore: number | null = null;
  const assessed = !rng.chance(score.missingShare);
  const mean = score.base + score.fasd * fasd + score.male * male + score.region[person.region];
  const drawn = Math.min(100, Math.max(0, mean + score.sd * rng.normal()));
  if (gradeLevel >= 1 && assessed) achievementScore = Math.round(drawn * 10) / 10;

  return {
    schoolBoard: `${person.region}_${rng.chance(0.2) ? 'catholic' : 'public'}`,
    gradeLevel,
    achievementScore,
    completedHighSchool: completed,
    completionYear: completed ? completionYear : null,
  };
}
