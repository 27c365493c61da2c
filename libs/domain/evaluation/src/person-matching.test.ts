import { generateSynthetic, TRUTH_PERSONS_PATH } from '@fedlab/synth';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClientRecord } from './client-list';
import { jaroWinkler } from './jaro-winkler';
import { DEFAULT_MATCH_THRESHOLD, matchClients, type ClientMatch, type JusticePerson } from './person-matching';

function client(fields: Partial<ClientRecord> = {}): ClientRecord {
  return {
    line: 2,
    surname: 'Smith',
    forename: 'Robert',
    dateOfBirth: '1980-05-07',
    sex: 'M',
    interventionStart: '2023-01-09',
    interventionEnd: '2023-06-30',
    justiceId: null,
    ...fields,
  };
}

function person(personId: string, fields: Partial<JusticePerson> = {}): JusticePerson {
  return { personId, surname: 'Smith', givenName: 'Robert', birthDate: '1980-05-07', sex: 'M', ...fields };
}

/** People born the same day as the default client, with unrelated names: the block a real match sits in. */
const NEIGHBOURS: JusticePerson[] = [
  person('N1', { surname: 'Tremblay', givenName: 'Luc' }),
  person('N2', { surname: 'Nguyen', givenName: 'Wei' }),
  person('N3', { surname: 'Okafor', givenName: 'Amelia', sex: 'F' }),
];

function matchOne(clientRecord: ClientRecord, persons: JusticePerson[]): ClientMatch {
  const [match] = matchClients([clientRecord], [...NEIGHBOURS, ...persons]);
  return match;
}

