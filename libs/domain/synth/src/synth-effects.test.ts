import { beforeAll, describe, expect, it } from 'vitest';
import {
  addDaysToDate,
  ageOnDate,
  datasetRecords,
  expectMeanDifference,
  expectRate,
  expectRiskDifference,
  proportion,
  records,
  runSynth,
  type SynthRun,
} from '../test-support/synth-files';
import { REGIONS, SYNTH_EFFECTS } from './index';
import { NICKNAMES } from './names';

type Row = Record<string, string>;

const PERSONS = 20_000;

describe('the synthetic population of 20,000 persons', () => {
  let run: SynthRun;
  let persons: Row[];
  beforeAll(() => {
    run = runSynth({ persons: PERSONS, seed: 2026 });
    persons = records(run.truth);
  });

  const split = <T>(rows: T[], condition: (row: T) => boolean): [T[], T[]] => [rows.filter(condition), rows.filter((row) => !condition(row))];
  const isTrue = (column: string) => (row: Row) => row[column] === 'true';

  describe('known effects', () => {
    const observableStudents = (): Row[] => persons.filter((person) => person.student_id !== '' && Number(person.birth_year) <= 2006);
    const fullWindowAdults = (): Row[] => persons.filter((person) => Number(person.birth_year) <= 1996);
    const fullWindowOver12 = (): Row[] => persons.filter((person) => Number(person.birth_year) <= 2002);

    it('has an FASD prevalence of about 1 %', () => {
      expectRate(persons.filter(isTrue('fasd')).length, PERSONS, SYNTH_EFFECTS.fasdPrevalence);
    });

    it('lowers high-school completion by 35 points with FASD', () => {
      const [fasd, other] = split(observableStudents(), isTrue('fasd'));
      expect(fasd.length).toBeGreaterThan(15);
      expectRiskDifference(
        proportion(fasd, isTrue('completed_high_school')),
        proportion(other, isTrue('completed_high_school')),
        SYNTH_EFFECTS.highSchoolCompletion.fasd,
      );
    });

    it('lowers high-school completion by 6 points for males', () => {
      const [male, female] = split(observableStudents(), (person) => person.sex === 'M');
      expectRiskDifference(
        proportion(male, isTrue('completed_high_school')),
        proportion(female, isTrue('completed_high_school')),
        SYNTH_EFFECTS.highSchoolCompletion.male,
      );
    });

    it('lowers high-school completion in the north', () => {
      const { region } = SYNTH_EFFECTS.highSchoolCompletion;
      const shares = SYNTH_EFFECTS.regionShares;
      const others = REGIONS.filter((name) => name !== 'north');
      const otherMean = others.reduce((sum, name) => sum + shares[name] * region[name], 0) / others.reduce((sum, name) => sum + shares[name], 0);
      const [north, rest] = split(observableStudents(), (person) => person.region === 'north');
      expectRiskDifference(proportion(north, isTrue('completed_high_school')), proportion(rest, isTrue('completed_high_school')), region.north - otherMean);
    });

    it('lowers achievement scores by 12 points with FASD', () => {
      const scores = datasetRecords(run, 'education_enrolments').filter((student) => student.achievement_score !== '');
      const fasdStudents = new Set(persons.filter((person) => person.fasd === 'true').map((person) => person.student_id));
      const [fasd, other] = split(scores, (student) => fasdStudents.has(student.student_id));
      const score = (student: Row): number => Number(student.achievement_score);
      expectMeanDifference(fasd.map(score), other.map(score), SYNTH_EFFECTS.achievementScore.fasd);
    });

    it('raises income support among adults by 15 points with FASD', () => {
      const [fasd, other] = split(fullWindowAdults(), isTrue('fasd'));
      expectRiskDifference(
        proportion(fasd, isTrue('any_income_support')),
        proportion(other, isTrue('any_income_support')),
        SYNTH_EFFECTS.humanServices.income_support.fasd,
      );
    });

    it('raises disability services by 30 points with FASD', () => {
      const [fasd, other] = split(persons, isTrue('fasd'));
      expectRiskDifference(
        proportion(fasd, isTrue('any_disability_services')),
        proportion(other, isTrue('any_disability_services')),
        SYNTH_EFFECTS.humanServices.disability_services.fasd,
      );
    });

    it('raises offending by 15 points with FASD', () => {
      const [fasd, other] = split(fullWindowOver12(), isTrue('fasd'));
      expectRiskDifference(proportion(fasd, isTrue('any_offence')), proportion(other, isTrue('any_offence')), SYNTH_EFFECTS.offending.fasd);
    });

    it('raises offending by 8 points for males', () => {
      const [male, female] = split(fullWindowOver12(), (person) => person.sex === 'M');
      expectRiskDifference(proportion(male, isTrue('any_offence')), proportion(female, isTrue('any_offence')), SYNTH_EFFECTS.offending.male);
    });
  });

  describe('identifier noise', () => {
    const personColumn = { education: 'student_id', human_services: 'client_id', justice: 'offender_id' } as const;
    const datasets = { education: 'education_enrolments', human_services: 'income_support', justice: 'justice_offences' } as const;
    const accented = /[^\x20-\x7e]/;

    /** One recorded identity per person, paired with the clean one from the truth table. */
    function recordedPairs(ministry: keyof typeof personColumn): Array<{ recorded: Row; clean: Row }> {
      const byLocalId = new Map(persons.map((person) => [person[personColumn[ministry]], person]));
      const seen = new Map<string, Row>();
      for (const row of datasetRecords(run, datasets[ministry])) seen.set(row[personColumn[ministry]], row);
      return [...seen].map(([localId, recorded]) => ({ recorded, clean: byLocalId.get(localId) as Row }));
    }

    describe.each(['education', 'human_services', 'justice'] as const)('in %s', (ministry) => {
      const rates = SYNTH_EFFECTS.identifierNoise[ministry];

      it('leaves the health number out at the declared rate and mistypes some of the rest', () => {
        const pairs = recordedPairs(ministry);
        const present = pairs.filter(({ recorded }) => recorded.health_number !== '');
        expectRate(pairs.length - present.length, pairs.length, rates.healthNumberMissing);
        expectRate(present.filter(({ recorded, clean }) => recorded.health_number !== clean.health_number).length, present.length, rates.healthNumberTypo);
      });

      it('swaps day and month of swappable birth dates at the declared rate', () => {
        const swappable = recordedPairs(ministry).filter(({ clean }) => {
          const [month, day] = [Number(clean.birth_date.slice(5, 7)), Number(clean.birth_date.slice(8, 10))];
          return day <= 12 && day !== month;
        });
        const swapped = swappable.filter(({ recorded, clean }) => recorded.birth_date !== clean.birth_date);
        expectRate(swapped.length, swappable.length, rates.dayMonthSwap);
        for (const { recorded, clean } of swapped) {
          expect(recorded.birth_date).toBe(`${clean.birth_date.slice(0, 4)}-${clean.birth_date.slice(8, 10)}-${clean.birth_date.slice(5, 7)}`);
        }
      });

      it('mistypes plain surnames and drops accents from accented ones', () => {
        const pairs = recordedPairs(ministry);
        const [withAccents, plain] = split(pairs, ({ clean }) => accented.test(clean.surname));
        const changed = (group: typeof pairs): number => group.filter(({ recorded, clean }) => recorded.surname !== clean.surname).length;
        expectRate(changed(plain), plain.length, rates.surnameTypo);
        expectRate(changed(withAccents), withAccents.length, 1 - (1 - rates.asciiFold) * (1 - rates.surnameTypo));
      });

      it('records nicknames for given names that have one, and mistypes given names at the declared rate', () => {
        const pairs = recordedPairs(ministry).filter(({ clean }) => !accented.test(clean.given_name));
        const [hasNickname, noNickname] = split(pairs, ({ clean }) => clean.given_name in NICKNAMES);
        const changed = (group: typeof pairs): number => group.filter(({ recorded, clean }) => recorded.given_name !== clean.given_name).length;
        expectRate(changed(hasNickname), hasNickname.length, 1 - (1 - rates.nickname) * (1 - rates.givenNameTypo));
        expectRate(changed(noNickname), noNickname.length, rates.givenNameTypo);
        const nicknames = hasNickname.filter(({ recorded, clean }) => NICKNAMES[clean.given_name].includes(recorded.given_name));
        expect(nicknames.length).toBeGreaterThan(0);
      });
    });
  });

  describe('the truth table', () => {
    const byColumn = (column: string): Map<string, Row> => new Map(persons.filter((person) => person[column] !== '').map((person) => [person[column], person]));
    const groupBy = (rows: Row[], column: string): Map<string, Row[]> => {
      const groups = new Map<string, Row[]>();
      for (const row of rows) groups.set(row[column], [...(groups.get(row[column]) ?? []), row]);
      return groups;
    };

    it('marks with FASD exactly the persons whose health number has a Q86.0 visit', () => {
      const diagnosed = new Set(
        datasetRecords(run, 'health_visits')
          .filter((visit) => visit.icd10 === 'Q86.0')
          .map((visit) => visit.health_number),
      );
      const fasd = new Set(persons.filter(isTrue('fasd')).map((person) => person.health_number));
      expect(diagnosed.size).toBe(fasd.size);
      expect([...diagnosed].sort()).toEqual([...fasd].sort());
    });

    it('counts every person’s Health visits and repeats the registered identity on them', () => {
      const visits = groupBy(datasetRecords(run, 'health_visits'), 'health_number');
      for (const person of persons) {
        const own = visits.get(person.health_number) ?? [];
        expect(own.length).toBe(Number(person.health_visits));
        for (const visit of own.slice(0, 1)) {
          expect([visit.surname, visit.given_name, visit.birth_date, visit.sex, visit.region]).toEqual([
            person.surname,
            person.given_name,
            person.birth_date,
            person.sex,
            person.region,
          ]);
        }
      }
    });

    it('has one education row per student with the same completion', () => {
      const students = datasetRecords(run, 'education_enrolments');
      const truthStudents = byColumn('student_id');
      expect(students.length).toBe(truthStudents.size);
      for (const student of students) {
        const person = truthStudents.get(student.student_id) as Row;
        expect([student.completed_high_school, student.completion_year]).toEqual([person.completed_high_school, person.completion_year]);
      }
    });

    it('has the programs of every Human Services client', () => {
      const spells = groupBy(datasetRecords(run, 'income_support'), 'client_id');
      expect(spells.size).toBe(byColumn('client_id').size);
      for (const [clientId, person] of byColumn('client_id')) {
        const programs = new Set((spells.get(clientId) ?? []).map((spell) => spell.program));
        expect([person.any_income_support, person.any_child_support, person.any_disability_services]).toEqual(
          ['income_support', 'child_support', 'disability_services'].map((program) => String(programs.has(program))),
        );
      }
    });

    it('has the offences, youth offending and re-entry outcome of every offender', () => {
      const offences = groupBy(datasetRecords(run, 'justice_offences'), 'offender_id');
      expect(offences.size).toBe(byColumn('offender_id').size);
      for (const [offenderId, person] of byColumn('offender_id')) {
        const own = offences.get(offenderId) as Row[];
        expect(own.length).toBe(Number(person.offences));
        expect(own[0].offence_date).toBe(person.first_offence_date);
        expect(String(ageOnDate(person.birth_date, own[0].offence_date) < 18)).toBe(person.any_offence_by_18);
        const reentry = own.filter(isTrue('reentry_program'));
        expect(reentry.length).toBe(person.reentry_program === 'true' ? 1 : 0);
        if (person.index_release_date !== '') {
          const index = own.find((offence) => offence.release_date === person.index_release_date) as Row;
          expect(index.reentry_program).toBe(person.reentry_program);
          const yearLater = addDaysToDate(person.index_release_date, 365);
          const reoffended = own.some((offence) => offence.offence_date > person.index_release_date && offence.offence_date <= yearLater);
          expect(String(reoffended)).toBe(person.reoffended_within_1y);
        }
      }
      expect(persons.filter((person) => person.offender_id === '' && person.any_offence !== 'false')).toEqual([]);
    });
  });
});
