import type { Migration } from './database';
import { MERKLE_MIGRATION_SQL } from './merkle-store';

/*
 * The coordinator database's one schema (issue 17: one owner per database): every table, in one
 * numbered migration list. Append new migrations; never edit one that has shipped. The repositories in
 * ./coordinator/ (bundled as CoordinatorStore) hold the only SQL that touches these tables.
 */

/** The public log's leaves (the Merkle nodes live in MERKLE_MIGRATION_SQL's table). */
export const LOG_LEAVES_SQL = `
  CREATE TABLE log_leaves (
    idx INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    leaf BLOB NOT NULL,
    logged_at_ms INTEGER NOT NULL
  );
`;

/** Numbered migrations of the coordinator database (PRAGMA user_version). */
export const COORDINATOR_MIGRATIONS: Migration[] = [
  {
    version: 1,
    up: `
      CREATE TABLE queries (
        query_id TEXT PRIMARY KEY,
        researcher_id TEXT NOT NULL,
        envelope BLOB NOT NULL,
        countersigned BLOB NOT NULL,
        log_index INTEGER NOT NULL,
        submitted_at_ms INTEGER NOT NULL,
        deadline_at_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        code TEXT NOT NULL DEFAULT '',
        message TEXT NOT NULL DEFAULT ''
      );
      CREATE TABLE query_nodes (
        query_id TEXT NOT NULL REFERENCES queries(query_id),
        node_id TEXT NOT NULL,
        state TEXT NOT NULL,
        code TEXT NOT NULL DEFAULT '',
        message TEXT NOT NULL DEFAULT '',
        updated_at_ms INTEGER NOT NULL,
        dispatched INTEGER NOT NULL DEFAULT 0,
        answer BLOB,
        PRIMARY KEY (query_id, node_id)
      );
      CREATE INDEX query_nodes_open ON query_nodes(node_id, state);
      CREATE TABLE log_entries (
        log_index INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        entry_hash BLOB NOT NULL,
        time_ms INTEGER NOT NULL
      );
      CREATE TABLE node_catalogs (
        node_id TEXT PRIMARY KEY,
        catalog BLOB NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );
    `,
  },
  {
    // The public log becomes an RFC 6962 Merkle tree: leaves plus every complete subtree hash.
    version: 2,
    up: `
      DROP TABLE log_entries;
      ${LOG_LEAVES_SQL}
      ${MERKLE_MIGRATION_SQL}
    `,
  },
  {
    // Projects, approvals and revocations (each also a log entry); queries remember their project.
    version: 3,
    up: `
      CREATE TABLE projects (
        project_id TEXT PRIMARY KEY,
        signed TEXT NOT NULL,
        log_index INTEGER NOT NULL
      );
      CREATE TABLE approvals (
        project_id TEXT NOT NULL REFERENCES projects (project_id),
        node_id TEXT NOT NULL,
        signed TEXT NOT NULL,
        log_index INTEGER NOT NULL,
        PRIMARY KEY (project_id, node_id)
      );
      CREATE TABLE revocations (
        project_id TEXT NOT NULL REFERENCES projects (project_id),
        node_id TEXT NOT NULL,
        signed TEXT NOT NULL,
        log_index INTEGER NOT NULL
      );
      ALTER TABLE queries ADD COLUMN project_id TEXT NOT NULL DEFAULT '';
      CREATE TABLE governance_documents (
        payload_sha256 TEXT PRIMARY KEY,
        log_index INTEGER NOT NULL
      );
    `,
  },
  {
    // Pooled queries (secure aggregation): the flag, and the coordinator's signed PooledResult.
    version: 4,
    up: `
      ALTER TABLE queries ADD COLUMN pooled INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE queries ADD COLUMN pooled_result BLOB;
    `,
  },
  {
    // Evaluations: the organisation's sealed client list, relayed to the node and dropped once it answered.
    version: 5,
    up: `ALTER TABLE queries ADD COLUMN attachment BLOB;`,
  },
  {
    // Privacy budgets as the nodes' signed answers state them (public: the register shows them).
    version: 6,
    up: `
      CREATE TABLE privacy_budgets (
        project_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        dataset TEXT NOT NULL,
        total REAL NOT NULL,
        spent REAL NOT NULL,
        remaining REAL NOT NULL,
        PRIMARY KEY (project_id, node_id, dataset)
      );
    `,
  },
];