describe('matchClients', () => {
  it('matches equal names and birth date by rule exact with score 1', () => {
    expect(matchOne(client(), [person('J1')])).toEqual({ line: 2, personId: 'J1', rule: 'exact', score: 1, reason: 'matched' });
  });

  it('matches a nickname of the forename (Bob for Robert)', () => {
    expect(matchOne(client(), [person('J1', { givenName: 'Bob' })])).toEqual({
      line: 2,
      personId: 'J1',
      rule: 'fuzzy_name',
      score: 0.975,
      reason: 'matched',
    });
  });

  it('ignores accents, case, hyphens and spaces in names', () => {
    const accented = client({ surname: 'Côté-Tremblay', forename: 'Émile' });
    expect(matchOne(accented, [person('J1', { surname: 'COTE TREMBLAY', givenName: 'emile' })])).toEqual({
      line: 2,
      personId: 'J1',
      rule: 'exact',
      score: 1,
      reason: 'matched',
    });
  });

  it('ignores apostrophes, dots and spaces in names written in ASCII', () => {
    const punctuated = client({ surname: "O'Brien-Smith", forename: 'J. Robert' });
    expect(matchOne(punctuated, [person('J1', { surname: 'OBRIEN SMITH', givenName: 'jrobert' })])).toMatchObject({ personId: 'J1', rule: 'exact', score: 1 });
  });

  it('matches a surname with a typo, scored by Jaro–Winkler', () => {
    const match = matchOne(client(), [person('J1', { surname: 'Smtih' })]);
    expect(match).toMatchObject({ personId: 'J1', rule: 'fuzzy_name', reason: 'matched' });
    expect(match.score).toBeCloseTo((jaroWinkler('smith', 'smtih') + 1) / 2, 12);
  });

  it('matches an initial for the forename when the surname is equal', () => {
    expect(matchOne(client({ forename: 'R.' }), [person('J1')])).toEqual({ line: 2, personId: 'J1', rule: 'fuzzy_name', score: 0.95, reason: 'matched' });
  });

  it('does not accept an initial when the surname differs too', () => {
    expect(matchOne(client({ forename: 'R' }), [person('J1', { surname: 'Smyth' })])).toMatchObject({ personId: null, reason: 'no_candidate' });
  });

  it('matches a birth date with day and month swapped by rule date_swap', () => {
    expect(matchOne(client(), [person('J1', { birthDate: '1980-07-05' })])).toEqual({
      line: 2,
      personId: 'J1',
      rule: 'date_swap',
      score: 0.97,
      reason: 'matched',
    });
  });

  it('matches a birth date with one keying error by rule date_typo when the names are equal', () => {
    expect(matchOne(client(), [person('J1', { birthDate: '1908-05-07' })])).toEqual({
      line: 2,
      personId: 'J1',
      rule: 'date_typo',
      score: 0.92,
      reason: 'matched',
    });
    expect(matchOne(client(), [person('J1', { birthDate: '1980-05-17' })])).toMatchObject({ personId: 'J1', rule: 'date_typo' });
  });

  it('does not match a birth date with a keying error when the names differ', () => {
    expect(matchOne(client(), [person('J1', { birthDate: '1980-05-17', givenName: 'Bob' })])).toMatchObject({ personId: null, reason: 'no_candidate' });
  });

  it('does not match a namesake born in another decade', () => {
    expect(matchClients([client()], [person('J1', { birthDate: '1965-05-07' })])).toEqual([
      { line: 2, personId: null, rule: null, score: 0, reason: 'no_candidate' },
    ]);
  });

  it('does not match a person of the other sex', () => {
    expect(matchClients([client()], [person('J1', { sex: 'F' })])).toEqual([{ line: 2, personId: null, rule: null, score: 0, reason: 'no_candidate' }]);
  });

  it('matches a person whose sex is not recorded', () => {
    expect(matchOne(client(), [person('J1', { sex: null })])).toMatchObject({ personId: 'J1', rule: 'exact' });
    expect(matchOne(client(), [person('J1', { sex: 'male' })])).toMatchObject({ personId: 'J1', rule: 'exact' });
  });

  it('reports the best score below the threshold of a client it cannot match', () => {
    const match = matchOne(client(), [person('J1', { surname: 'Jones', givenName: 'Rupert' })]);
    expect(match).toMatchObject({ personId: null, rule: null, reason: 'no_candidate' });
    expect(match.score).toBeCloseTo((jaroWinkler('smith', 'jones') + jaroWinkler('robert', 'rupert')) / 2, 12);
    expect(match.score).toBeLessThan(DEFAULT_MATCH_THRESHOLD);
  });

  it('calls two equally good candidates ambiguous and matches neither', () => {
    expect(matchOne(client(), [person('J1'), person('J2')])).toEqual({ line: 2, personId: null, rule: null, score: 1, reason: 'ambiguous' });
  });

  it('prefers the same birth date to a swapped one beyond the ambiguity margin', () => {
    expect(matchOne(client(), [person('J1', { birthDate: '1980-07-05' }), person('J2')])).toMatchObject({ personId: 'J2', rule: 'exact' });
  });

  it('does not call two records of one person ambiguous', () => {
    expect(matchOne(client(), [person('J1'), person('J1', { givenName: 'Bob' })])).toMatchObject({ personId: 'J1', rule: 'exact', reason: 'matched' });
  });

  it('matches by justice id when birth date and sex agree, whatever the names', () => {
    const withId = client({ justiceId: 'J7', surname: 'Married-Name' });
    expect(matchOne(withId, [person('J7', { birthDate: '1980-07-05' })])).toEqual({ line: 2, personId: 'J7', rule: 'justice_id', score: 1, reason: 'matched' });
  });

  it('falls back to name matching when the justice id names someone else or no one', () => {
    const wrongPerson = person('J9', { surname: 'Nguyen', givenName: 'Wei', birthDate: '1975-01-01' });
    expect(matchOne(client({ justiceId: 'J9' }), [wrongPerson, person('J1')])).toEqual({ line: 2, personId: 'J1', rule: 'exact', score: 1, reason: 'matched' });
    expect(matchOne(client({ justiceId: 'J8' }), [person('J1')])).toMatchObject({ personId: 'J1', rule: 'exact' });
    expect(matchOne(client({ justiceId: 'J1' }), [person('J1', { sex: 'F', givenName: 'Roberta' })])).toMatchObject({ personId: null, reason: 'no_candidate' });
  });

  it('gives a person matched by two clients to the higher score and calls the other ambiguous', () => {
    const clients = [client({ line: 2, forename: 'Bob' }), client({ line: 3 })];
    expect(matchClients(clients, [...NEIGHBOURS, person('J1')])).toEqual([
      { line: 2, personId: null, rule: null, score: 0.975, reason: 'ambiguous' },
      { line: 3, personId: 'J1', rule: 'exact', score: 1, reason: 'matched' },
    ]);
  });

  it('calls every client ambiguous when two tie for the same person', () => {
    const clients = [client({ line: 2 }), client({ line: 3, sex: 'M', surname: 'SMITH' })];
    expect(matchClients(clients, [person('J1')]).map((match) => match.reason)).toEqual(['ambiguous', 'ambiguous']);
  });

  it('applies the threshold it is given', () => {
    expect(matchClients([client()], [person('J1', { givenName: 'Bob' })], { threshold: 0.98 })[0]).toMatchObject({ personId: null, reason: 'no_candidate' });
  });

  it('rejects a threshold outside (0, 1]', () => {
    expect(() => matchClients([client()], [], { threshold: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'the match threshold must be in (0, 1]' }),
    );
  });

  it('returns one result per client, in order', () => {
    const clients = [client({ line: 4 }), client({ line: 7, surname: 'Tremblay', forename: 'Luc' }), client({ line: 9, surname: 'Absent' })];
    expect(matchClients(clients, [...NEIGHBOURS, person('J1')]).map(({ line, personId }) => [line, personId])).toEqual([
      [4, 'J1'],
      [7, 'N1'],
      [9, null],
    ]);
  });
});

