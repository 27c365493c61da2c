import { canonicalGivenName, normaliseAscii, parseCivilDate, type CivilDate } from '@fedlab/linkage';
import { FedlabError } from '@fedlab/model';
import { parseSex, type ClientRecord } from './client-list';
import { jaroWinkler } from './jaro-winkler';

/** A person of the justice dataset, with the identity recorded for them. */
export interface JusticePerson {
  personId: string;
  surname: string;
  givenName: string;
  /** `YYYY-MM-DD` (`YYYYMMDD` is read too); null when not recorded. */
  birthDate: string | null;
  /** `M`/`F` or `male`/`female` in any case; anything else counts as unknown. */
  sex: string | null;
}

/**
 * How a client was matched:
 * - `justice_id`: the client's justice id names the person, and birth date and sex agree;
 * - `exact`: same birth date, same surname and forename (after normalisation);
 * - `fuzzy_name`: same birth date, similar names (a typo, a nickname, an initial);
 * - `date_swap`: birth date with day and month swapped, similar names;
 * - `date_typo`: birth date differing by one keying error (a digit changed, or two adjacent digits of
 *   the year, month or day transposed), same surname and forename.
 */
export type MatchRule = 'justice_id' | 'exact' | 'fuzzy_name' | 'date_swap' | 'date_typo';

/** The outcome for one client. */
export interface ClientMatch {
  /** The client's line in the submitted file. */
  line: number;
  /** The matched person, or null when unmatched. */
  personId: string | null;
  rule: MatchRule | null;
  /**
   * The score of the client's best candidate in [0, 1] (1 for `justice_id`), also when unmatched; 0 when
   * blocking found no person of a compatible sex.
   */
  score: number;
  /**
   * `matched`; `no_candidate` when no person scored at least the threshold; `ambiguous` when two persons
   * scored within {@link AMBIGUITY_MARGIN} of each other, or another client matched the same person
   * with at least the same score.
   */
  reason: 'matched' | 'no_candidate' | 'ambiguous';
}

export interface MatchOptions {
  /** The least score that makes a person a candidate, in (0, 1]. Default {@link DEFAULT_MATCH_THRESHOLD}. */
  threshold?: number;
}

/** The default least score of a candidate. */
export const DEFAULT_MATCH_THRESHOLD = 0.9;
/** Two candidates closer than this in score make the client ambiguous. */
export const AMBIGUITY_MARGIN = 0.015;
/** Forename similarity of two nickname-equivalent forenames (Bob and Robert), see `canonicalGivenName`. */
export const NICKNAME_SIMILARITY = 0.95;
/** Least forename similarity when one forename is an initial or a prefix of the other and surnames are equal. */
export const INITIAL_SIMILARITY = 0.9;
/** Taken off the score of a candidate whose birth date has day and month swapped. */
export const DATE_SWAP_PENALTY = 0.03;
/** Taken off the score of a candidate whose birth date differs by one keying error. */
export const DATE_TYPO_PENALTY = 0.08;

const MATCH_DEFAULTS: Required<MatchOptions> = { threshold: DEFAULT_MATCH_THRESHOLD };
const KEY_SEPARATOR = '\u0000';
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const NOT_ASCII_LETTER_OR_DIGIT = /[^a-z0-9]/g;

type DateAgreement = 'same' | 'swapped' | 'keying_error';

interface PreparedClient {
  client: ClientRecord;
  surname: string;
  forename: string;
  canonicalForename: string;
  swappedBirthDate: string | null;
  nameKey: string;
}

interface Candidate {
  person: number;
  score: number;
  rule: MatchRule;
}

