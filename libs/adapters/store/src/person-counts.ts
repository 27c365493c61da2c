import type { SqlValue } from './csv-import';

/**
 * Every person's number of rows in the file, counted in a first quick pass, and the rank of each row among
 * its person's as the second pass stages them (file order, as a window by import order would give it). The SQLite and PostgreSQL importers both
 * count a file's persons this way before they write its rows with their person columns.
 */
export class PersonCounts {
  /** Each person's number in the arrays below. */
  readonly #persons = new Map<SqlValue, number>();
  #totals = new Int32Array(1024);
  #seen = new Int32Array(1024);
  #consistent = true;
  /** What {@link next} found: the person's rows in the file (0 when the first pass did not see them) and this row's rank. */
  rows = 0;
  rank = 0;

  /** First pass: one more row of `person`. */
  count(person: SqlValue): void {
    let index = this.#persons.get(person);
    if (index === undefined) {
      index = this.#persons.size;
      this.#persons.set(person, index);
      if (index === this.#totals.length) {
        const grown = new Int32Array(index * 2);
        grown.set(this.#totals);
        this.#totals = grown;
      }
    }
    this.#totals[index]++;
  }

  get size(): number {
    return this.#persons.size;
  }

  /** Second pass: sets {@link rows} and {@link rank} for the next row of `person`. */
  next(person: SqlValue): void {
    const index = this.#persons.get(person);
    if (index === undefined) {
      this.#consistent = false;
      this.rows = 0;
      this.rank = 0;
      return;
    }
    if (this.#seen.length < this.#totals.length) this.#seen = new Int32Array(this.#totals.length);
    this.rows = this.#totals[index];
    this.rank = ++this.#seen[index];
    if (this.rank > this.rows) this.#consistent = false;
  }

  /** Whether both passes saw the same rows of every person (a file changed in between did not). */
  complete(): boolean {
    if (!this.#consistent) return false;
    for (let i = 0; i < this.#persons.size; i++) if (this.#seen[i] !== this.#totals[i]) return false;
    return true;
  }
}
