import { openDatabase, type Database } from '../database';
import { DurabilityGate, IMMEDIATE_OUTPUT, startGroupCommit, type GroupCommitOptions, type OutputGate } from '../durability-gate';
import { SqliteMerkleStore } from '../merkle-store';
import { COORDINATOR_MIGRATIONS } from '../coordinator-schema';
import { GovernanceRepository } from './governance-repository';
import { LogLeafRepository } from './log-leaf-repository';
import { NodeCatalogRepository } from './node-catalog-repository';
import { PrivacyBudgetRepository } from './privacy-budget-repository';
import { QueryRepository } from './query-repository';

/**
 * The coordinator's database (DESIGN.md §6), opened and migrated ({@link COORDINATOR_MIGRATIONS}), with one
 * repository per concern. The repositories hold every statement that touches these tables; the services
 * hold the rules.
 */
export class CoordinatorStore {
  /** The connection: for the repositories, the size and liveness checks of the daemon, and tests. Services use the repositories. */
  readonly db: Database;
  /** Queries and each target node's delivery state. */
  readonly queries: QueryRepository;
  /** The public log's leaves. */
  readonly logLeaves: LogLeafRepository;
  /** The public log's Merkle hashes. */
  readonly logHashes: SqliteMerkleStore;
  /** Projects, approvals, revocations and the digests of every logged governance document. */
  readonly governance: GovernanceRepository;
  /** Privacy budgets as the nodes' answers state them. */
  readonly budgets: PrivacyBudgetRepository;
  /** The nodes' dataset catalogs. */
  readonly catalogs: NodeCatalogRepository;

  /**
   * What the coordinator's outputs (replies, streamed messages, pages) wait for. With `groupCommit`, commits do
   * not wait for the disk and every output waits for one shared sync of the commits before it
   * ({@link DurabilityGate}); otherwise every commit waited and outputs go at once. Only the daemon, which
   * sends everything through it, opens its store with `groupCommit`.
   */
  readonly outputs: OutputGate;

  constructor(file: string, options: { groupCommit?: GroupCommitOptions } = {}) {
    this.db = openDatabase(file, COORDINATOR_MIGRATIONS);
    this.outputs = options.groupCommit ? startGroupCommit(this.db, file, options.groupCommit) : IMMEDIATE_OUTPUT;
    this.queries = new QueryRepository(this.db);
    this.logLeaves = new LogLeafRepository(this.db);
    this.logHashes = new SqliteMerkleStore(this.db);
    this.governance = new GovernanceRepository(this.db);
    this.budgets = new PrivacyBudgetRepository(this.db);
    this.catalogs = new NodeCatalogRepository(this.db);
  }

  /** Runs `writes` in one transaction: every write the repositories make in it commits, or none does. */
  transaction<T>(writes: () => T): T {
    return this.db.transaction(writes)();
  }

  close(): void {
    if (this.outputs instanceof DurabilityGate) this.outputs.close();
    this.db.close();
  }
}
