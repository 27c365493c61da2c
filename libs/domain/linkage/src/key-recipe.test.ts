import type { DatasetSchema, KeyTransform, LinkageKeyPart, LinkageKeyRecipe } from '@fedlab/model';
import { describe, expect, it } from 'vitest';
import { computeKeys, recipeFingerprint, selectRecipes } from './key-recipe';

/** The key of a one-part recipe for a value. */
function key(transform: KeyTransform, value: unknown, length?: number): string | null {
  const part: LinkageKeyPart = length === undefined ? { column: 'c', transform } : { column: 'c', transform, length };
  return computeKeys([{ name: 'k', parts: [part] }], () => value)[0];
}

const row =
  (values: Record<string, unknown>) =>
  (column: string): unknown =>
    values[column];

const NAME_DOB: LinkageKeyRecipe = {
  name: 'name_dob',
  parts: [
    { column: 'surname', transform: 'soundex' },
    { column: 'given_name', transform: 'nickname', length: 1 },
    { column: 'birth_date', transform: 'date_unordered' },
  ],
};

describe('key transforms', () => {
  it.each<[KeyTransform, unknown, number | undefined, string | null]>([
    ['text', "  Côté-O'Brien ", undefined, 'côtéobrien'],
    ['ascii', "  Côté-O'Brien ", undefined, 'coteobrien'],
    ['digits', '9876 543 210', undefined, '9876543210'],
    ['digits', 1234567, undefined, '1234567'],
    ['first', 'Élodie', 3, 'elo'],
    ['first', 'Li', 3, 'li'],
    ['soundex', 'Côté', undefined, 'C300'],
    ['nysiis', 'Westerlund', undefined, 'WASTAR'],
    ['nysiis', 'Westerlund', 4, 'WAST'],
    ['nickname', 'Billy', undefined, 'william'],
    ['nickname', 'BILL', 2, 'wi'],
    ['nickname', 'Zoë', undefined, 'zoe'],
    ['nickname_soundex', 'Bob', undefined, 'R163'],
    ['date', '19850312', undefined, '1985-03-12'],
    ['date', '1985-03-12', undefined, '1985-03-12'],
    ['year', '1985-03-12', undefined, '1985'],
    ['month', '19850312', undefined, '03'],
    ['day', '19850312', undefined, '12'],
    ['date_unordered', '1985-12-03', undefined, '1985-03-12'],
    ['value', ' F ', undefined, 'F'],
    ['value', true, undefined, 'true'],
  ])('%s of %j (length %s) is %j', (transform, value, length, expected) => {
    expect(key(transform, value, length)).toBe(expected);
  });

  it('gives a date and the same date with day and month swapped the same date_unordered output', () => {
    expect(key('date_unordered', '1985-03-12')).toBe(key('date_unordered', '1985-12-03'));
    expect(key('date_unordered', '19850312')).toBe(key('date_unordered', '1985-12-03'));
    expect(key('date', '1985-03-12')).not.toBe(key('date', '1985-12-03'));
  });

  it.each<[KeyTransform, unknown]>([
    ['text', null],
    ['text', undefined],
    ['text', ''],
    ['text', ' -- '],
    ['ascii', { name: 'x' }],
    ['digits', 'unknown'],
    ['first', '   '],
    ['soundex', '123'],
    ['nysiis', "'"],
    ['nickname', '.'],
    ['nickname_soundex', ''],
    ['date', '1985-02-30'],
    ['year', 'March 1985'],
    ['date_unordered', '12/03/1985'],
    ['value', '  '],
  ])('gives no %s output for %j', (transform, value) => {
    expect(key(transform, value, transform === 'first' ? 2 : undefined)).toBeNull();
  });
});

