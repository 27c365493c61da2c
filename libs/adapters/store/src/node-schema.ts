import type { Migration } from './database';

/**
 * The node database's one schema (issue 17: one owner per database): every table, in one numbered
 * migration list. Append new migrations; never edit one that has shipped.
 *
 * 1. `fedlab_datasets`: the catalog of imported datasets (schema JSON, exact row count, import time in ms).
 * 2. `fedlab_audit`: the hash-chained audit log, with triggers that refuse UPDATE and DELETE. A steward with
 *    write access to the file can still drop the triggers; the hash chain is what detects such tampering.
 * 3. `fedlab_nonces`: query nonces already seen (replay store), kept until the query expires.
 * 4. `fedlab_answers`: every signed answer or refusal by query id, so a re-delivered query (after a
 *    reconnect or a coordinator restart) gets exactly the answer already given and is not re-executed.
 * 5. `fedlab_tree_head`: the last transparency-log tree head this node verified; every later head
 *    must be proven consistent with it.
 * 6. `fedlab_settings`: small durable facts, such as the highest roster version accepted.
 * 7. `fedlab_projects`, `fedlab_approvals`: signed projects and this node steward's signed approvals
 *    (and revocations); a query runs only inside a project approved here.
 * 8. `fedlab_cohorts`: keyed hashes of study cohorts and evaluation treatment groups (differencing).
 * 9. `fedlab_evaluations`, `fedlab_evaluation_clients`, `fedlab_evaluation_cohort`: an evaluation's
 *    uploaded client list and matched cohort, kept only until the report (or the retention period) —
 *    then deleted, the deletion recorded here and in the audit chain.
 * 10. `fedlab_privacy_ledger`: the privacy budget (ρ) each answered query spent, by project and
 *    dataset; append-only. A query id appears once, so a re-delivered query never spends twice.
 * 11. `fedlab_datasets.engine`, `.location`, `.in_place`: which engine holds each dataset ('sqlite' for
 *    every earlier import), where its data lives outside this file (a DuckDB file of the engine's folder,
 *    or a steward's Parquet file attached in place) and whether it was attached in place (not copied).
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
  {
    version: 4,
    up: `
      CREATE TABLE fedlab_answers (
        query_id TEXT PRIMARY KEY,
        query_hash BLOB NOT NULL,
        envelope BLOB NOT NULL,
        created_at_ms INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 5,
    up: `
      CREATE TABLE fedlab_tree_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        size INTEGER NOT NULL,
        root_hash BLOB NOT NULL,
        verified_at_ms INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 6,
    up: `
      CREATE TABLE fedlab_settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 7,
    up: `
      CREATE TABLE fedlab_projects (
        project_id TEXT PRIMARY KEY,
        signed TEXT NOT NULL,
        project_hash TEXT NOT NULL,
        stored_at_ms INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE fedlab_approvals (
        project_id TEXT PRIMARY KEY REFERENCES fedlab_projects (project_id),
        signed TEXT NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0,
        revocation TEXT,
        updated_at_ms INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 8,
    up: `
      -- Cohorts of linkage studies, per project, as sorted 8-byte keyed hashes of their person ids:
      -- enough to refuse a cohort that differs from an earlier one by only a few persons.
      CREATE TABLE fedlab_cohorts (
        query_id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        members BLOB NOT NULL,
        created_at_ms INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX fedlab_cohorts_project ON fedlab_cohorts (project_id);
    `,
  },
  {
    version: 9,
    up: `
      CREATE TABLE fedlab_evaluations (
        query_id TEXT PRIMARY KEY,
        organisation_id TEXT NOT NULL,
        received_at_ms INTEGER NOT NULL,
        clients INTEGER NOT NULL,
        delete_after_ms INTEGER,
        deleted_at_ms INTEGER
      ) STRICT;
      CREATE TABLE fedlab_evaluation_clients (
        query_id TEXT NOT NULL REFERENCES fedlab_evaluations (query_id),
        line INTEGER NOT NULL,
        surname TEXT NOT NULL,
        forename TEXT NOT NULL,
        date_of_birth TEXT NOT NULL,
        sex TEXT NOT NULL,
        intervention_start TEXT NOT NULL,
        intervention_end TEXT NOT NULL,
        justice_id TEXT,
        matched_person TEXT,
        PRIMARY KEY (query_id, line)
      ) STRICT;
      CREATE TABLE fedlab_evaluation_cohort (
        query_id TEXT NOT NULL REFERENCES fedlab_evaluations (query_id),
        person_id TEXT NOT NULL,
        grp TEXT NOT NULL,
        weight REAL NOT NULL,
        PRIMARY KEY (query_id, grp, person_id)
      ) STRICT;
    `,
  },
  {
    version: 10,
    up: `
      CREATE TABLE fedlab_privacy_ledger (
        query_id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        dataset TEXT NOT NULL,
        analysis TEXT NOT NULL,
        rho REAL NOT NULL CHECK (rho > 0),
        spent_at_ms INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX fedlab_privacy_ledger_project ON fedlab_privacy_ledger (project_id, dataset);
      CREATE TRIGGER fedlab_privacy_ledger_no_update BEFORE UPDATE ON fedlab_privacy_ledger
        BEGIN SELECT RAISE(ABORT, 'fedlab_privacy_ledger is append-only'); END;
      CREATE TRIGGER fedlab_privacy_ledger_no_delete BEFORE DELETE ON fedlab_privacy_ledger
        BEGIN SELECT RAISE(ABORT, 'fedlab_privacy_ledger is append-only'); END;
    `,
  },
  {
    version: 11,
    up: `
      ALTER TABLE fedlab_datasets ADD COLUMN engine TEXT NOT NULL DEFAULT 'sqlite';
      ALTER TABLE fedlab_datasets ADD COLUMN location TEXT;
      ALTER TABLE fedlab_datasets ADD COLUMN in_place INTEGER NOT NULL DEFAULT 0 CHECK (in_place IN (0, 1));
    `,
  },
];
