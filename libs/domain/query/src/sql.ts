import type { Scalar } from '@fedlab/model';

/** A value bound to a positional parameter. */
export type SqlParam = string | number | null;

/** A fragment of SQL text with its bound parameters: the text around the parameters, in text order. */
export interface Sql {
  /** One more piece than parameters: parameter i stands between pieces i and i + 1. */
  readonly pieces: readonly string[];
  readonly params: readonly SqlParam[];
}

function concat(fragments: readonly Sql[], separators: readonly string[]): Sql {
  const pieces = [separators[0]!];
  const params: SqlParam[] = [];
  fragments.forEach((fragment, i) => {
    pieces[pieces.length - 1] += fragment.pieces[0]!;
    pieces.push(...fragment.pieces.slice(1));
    params.push(...fragment.params);
    pieces[pieces.length - 1] += separators[i + 1]!;
  });
  return { pieces, params };
}

/** Builds SQL from constant text and fragments, keeping parameters in text order. */
export function sql(strings: TemplateStringsArray, ...parts: Sql[]): Sql {
  return concat(parts, strings);
}
export const raw = (text: string): Sql => ({ pieces: [text], params: [] });
/** A bound parameter: booleans as 0/1. */
export const bind = (value: Scalar): Sql => ({ pieces: ['', ''], params: [typeof value === 'boolean' ? Number(value) : value] });
export const ident = (name: string): Sql => raw(`"${name.replaceAll('"', '""')}"`);
export function join(parts: readonly Sql[], separator: string): Sql {
  return concat(parts, ['', ...parts.slice(1).map(() => separator), '']);
}

/** The text of a fragment with each parameter's placeholder, and its parameters. */
export function render(fragment: Sql, placeholder: (n: number, value: SqlParam) => string): { sql: string; params: SqlParam[] } {
  const text = fragment.params.map((value, i) => placeholder(i + 1, value) + fragment.pieces[i + 1]!).join('');
  return { sql: fragment.pieces[0]! + text, params: [...fragment.params] };
}
