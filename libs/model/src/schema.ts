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
  description?: string;
}

/** A dataset schema: the typed, role-tagged description of one CSV file / SQLite table. */
export interface DatasetSchema {
  dataset: string;
  description?: string;
  /** The identifier column naming the person each row is about (for person-level disclosure control). */
  person: string;
  columns: ColumnSchema[];
}

/** Metadata a node publishes about a dataset: no values other than declared categorical value sets. */
export interface CatalogDataset {
  dataset: string;
  description: string;
  /** Row count rounded to the nearest 100 (never exact, so it reveals no small changes). */
  approxRows: number;
  columns: Array<Omit<ColumnSchema, 'nullable'> & { nullable: boolean }>;
}

/** Dataset and column names: lower snake case, starting with a letter, at most 63 characters. */
export const IDENTIFIER_NAME = /^[a-z][a-z0-9_]{0,62}$/;
