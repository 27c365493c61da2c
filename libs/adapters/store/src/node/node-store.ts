import { AuditLog } from '../audit-log';
import { databaseSizeBytes, openDatabase, type Database } from '../database';
import { DurabilityGate, IMMEDIATE_OUTPUT, startGroupCommit, type GroupCommitOptions, type OutputGate } from '../durability-gate';
import { NODE_MIGRATIONS } from '../node-schema';
import { AnswerRepository } from './answer-repository';
import { CohortRepository } from './cohort-repository';
import type { DatasetEngine } from './dataset-engine';
import { openDatasetEngine, type EngineSettings } from './open-dataset-engine';
import { EvaluationRepository } from './evaluation-repository';
import { NonceRepository } from './nonce-repository';
import { PrivacyLedgerRepository } from './privacy-ledger-repository';
import { ProjectApprovalRepository } from './project-approval-repository';
import { SettingsRepository } from './settings-repository';
import { SqliteDatasetEngine } from './sqlite-dataset-engine';
import { TreeHeadRepository } from './tree-head-repository';

/**
 * Everything a node keeps (issue 17: one owner per database): one repository per concern of the node
 * database, each owning its SQL, the audit chain, and the engine of the node's datasets. Rules stay in
 * the node service, which takes a {@link NodeStore} (or the parts it needs, as `Pick<NodeStore, …>`)
 * instead of a database connection.
 */
export class SqliteNodeStore {
  readonly settings: SettingsRepository;
  readonly treeHead: TreeHeadRepository;
  readonly nonces: NonceRepository;
  readonly answers: AnswerRepository;
  readonly ledger: PrivacyLedgerRepository;
  readonly projects: ProjectApprovalRepository;
  readonly evaluations: EvaluationRepository;
  readonly cohorts: CohortRepository;
  readonly audit: AuditLog;
  /** The node's datasets: by default tables of the node database itself ({@link SqliteDatasetEngine}). */
  readonly datasets: DatasetEngine;
  /** The connection itself, for tests and tools that inspect the file; the node service uses the repositories. */
  readonly db: Database;
  #outputs: OutputGate = IMMEDIATE_OUTPUT;

  constructor(db: Database, datasets: DatasetEngine = new SqliteDatasetEngine(db)) {
    this.db = db;
    this.settings = new SettingsRepository(db);
    this.treeHead = new TreeHeadRepository(db);
    this.nonces = new NonceRepository(db);
    this.answers = new AnswerRepository(db);
    this.ledger = new PrivacyLedgerRepository(db);
    this.projects = new ProjectApprovalRepository(db);
    this.evaluations = new EvaluationRepository(db);
    this.cohorts = new CohortRepository(db);
    this.audit = new AuditLog(db);
    this.datasets = datasets;
  }

  /**
   * Runs `fn` in one transaction of the node database and returns its result: its writes through any of
   * the repositories are all kept or, when it throws, none. A transaction inside another joins it.
   */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /**
   * What the node's outputs (answers, checkpoints, protocol steps) wait for: at once, as every commit waits
   * for the disk, until the daemon calls {@link startGroupCommit}.
   */
  get outputs(): OutputGate {
    return this.#outputs;
  }

  /**
   * Group commit for the daemon, which sends everything through {@link outputs}: commits stop waiting for
   * the disk, and each output waits for one shared sync of the commits before it ({@link DurabilityGate}).
   */
  startGroupCommit(options: GroupCommitOptions): void {
    if (this.#outputs instanceof DurabilityGate) return;
    this.#outputs = startGroupCommit(this.db, this.db.name, options);
  }

  /** Moves the write-ahead log into the database file and truncates it, so no page image of deleted rows stays there. */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** Size of the node database file in bytes (its write-ahead log not counted). */
  sizeBytes(): number {
    return databaseSizeBytes(this.db);
  }

  /** Whether the store is open (false once closed). */
  get open(): boolean {
    return this.db.open;
  }

  close(): void {
    if (this.#outputs instanceof DurabilityGate) this.#outputs.close();
    this.db.close();
  }
}

/** The node store as the node service sees it: repositories, datasets and transactions, no connection. */
export type NodeStore = Omit<SqliteNodeStore, 'db'>;

/**
 * Opens (creating and migrating if needed, see {@link openDatabase}) a node database with every deleted
 * row overwritten, not just unlinked (`secure_delete`: an evaluation's client list, after its report).
 */
export function openNodeStore(file: string): SqliteNodeStore {
  const db = openNodeDatabase(file);
  try {
    return new SqliteNodeStore(db);
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Opens a node database as {@link openNodeStore} does, with its datasets in the engine `settings` name
 * (node.yaml `engine:`); the caller closes the engine (`store.datasets.close()`) before the store.
 */
export async function openNodeStoreWithEngine(
  file: string,
  settings: EngineSettings,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<SqliteNodeStore> {
  const db = openNodeDatabase(file);
  try {
    return new SqliteNodeStore(db, await openDatasetEngine(settings, db, env));
  } catch (error) {
    db.close();
    throw error;
  }
}

function openNodeDatabase(file: string): Database {
  const db = openDatabase(file, NODE_MIGRATIONS);
  try {
    db.pragma('secure_delete = ON');
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
