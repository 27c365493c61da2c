import type { Migration } from './database';

/**
 * Schema of a node database. Append new migrations; never edit one that has shipped.
 *
 * 1. `fedlab_datasets`: the catalog of imported datasets (schema JSON, exact row count, import time in ms).
 * 2. `fedlab_audit`: the hash-chained audit log, with triggers that refuse UPDATE and DELETE. A steward with
 *    write access to the file can still drop the triggers; the hash chain is what detects such tampering.
 * 3. `fedlab_nonces`: query nonces already seen (replay store), kept until the query expires.
 */
export const NODE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    up: `
      CREATE TABLE fedlab_datasets (
        name TEXT PRIMARY KEY,
        schema_json TEXT NOT NULL,
        row_count INTEGER NOT NULL,
        imported_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    up: `
      CREATE TABLE fedlab_audit (
        seq INTEGER PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        query_id TEXT,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL,
        digest BLOB,
        prev_hash BLOB NOT NULL,
        hash BLOB NOT NULL
      ) STRICT;
      CREATE TRIGGER fedlab_audit_no_update BEFORE UPDATE ON fedlab_audit
        BEGIN SELECT RAISE(ABORT, 'fedlab_audit is append-only'); END;
      CREATE TRIGGER fedlab_audit_no_delete BEFORE DELETE ON fedlab_audit
        BEGIN SELECT RAISE(ABORT, 'fedlab_audit is append-only'); END;
    `,
  },
  {
    version: 3,
    up: `
      CREATE TABLE fedlab_nonces (
        nonce_hex TEXT PRIMARY KEY,
        expires_at_ms INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX fedlab_nonces_expiry ON fedlab_nonces (expires_at_ms);
    `,
  },
];