/**
 * Matches each client of an organisation's list to at most one person of the justice dataset. The
 * persons are indexed once, by birth date and by name, for the dates and names on the list only, so the
 * cost grows with persons + clients, not with their product.
 *
 * 1. **Justice id.** A client whose `justiceId` names a person whose birth date agrees (the same, or day
 *    and month swapped) and whose sex agrees is matched to that person (rule `justice_id`, score 1).
 *    Otherwise the id is ignored and the client is matched on identity as below.
 * 2. **Blocking.** The candidates are the persons born on the client's birth date or on it with day and
 *    month swapped, and the persons with the same normalised surname and forename whose birth date
 *    differs in one of year, month or day by one keying error: one digit changed, or two adjacent digits
 *    transposed (1985 for 1958 is, 1965 for 1990 is not). A person whose sex is known and differs from the
 *    client's is never a candidate; persons without a birth date are found by justice id only.
 * 3. **Name score.** Surnames and forenames are compared after `normaliseAscii` (NFKC, case folding,
 *    accents folded, everything but letters and digits removed). Surname similarity is the
 *    {@link jaroWinkler} similarity. Forename similarity is 1 for equal forenames,
 *    {@link NICKNAME_SIMILARITY} for nickname-equivalent ones (`canonicalGivenName`), at least
 *    {@link INITIAL_SIMILARITY} when one is an initial or prefix of the other and the surnames are equal,
 *    and the Jaro–Winkler similarity otherwise. The name score is the mean of the two.
 * 4. **Score.** The name score, less {@link DATE_SWAP_PENALTY} for a swapped birth date; a candidate whose
 *    birth date has a keying error needs equal surname and forename and scores
 *    1 − {@link DATE_TYPO_PENALTY}. A person scoring at least the threshold (default
 *    {@link DEFAULT_MATCH_THRESHOLD}) is a candidate, and the best candidate is matched unless another
 *    candidate, a different person, scored within {@link AMBIGUITY_MARGIN} of it (the client is then
 *    `ambiguous`).
 * 5. **One client per person.** When several clients match the same person, the one with the highest
 *    score keeps it and the others become `ambiguous` (all of them on a tie).
 *
 * The rule of a match is `exact` for the same birth date and equal names, `fuzzy_name` for the same birth
 * date and other names, `date_swap` and `date_typo` for the two kinds of birth date difference.
 *
 * @throws FedlabError INVALID_ARGUMENT when the threshold is not in (0, 1] or a client's date of birth is
 *   not a date (`parseClientList` and `decodeClientList` check it).
 */
export function matchClients(clients: ClientRecord[], persons: JusticePerson[], options: MatchOptions = {}): ClientMatch[] {
  const { threshold } = compileMatchOptions(options);
  const normalise = createNormaliser();
  const prepared = clients.map((client) => prepareClient(client, normalise));
  const index = indexPersons(prepared, persons, normalise);

  const matches = prepared.map((client): ClientMatch => {
    const { line, justiceId } = client.client;
    if (justiceId !== null) {
      const person = index.byId.get(justiceId);
      if (person !== undefined && justiceIdAgrees(client, persons[person])) {
        return { line, personId: persons[person].personId, rule: 'justice_id', score: 1, reason: 'matched' };
      }
    }
    const candidates = scoreCandidates(client, index, persons, normalise);
    const best = candidates[0];
    if (best === undefined || best.score < threshold) {
      return { line, personId: null, rule: null, score: best?.score ?? 0, reason: 'no_candidate' };
    }
    const bestId = persons[best.person].personId;
    const rival = candidates.find((candidate) => persons[candidate.person].personId !== bestId);
    if (rival !== undefined && rival.score >= threshold && best.score - rival.score < AMBIGUITY_MARGIN) {
      return { line, personId: null, rule: null, score: best.score, reason: 'ambiguous' };
    }
    return { line, personId: bestId, rule: best.rule, score: best.score, reason: 'matched' };
  });
  return oneClientPerPerson(matches);
}

function compileMatchOptions(options: MatchOptions): Required<MatchOptions> {
  const compiled = { threshold: options.threshold ?? MATCH_DEFAULTS.threshold };
  if (!(compiled.threshold > 0 && compiled.threshold <= 1)) throw new FedlabError('INVALID_ARGUMENT', 'the match threshold must be in (0, 1]');
  return compiled;
}

