import {
  FedlabError,
  KEY_PART_LENGTH,
  KEY_TRANSFORMS,
  KEY_TRANSFORMS_REQUIRING_LENGTH,
  KEY_TRANSFORMS_WITH_OPTIONAL_LENGTH,
  type DatasetSchema,
  type KeyTransform,
  type LinkageKeyPart,
  type LinkageKeyRecipe,
} from '@fedlab/model';
import { canonicalGivenName } from './nicknames';
import { firstCharacters, fourDigits, normaliseAscii, normaliseText, onlyDigits, parseCivilDate, plainValue, twoDigits, valueText } from './normalise';
import { NYSIIS_DEFAULT_LENGTH, nysiis, soundex } from './phonetic';

/** Separates the parts of a key (U+001F, the ASCII unit separator, which no part output contains). */
export const KEY_PART_SEPARATOR = '\u001f';

/**
 * Version of the key computation (normalisations, phonetic codes, date formats and the nickname table),
 * the first field of every fingerprint: bump it whenever any of them changes the keys it computes.
 */
export const KEY_ALGORITHM_VERSION = 1;

/**
 * The length a part uses: its own, or the transform's default. Throws INVALID_ARGUMENT for a part a
 * valid schema cannot contain (an unknown transform, a `first` part without length, a length out of
 * range or on a transform that takes none); the message names the recipe and part, never a value.
 */
function effectiveLength(part: LinkageKeyPart, recipe: LinkageKeyRecipe, index: number): number | undefined {
  const where = `keys: recipe "${recipe.name}" part ${index + 1} (${part.transform})`;
  if (!KEY_TRANSFORMS.includes(part.transform)) throw new FedlabError('INVALID_ARGUMENT', `${where} has an unknown transform`);
  if (part.length === undefined) {
    if (KEY_TRANSFORMS_REQUIRING_LENGTH.includes(part.transform)) throw new FedlabError('INVALID_ARGUMENT', `${where} needs a length`);
    return part.transform === 'nysiis' ? NYSIIS_DEFAULT_LENGTH : undefined;
  }
  if (!KEY_TRANSFORMS_REQUIRING_LENGTH.includes(part.transform) && !KEY_TRANSFORMS_WITH_OPTIONAL_LENGTH.includes(part.transform)) {
    throw new FedlabError('INVALID_ARGUMENT', `${where} takes no length`);
  }
  if (!Number.isInteger(part.length) || part.length < KEY_PART_LENGTH.min || part.length > KEY_PART_LENGTH.max) {
    throw new FedlabError('INVALID_ARGUMENT', `${where}: length must be an integer from ${KEY_PART_LENGTH.min} to ${KEY_PART_LENGTH.max}`);
  }
  return part.length;
}

const nonEmpty = (text: string): string | null => (text === '' ? null : text);

function transformText(transform: KeyTransform, text: string, length: number | undefined): string | null {
  switch (transform) {
    case 'text':
      return nonEmpty(normaliseText(text));
    case 'ascii':
      return nonEmpty(normaliseAscii(text));
    case 'digits':
      return nonEmpty(onlyDigits(text));
    case 'first':
      return nonEmpty(firstCharacters(normaliseAscii(text), length ?? 1));
    case 'soundex':
      return soundex(normaliseAscii(text));
    case 'nysiis':
      return nysiis(normaliseAscii(text), length);
    case 'nickname': {
      const ascii = normaliseAscii(text);
      if (ascii === '') return null;
      const canonical = canonicalGivenName(ascii);
      return length === undefined ? canonical : firstCharacters(canonical, length);
    }
    case 'nickname_soundex':
      return soundex(canonicalGivenName(normaliseAscii(text)));
    case 'value':
      return nonEmpty(plainValue(text));
    case 'date':
    case 'year':
    case 'month':
    case 'day':
    case 'date_unordered':
      return transformDate(transform, text);
  }
}

function transformDate(transform: KeyTransform, text: string): string | null {
  const date = parseCivilDate(text);
  if (date === null) return null;
  const [year, month, day] = [fourDigits(date.year), twoDigits(date.month), twoDigits(date.day)];
  switch (transform) {
    case 'year':
      return year;
    case 'month':
      return month;
    case 'day':
      return day;
    case 'date_unordered':
      return date.month <= date.day ? `${year}-${month}-${day}` : `${year}-${day}-${month}`;
    default:
      return `${year}-${month}-${day}`;
  }
}

// Null when the value is missing, empty, of another type than text, number, bigint or boolean, or does
// not parse (a date transform on a non-date). Never throws on a value.
function applyKeyTransform(transform: KeyTransform, value: unknown, length?: number): string | null {
  const text = valueText(value);
  return text === null ? null : transformText(transform, text, length);
}

/**
 * One key per recipe for a record whose column values `row` returns: the parts' outputs joined with
 * U+001F ({@link KEY_PART_SEPARATOR}), or null when any part has no output (then that pass does not
 * link this record). The key carries no recipe name: the protocol adds the pass to the hash domain.
 *
 * @throws FedlabError INVALID_ARGUMENT for a recipe a valid schema cannot contain (see `parseDatasetSchema`).
 */
export function computeKeys(recipes: readonly LinkageKeyRecipe[], row: (column: string) => unknown): Array<string | null> {
  return recipes.map((recipe) => {
    const outputs: string[] = [];
    for (const [index, part] of recipe.parts.entries()) {
      const output = applyKeyTransform(part.transform, row(part.column), effectiveLength(part, recipe, index));
      if (output === null) return null;
      outputs.push(output);
    }
    return outputs.join(KEY_PART_SEPARATOR);
  });
}

/**
 * A stable description of what a recipe computes: the algorithm version, then each part's transform
 * and effective length in order (`v1:soundex,nickname/1,date_unordered`; `nysiis` shows its default
 * length 6), but not the column names, which each node names its own way. Two nodes whose recipes of
 * the same name have equal fingerprints compute comparable keys.
 *
 * @throws FedlabError INVALID_ARGUMENT for a recipe a valid schema cannot contain.
 */
export function recipeFingerprint(recipe: LinkageKeyRecipe): string {
  const parts = recipe.parts.map((part, index) => {
    const length = effectiveLength(part, recipe, index);
    return length === undefined ? part.transform : `${part.transform}/${length}`;
  });
  return `v${KEY_ALGORITHM_VERSION}:${parts.join(',')}`;
}

/**
 * The recipes of `schema` named `names`, in that order.
 *
 * @throws FedlabError INVALID_QUERY `keys: dataset "X" declares no linkage key recipe "Y"` for a name
 * the schema does not declare.
 */
export function selectRecipes(schema: DatasetSchema, names: readonly string[]): LinkageKeyRecipe[] {
  return names.map((name) => {
    const recipe = schema.linkageKeys?.find((candidate) => candidate.name === name);
    if (recipe === undefined) {
      throw new FedlabError('INVALID_QUERY', `keys: dataset "${schema.dataset}" declares no linkage key recipe "${name}"`, {
        dataset: schema.dataset,
        recipe: name,
      });
    }
    return recipe;
  });
}
