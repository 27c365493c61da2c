/** Column value types a dataset schema may declare. */
export const COLUMN_TYPES = ['text', 'integer', 'real', 'date', 'boolean'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/**
 * What a column may be used for (DESIGN.md §5): identifiers only for linkage keys, never in a filter,
 * group-by or output; quasi-identifiers and attributes in filters and group-by under disclosure control;
 * dates in filters.
 */
export const COLUMN_ROLES = ['identifier', 'quasi_identifier', 'attribute', 'date'] as const;
export type ColumnRole = (typeof COLUMN_ROLES)[number];

export interface ColumnSchema {
  name: string;
  type: ColumnType;
  role: ColumnRole;
  /** Whether empty cells are allowed (stored as NULL). */
  nullable: boolean;
  /** The closed value set of a categorical text column, published in the catalog. */
  values?: string[];
  /**
   * Public bounds `[lo, hi]` of an integer or real column (DESIGN.md §5 "Privacy model"): values are
   * clamped to them before any sum, mean or variance, which are refused on columns without bounds.
   * For an integer column they are also its public value set when it is a group-by dimension.
   */
  bounds?: [number, number];
  description?: string;
}

/** A dataset schema: the typed, role-tagged description of one CSV file / SQLite table. */
export interface DatasetSchema {
  dataset: string;
  description?: string;
  /** The identifier column naming the person each row is about (for person-level disclosure control). */
  person: string;
  /**
   * At most this many rows per person count in any query (`max_records_per_person`, default 1): the
   * contribution bound every noise scale is derived from. Rows beyond it are dropped deterministically:
   * a person's rows that pass the query's filter are kept in import order (SQLite rowid), first ones first.
   */
  maxRecordsPerPerson?: number;
  columns: ColumnSchema[];
  /**
   * Linkage key recipes over the identifier and quasi-identifier columns (DESIGN.md §7.4), one per
   * linkage pass; `linkage_keys` in the schema YAML.
   */
  linkageKeys?: LinkageKeyRecipe[];
}

/**
 * The closed set of transforms a linkage key part applies to its column value (implemented by
 * `@fedlab/linkage`, documented in its README):
 * - `text`: Unicode NFKC, case-folded, keeping only letters, marks and digits (no punctuation, no whitespace);
 * - `ascii`: `text` with diacritics removed and common Latin ligatures and letters spelled in ASCII;
 * - `digits`: only the digits 0-9;
 * - `first`: the first `length` characters of `ascii` (`length` required);
 * - `soundex`: American Soundex of the `ascii` letters;
 * - `nysiis`: NYSIIS of the `ascii` letters, truncated to `length` characters (default 6);
 * - `nickname`: `ascii` mapped to the canonical given name of its nickname group, truncated to `length`
 *   characters when given;
 * - `nickname_soundex`: American Soundex of `nickname`;
 * - `date`, `year`, `month`, `day`: a date (`YYYY-MM-DD` or `YYYYMMDD`) as `YYYY-MM-DD`, `YYYY`, `MM` or `DD`;
 * - `date_unordered`: the year, then the smaller and the larger of month and day (equal for a date and
 *   the same date with day and month swapped);
 * - `value`: the value as text, trimmed, without control characters (for categorical columns such as sex).
 */
export const KEY_TRANSFORMS = [
  'text',
  'ascii',
  'digits',
  'first',
  'soundex',
  'nysiis',
  'nickname',
  'nickname_soundex',
  'date',
  'year',
  'month',
  'day',
  'date_unordered',
  'value',
] as const;
export type KeyTransform = (typeof KEY_TRANSFORMS)[number];

/** Transforms that require a `length`. */
export const KEY_TRANSFORMS_REQUIRING_LENGTH: readonly KeyTransform[] = ['first'];
/** Transforms that accept an optional `length` (truncation of their output). */
export const KEY_TRANSFORMS_WITH_OPTIONAL_LENGTH: readonly KeyTransform[] = ['nysiis', 'nickname'];
/** The range of a key part's `length`. */
export const KEY_PART_LENGTH = { min: 1, max: 10 } as const;
/** At most this many parts per recipe and recipes per dataset. */
export const LINKAGE_KEY_LIMITS = { partsPerRecipe: 6, recipesPerDataset: 8 } as const;

/** One component of a linkage key: a column value put through a transform. */
export interface LinkageKeyPart {
  column: string;
  transform: KeyTransform;
  /** Characters kept: required by `first`, optional for `nysiis` and `nickname`, not allowed otherwise. */
  length?: number;
}

/**
 * A linkage key recipe (one linkage pass): the key is its parts' outputs joined with U+001F, or no key
 * when any part has no output. Recipes of the same name at two nodes must use the same transforms.
 */
export interface LinkageKeyRecipe {
  name: string;
  description?: string;
  parts: LinkageKeyPart[];
}

/** Metadata a node publishes about a dataset: no values other than declared categorical value sets. */
export interface CatalogDataset {
  dataset: string;
  description: string;
  /** The contribution bound of the dataset (see DatasetSchema.maxRecordsPerPerson). */
  maxRecordsPerPerson: number;
  /** Row count rounded to the nearest 100 (never exact, so it reveals no small changes). */
  approxRows: number;
  columns: Array<Omit<ColumnSchema, 'nullable'> & { nullable: boolean }>;
}

/** Dataset and column names: lower snake case, starting with a letter, at most 63 characters. */
export const IDENTIFIER_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Columns the node adds to every imported dataset table (never released; schema columns may not
 * start with `fedlab_`): how many rows the row's person has in the whole table, and the row's rank
 * among them in import order. They let a query bound each person's rows without ranking them anew:
 * without a filter the first `max_records_per_person` rows are those of rank ≤ the bound, and with one
 * only persons with more rows than the bound need ranking.
 */
export const PERSON_ROWS_COLUMN = 'fedlab_person_rows';
export const PERSON_RANK_COLUMN = 'fedlab_person_rank';

/** Default and limits of a dataset's `max_records_per_person`. */
export const MAX_RECORDS_PER_PERSON = { default: 1, max: 10_000 } as const;

/** The contribution bound of a dataset: its declared `max_records_per_person`, or the default of 1. */
export function maxRecordsPerPerson(schema: Pick<DatasetSchema, 'maxRecordsPerPerson'>): number {
  return schema.maxRecordsPerPerson ?? MAX_RECORDS_PER_PERSON.default;
}