/**
 * `normaliseAscii`, quick for printable ASCII (where it is lower-casing and dropping all but letters and
 * digits) and cached otherwise: indexing normalises the surname of every person.
 */
function createNormaliser(): (text: string) => string {
  const cache = new Map<string, string>();
  return (text) => {
    if (PRINTABLE_ASCII.test(text)) return text.toLowerCase().replace(NOT_ASCII_LETTER_OR_DIGIT, '');
    let normalised = cache.get(text);
    if (normalised === undefined) {
      normalised = normaliseAscii(text);
      cache.set(text, normalised);
    }
    return normalised;
  };
}

function prepareClient(client: ClientRecord, normalise: (text: string) => string): PreparedClient {
  const birth = parseCivilDate(client.dateOfBirth);
  if (birth === null) throw new FedlabError('INVALID_ARGUMENT', `client on line ${client.line}: the date of birth is not a date`);
  const surname = normalise(client.surname);
  const forename = normalise(client.forename);
  const swappable = birth.day <= 12 && birth.day !== birth.month;
  return {
    client,
    surname,
    forename,
    canonicalForename: canonicalGivenName(forename),
    swappedBirthDate: swappable ? formatDate({ year: birth.year, month: birth.day, day: birth.month }) : null,
    nameKey: surname + KEY_SEPARATOR + forename,
  };
}

interface PersonIndex {
  /** Persons by birth date, for the clients' birth dates and their swaps only. */
  byBirthDate: Map<string, number[]>;
  /** Persons by normalised surname and forename, for the clients' names only. */
  byName: Map<string, number[]>;
  /** Persons by id, for the clients' justice ids only. */
  byId: Map<string, number>;
}

function indexPersons(clients: PreparedClient[], persons: JusticePerson[], normalise: (text: string) => string): PersonIndex {
  const byBirthDate = new Map<string, number[]>();
  const byName = new Map<string, number[]>();
  const byId = new Map<string, number>();
  const surnames = new Set<string>();
  const justiceIds = new Set<string>();
  for (const client of clients) {
    byBirthDate.set(client.client.dateOfBirth, []);
    if (client.swappedBirthDate !== null) byBirthDate.set(client.swappedBirthDate, []);
    byName.set(client.nameKey, []);
    surnames.add(client.surname);
    if (client.client.justiceId !== null) justiceIds.add(client.client.justiceId);
  }
  for (let i = 0; i < persons.length; i += 1) {
    const person = persons[i];
    const birthDate = person.birthDate === null ? null : isoDate(person.birthDate);
    if (birthDate !== null) byBirthDate.get(birthDate)?.push(i);
    const surname = normalise(person.surname);
    if (surnames.has(surname)) byName.get(surname + KEY_SEPARATOR + normalise(person.givenName))?.push(i);
    if (justiceIds.has(person.personId) && !byId.has(person.personId)) byId.set(person.personId, i);
  }
  return { byBirthDate, byName, byId };
}

/** The candidates of a client, best first, one per person. */
function scoreCandidates(client: PreparedClient, index: PersonIndex, persons: JusticePerson[], normalise: (text: string) => string): Candidate[] {
  const candidates: Candidate[] = [];
  const consider = (person: number, agreement: DateAgreement): void => {
    if (!sexesAgree(client.client.sex, persons[person].sex)) return;
    const surname = normalise(persons[person].surname);
    const forename = normalise(persons[person].givenName);
    if (agreement === 'keying_error') {
      if (surname === client.surname && forename === client.forename) candidates.push({ person, score: 1 - DATE_TYPO_PENALTY, rule: 'date_typo' });
      return;
    }
    const score = nameScore(client, surname, forename);
    if (agreement === 'swapped') candidates.push({ person, score: Math.max(0, score - DATE_SWAP_PENALTY), rule: 'date_swap' });
    else candidates.push({ person, score, rule: surname === client.surname && forename === client.forename ? 'exact' : 'fuzzy_name' });
  };
  for (const person of index.byBirthDate.get(client.client.dateOfBirth) ?? []) consider(person, 'same');
  if (client.swappedBirthDate !== null) for (const person of index.byBirthDate.get(client.swappedBirthDate) ?? []) consider(person, 'swapped');
  for (const person of index.byName.get(client.nameKey) ?? []) {
    const birthDate = persons[person].birthDate;
    const iso = birthDate === null ? null : isoDate(birthDate);
    if (iso !== null && parseCivilDate(iso) !== null && differsByOneKeyingError(client.client.dateOfBirth, iso)) consider(person, 'keying_error');
  }
  return candidates.sort((a, b) => b.score - a.score || a.person - b.person);
}

