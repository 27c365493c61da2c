import BetterSqlite3 from 'better-sqlite3';
import { FedlabError } from '@fedlab/model';

/** An exclusive hold on a daemon's database, released by `release()` or when the process ends. */
export interface DaemonLock {
  readonly file: string;
  release(): void;
}

/**
 * Takes the daemon lock of a database: `<database>.lock`, a small SQLite file held in an exclusive
 * transaction for the daemon's lifetime. The operating system drops the lock when the process ends,
 * however it ends (a SIGKILL or a power cut leaves no stale lock to clean up), while the database
 * itself stays open to the steward's commands (`fedlab node import`, `project approve`, `audit verify`).
 *
 * @throws FedlabError ALREADY_RUNNING when another daemon holds it, naming the database and the setting.
 */
export function lockDatabaseForDaemon(database: string, daemon: 'node' | 'coordinator'): DaemonLock {
  const file = `${database}.lock`;
  const db = new BetterSqlite3(file, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new FedlabError(
        'ALREADY_RUNNING',
        `${database}: another ${daemon} daemon is already running on this database (it holds ${file}); stop it first, or give this one its own \`database\``,
      );
    }
    throw error;
  }
  return {
    file,
    release: () => {
      if (!db.open) return;
      db.exec('ROLLBACK');
      db.close();
    },
  };
}