describe('matchClients on the synthetic justice records', () => {
  type Row = Record<string, string>;
  let clients: ClientRecord[];
  let offenderIdOf: Map<number, string>;
  let persons: JusticePerson[];

  beforeAll(() => {
    const files = new Map<string, string>();
    for (const file of generateSynthetic({ persons: 40_000, seed: 2024 })) files.set(file.path, file.content);
    const truth = parse(files.get(TRUTH_PERSONS_PATH) as string, { columns: true }) as Row[];
    const byOffender = new Map<string, JusticePerson>();
    for (const row of parse(files.get('justice/justice_offences.csv') as string, { columns: true }) as Row[]) {
      if (byOffender.has(row.offender_id)) continue;
      byOffender.set(row.offender_id, { personId: row.offender_id, surname: row.surname, givenName: row.given_name, birthDate: row.birth_date, sex: row.sex });
    }
    persons = [...byOffender.values()];
    // Every 3rd offender and every 36th other person, by their clean (Health) identity: about 1,000 of each.
    const offenders = truth.filter((row) => row.offender_id !== '').filter((_, i) => i % 3 === 0);
    const others = truth.filter((row) => row.offender_id === '').filter((_, i) => i % 36 === 0);
    const listed = [...offenders, ...others];
    clients = listed.map((row, i) =>
      client({ line: i + 2, surname: row.surname, forename: row.given_name, dateOfBirth: row.birth_date, sex: row.sex as 'M' | 'F' }),
    );
    offenderIdOf = new Map(listed.flatMap((row, i) => (row.offender_id === '' ? [] : [[i + 2, row.offender_id] as [number, string]])));
  });

  it('finds the offenders among the listed people with recall ≥ 0.99 and precision ≥ 0.998', () => {
    const matches = matchClients(clients, persons);
    const matched = matches.filter((match) => match.personId !== null);
    const correct = matched.filter((match) => offenderIdOf.get(match.line) === match.personId).length;
    const recall = correct / offenderIdOf.size;
    const precision = correct / matched.length;
    console.info(
      `person matching on synthetic justice records: recall ${recall.toFixed(4)}, precision ${precision.toFixed(4)} ` +
        `(${correct} correct of ${matched.length} matched; ${offenderIdOf.size} offenders and ${clients.length - offenderIdOf.size} others listed)`,
    );
    expect(offenderIdOf.size).toBeGreaterThan(900);
    expect(clients.length - offenderIdOf.size).toBeGreaterThan(900);
    expect(recall).toBeGreaterThanOrEqual(0.99);
    expect(precision).toBeGreaterThanOrEqual(0.998);
  });
});