function nameScore(client: PreparedClient, surname: string, forename: string): number {
  const surnameSimilarity = jaroWinkler(client.surname, surname);
  let forenameSimilarity: number;
  if (forename === client.forename) forenameSimilarity = 1;
  else if (canonicalGivenName(forename) === client.canonicalForename) forenameSimilarity = NICKNAME_SIMILARITY;
  else {
    forenameSimilarity = jaroWinkler(client.forename, forename);
    const isPrefix = forename.length > 0 && client.forename.length > 0 && (forename.startsWith(client.forename) || client.forename.startsWith(forename));
    if (isPrefix && surname === client.surname) forenameSimilarity = Math.max(forenameSimilarity, INITIAL_SIMILARITY);
  }
  return (surnameSimilarity + forenameSimilarity) / 2;
}

function justiceIdAgrees(client: PreparedClient, person: JusticePerson): boolean {
  if (!sexesAgree(client.client.sex, person.sex) || person.birthDate === null) return false;
  const birthDate = isoDate(person.birthDate);
  return birthDate !== null && (birthDate === client.client.dateOfBirth || birthDate === client.swappedBirthDate);
}

/** True unless both sexes are known and differ. */
function sexesAgree(clientSex: 'M' | 'F', personSex: string | null): boolean {
  const sex = parseSex(personSex);
  return sex === undefined || sex === clientSex;
}

/**
 * True when the dates differ by one keying error: one digit of `YYYYMMDD` changed, or two adjacent digits
 * of the year, month or day transposed. (Any year differing would let two namesakes born decades apart match.)
 */
function differsByOneKeyingError(a: string, b: string): boolean {
  const left = a.replaceAll('-', '');
  const right = b.replaceAll('-', '');
  const differing: number[] = [];
  for (let i = 0; i < left.length; i += 1) if (left[i] !== right[i]) differing.push(i);
  if (differing.length === 1) return true;
  const [first, second] = differing;
  const withinComponent = first !== 3 && first !== 5;
  return differing.length === 2 && second === first + 1 && withinComponent && left[first] === right[second] && left[second] === right[first];
}

/** The date as `YYYY-MM-DD` (already so in the common case, which is taken as it is), or null when it is not a date. */
function isoDate(text: string): string | null {
  if (ISO_DATE.test(text)) return text;
  const date = parseCivilDate(text);
  return date === null ? null : formatDate(date);
}

function formatDate({ year, month, day }: CivilDate): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Keeps each person's match with the client of the highest score; the other clients become ambiguous. */
function oneClientPerPerson(matches: ClientMatch[]): ClientMatch[] {
  const bestScore = new Map<string, number>();
  const holders = new Map<string, number>();
  for (const match of matches) {
    if (match.personId === null) continue;
    holders.set(match.personId, (holders.get(match.personId) ?? 0) + 1);
    bestScore.set(match.personId, Math.max(bestScore.get(match.personId) ?? 0, match.score));
  }
  const topHolders = new Map<string, number>();
  for (const match of matches) {
    if (match.personId !== null && match.score === bestScore.get(match.personId)) topHolders.set(match.personId, (topHolders.get(match.personId) ?? 0) + 1);
  }
  return matches.map((match) => {
    if (match.personId === null || holders.get(match.personId) === 1) return match;
    const keeps = match.score === bestScore.get(match.personId) && topHolders.get(match.personId) === 1;
    return keeps ? match : { ...match, personId: null, rule: null, reason: 'ambiguous' };
  });
}