describe('computeKeys', () => {
  it('joins the part outputs with U+001F, one key per recipe', () => {
    const recipes = [{ name: 'hn', parts: [{ column: 'health_number', transform: 'digits' as const }] }, NAME_DOB];
    const values = { health_number: '123-456', surname: "O'Brien", given_name: 'Bill', birth_date: '1985-12-03' };
    expect(computeKeys(recipes, row(values))).toEqual(['123456', 'O165\u001fw\u001f1985-03-12']);
  });

  it('gives no key for a recipe when any part has no output, and still computes the others', () => {
    const recipes = [{ name: 'hn', parts: [{ column: 'health_number', transform: 'digits' as const }] }, NAME_DOB];
    const values = { health_number: '', surname: 'Smith', given_name: 'Ann', birth_date: 'not a date' };
    expect(computeKeys(recipes, row(values))).toEqual([null, null]);
    expect(computeKeys(recipes, row({ ...values, health_number: '42' }))).toEqual(['42', null]);
  });

  it('gives equal keys for records that differ only in case, accents, punctuation, nicknames and day/month order', () => {
    const a = computeKeys([NAME_DOB], row({ surname: 'Côté', given_name: 'William', birth_date: '2001-04-07' }));
    const b = computeKeys([NAME_DOB], row({ surname: 'COTE ', given_name: 'bill', birth_date: '20010704' }));
    expect(a).toEqual(b);
  });

  it('rejects a first part without length, naming the recipe and not the value', () => {
    const recipe: LinkageKeyRecipe = { name: 'initials', parts: [{ column: 'surname', transform: 'first' }] };
    expect(() => computeKeys([recipe], () => 'Smith')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'keys: recipe "initials" part 1 (first) needs a length' }),
    );
  });

  it('rejects a transform it does not know', () => {
    const recipe = { name: 'future', parts: [{ column: 'surname', transform: 'metaphone' as KeyTransform }] };
    expect(() => computeKeys([recipe], () => 'Smith')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'keys: recipe "future" part 1 (metaphone) has an unknown transform' }),
    );
  });
});

describe('recipeFingerprint', () => {
  it('describes the transforms and lengths in order, without the column names', () => {
    expect(recipeFingerprint(NAME_DOB)).toBe('v1:soundex,nickname/1,date_unordered');
  });

  it('is equal for recipes that differ only in column names, name and description', () => {
    const renamed: LinkageKeyRecipe = {
      name: 'other',
      description: 'renamed columns',
      parts: NAME_DOB.parts.map((part, i) => ({ ...part, column: `column_${i}` })),
    };
    expect(recipeFingerprint(renamed)).toBe(recipeFingerprint(NAME_DOB));
  });

  it('shows the default NYSIIS length, so an explicit 6 is the same recipe', () => {
    const implicit = recipeFingerprint({ name: 'n', parts: [{ column: 's', transform: 'nysiis' }] });
    expect(implicit).toBe('v1:nysiis/6');
    expect(recipeFingerprint({ name: 'n', parts: [{ column: 's', transform: 'nysiis', length: 6 }] })).toBe(implicit);
  });

  it.each<[string, LinkageKeyPart[]]>([
    ['a transform', [{ column: 'surname', transform: 'nysiis' }, NAME_DOB.parts[1], NAME_DOB.parts[2]]],
    ['a length', [NAME_DOB.parts[0], { column: 'given_name', transform: 'nickname', length: 2 }, NAME_DOB.parts[2]]],
    ['the part order', [NAME_DOB.parts[1], NAME_DOB.parts[0], NAME_DOB.parts[2]]],
    ['a missing part', NAME_DOB.parts.slice(0, 2)],
  ])('differs for recipes that differ in %s', (_case, parts) => {
    expect(recipeFingerprint({ name: 'name_dob', parts })).not.toBe(recipeFingerprint(NAME_DOB));
  });
});

describe('selectRecipes', () => {
  const schema: DatasetSchema = {
    dataset: 'health_visits',
    person: 'health_number',
    columns: [],
    linkageKeys: [{ name: 'health_number', parts: [{ column: 'health_number', transform: 'digits' }] }, NAME_DOB],
  };

  it('returns the named recipes in the order asked', () => {
    expect(selectRecipes(schema, ['name_dob', 'health_number']).map((recipe) => recipe.name)).toEqual(['name_dob', 'health_number']);
  });

  it('rejects a name the dataset does not declare with INVALID_QUERY', () => {
    expect(() => selectRecipes(schema, ['health_number', 'ssn'])).toThrow(
      expect.objectContaining({ code: 'INVALID_QUERY', message: 'keys: dataset "health_visits" declares no linkage key recipe "ssn"' }),
    );
    expect(() => selectRecipes({ ...schema, linkageKeys: undefined }, ['health_number'])).toThrow(
      expect.objectContaining({ code: 'INVALID_QUERY', message: 'keys: dataset "health_visits" declares no linkage key recipe "health_number"' }),
    );
  });
});
