import { statementCache, type Database } from '../database';

/**
 * The public log's leaves (`log_leaves`): the encoded `LogEntry` bytes by index. The Merkle hashes over them
 * live in `merkle_nodes` ({@link SqliteMerkleStore}); the coordinator's TransparencyLog keeps the two in step.
 */
export class LogLeafRepository {
  /** This repository's statements, prepared once. */
  private readonly statement: ReturnType<typeof statementCache>;

  constructor(private readonly db: Database) {
    this.statement = statementCache(db);
  }

  insert(index: number, kind: string, leaf: Uint8Array, loggedAtMs: number): void {
    this.statement('INSERT INTO log_leaves (idx, kind, leaf, logged_at_ms) VALUES (?, ?, ?, ?)').run(index, kind, Buffer.from(leaf), loggedAtMs);
  }

  /** The leaf at `index`, or undefined when the log has none there. */
  leaf(index: number): Uint8Array | undefined {
    const row = this.statement('SELECT leaf FROM log_leaves WHERE idx = ?').get(index) as { leaf: Buffer } | undefined;
    return row?.leaf;
  }

  /** The leaves at indices [start, end), in order. */
  leaves(start: number, end: number): Uint8Array[] {
    return (this.statement('SELECT leaf FROM log_leaves WHERE idx >= ? AND idx < ? ORDER BY idx').all(start, end) as Array<{ leaf: Buffer }>).map(
      (r) => r.leaf,
    );
  }

  /** How many leaves are stored (a backup reports it: the tree size a restore goes back to). */
  count(): number {
    return this.db.prepare('SELECT COUNT(*) FROM log_leaves').pluck().get() as number;
  }
}
