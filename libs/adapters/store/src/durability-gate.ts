import { closeSync, fstatSync, fsync, fsyncSync, openSync, realpathSync, statSync } from 'node:fs';
import type { Database } from './database';

/** How a gate syncs a file descriptor to the disk: `fs.fsync` by default (a seam for tests). */
export type SyncFile = (fd: number, done: (error: Error | null) => void) => void;

/** What a daemon's outputs wait for: {@link DurabilityGate}, or {@link IMMEDIATE_OUTPUT} for a connection whose every commit waits for the disk. */
export interface OutputGate {
  /** Runs `output` once every commit made so far is on the disk; outputs run in the order given. */
  after(output: () => void): void;
  /**
   * Runs `output`, which shows no commit (a heartbeat, a receipt), in its place among the outputs: at once
   * when none waits, else right after the last one waiting, without a sync of its own.
   */
  inOrder(output: () => void): void;
}

/** What a daemon passes to {@link startGroupCommit}. */
export interface GroupCommitOptions {
  /** A sync failed: the gate sends nothing more, and the daemon should stop. */
  onFailure: (error: Error) => void;
  /** A sync was done in `seconds` and the `outputs` that waited for it were sent (for the daemon's metrics). */
  onSynced?: (seconds: number, outputs: number) => void;
}

/** The gate of a connection whose every commit already waited for the disk: outputs run at once. */
export const IMMEDIATE_OUTPUT: OutputGate = { after: (output) => output(), inOrder: (output) => output() };

/**
 * Group commit for a daemon's SQLite connection in WAL mode whose commits do not wait for the disk
 * (`PRAGMA synchronous = NORMAL`): a commit returns once its pages are in the write-ahead log, and the
 * daemon sends nothing that depends on it before {@link after} says every commit so far is on the disk.
 * One `fsync` of the write-ahead log, run on libuv's thread pool rather than the event loop, covers every
 * commit made before it started, so under load one sync serves many commits and the event loop never
 * waits for the disk. SQLite itself still syncs the log before a checkpoint copies it into the database
 * file, and the file after.
 *
 * A power loss can then take back only commits whose outputs were never sent: nothing another party saw
 * is lost. A sync that fails leaves every later output unsent and calls `onFailure` (a daemon stops: it
 * can no longer say what is on the disk).
 */
export class DurabilityGate implements OutputGate {
  readonly #walFile: string;
  readonly #changes: () => number;
  readonly #inTransaction: () => boolean;
  #startScheduled = false;
  readonly #sync: SyncFile;
  readonly #onFailure: (error: Error) => void;
  readonly #onSynced: ((seconds: number, outputs: number) => void) | undefined;
  #fd: number | undefined;
  /** total_changes() that the last completed sync covers. */
  #synced: number;
  #syncing = false;
  #failed = false;
  #closed = false;
  #closeAfterSync: number | undefined;
  /** Outputs waiting for the next sync, in order. */
  #waiting: Array<() => void> = [];
  /** Outputs waiting for the sync under way (more may join them with {@link inOrder} until it is done). */
  #running: Array<() => void> = [];

  /**
   * Syncs the database file and its write-ahead log at once, so that everything committed before the gate
   * is on the disk: also what an earlier run of the daemon committed without waiting and did not sync
   * before it stopped (SQLite recovers a write-ahead log on open without syncing it).
   */
  constructor(db: Database, file: string, options: GroupCommitOptions & { sync?: SyncFile }) {
    // Where SQLite keeps the log: beside the database file itself, a symbolic link resolved.
    this.#walFile = `${realpathSync(file)}-wal`;
    const totalChanges = db.prepare<[], number>('SELECT total_changes()').pluck();
    this.#changes = () => totalChanges.get()!;
    this.#inTransaction = () => db.inTransaction;
    this.#sync = options.sync ?? ((fd, done) => fsync(fd, (error) => done(error)));
    this.#onFailure = options.onFailure;
    this.#onSynced = options.onSynced;
    syncDatabaseFiles(file);
    this.#synced = this.#changes();
  }

  after(output: () => void): void {
    if (this.#failed) return;
    // Inside a transaction its changes are not committed yet: the sync is decided once the transaction ended.
    if (this.#inTransaction()) {
      this.#waiting.push(output);
      if (!this.#startScheduled) {
        this.#startScheduled = true;
        process.nextTick(() => {
          this.#startScheduled = false;
          if (!this.#syncing && !this.#failed && this.#waiting.length > 0) this.#start();
        });
      }
      return;
    }
    // Nothing waits and every commit is on the disk: at once. Otherwise behind the outputs already waiting.
    if (!this.#syncing && this.#waiting.length === 0 && this.#changes() === this.#synced) {
      output();
      return;
    }
    this.#waiting.push(output);
    if (!this.#syncing) this.#start();
  }

  inOrder(output: () => void): void {
    if (this.#failed) return;
    const last = this.#waiting.length > 0 ? this.#waiting : this.#syncing ? this.#running : undefined;
    if (last === undefined) output();
    else last.push(output);
  }

  /** Syncs the commits made so far; the outputs waiting now run when it is done, and later ones wait for the next sync. */
  #start(): void {
    this.#syncing = true;
    const through = this.#changes();
    const batch = this.#waiting;
    this.#running = batch;
    this.#waiting = [];
    // Nothing committed since the last sync (outputs given while a batch was sent): only their order to keep.
    if (through === this.#synced) return this.#deliver(batch);
    let fd: number;
    try {
      fd = this.#walDescriptor();
    } catch (error) {
      this.#syncing = false;
      return this.#fail(error as Error);
    }
    const started = performance.now();
    this.#sync(fd, (error) => {
      if (this.#closed) {
        this.#syncing = false;
        if (this.#closeAfterSync !== undefined) closeSync(this.#closeAfterSync);
        this.#closeAfterSync = undefined;
        return;
      }
      if (error) {
        this.#syncing = false;
        return this.#fail(error);
      }
      this.#synced = through;
      const seconds = (performance.now() - started) / 1000;
      this.#deliver(batch);
      // Counted once sent: the batch includes what joined it while the sync ran.
      this.#onSynced?.(seconds, batch.length);
    });
  }

  /** Sends a batch whose commits are on the disk, then starts the next sync if outputs wait for one. */
  #deliver(batch: Array<() => void>): void {
    // Still "syncing" while the batch runs: an output given by one of them (re-entrant) queues behind the rest.
    for (const output of batch) {
      try {
        output();
      } catch (thrown) {
        queueMicrotask(() => {
          throw thrown;
        });
      }
    }
    this.#syncing = false;
    this.#running = [];
    if (this.#waiting.length > 0) this.#start();
  }

  /** A descriptor of the write-ahead log as it is now (opened again if the file was replaced since). */
  #walDescriptor(): number {
    if (this.#fd !== undefined && fstatSync(this.#fd).ino !== statSync(this.#walFile).ino) {
      closeSync(this.#fd);
      this.#fd = undefined;
    }
    this.#fd ??= openSync(this.#walFile, 'r');
    return this.#fd;
  }

  #fail(error: Error): void {
    this.#failed = true;
    this.#waiting = [];
    this.#onFailure(error);
  }

  /** Closes the gate's descriptor of the write-ahead log (outputs still waiting are dropped). */
  close(): void {
    this.#closed = true;
    this.#failed = true;
    this.#waiting = [];
    // A sync still running keeps its descriptor: it is closed when the sync is done.
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return;
    if (this.#syncing) this.#closeAfterSync = fd;
    else closeSync(fd);
  }
}

/**
 * Syncs a SQLite database file and its write-ahead log (if there is one) to the disk, from any process: what
 * another connection committed without waiting is on the disk once this returns. A symbolic link is resolved
 * as SQLite resolves it.
 */
export function syncDatabaseFiles(file: string): void {
  const real = realpathSync(file);
  for (const path of [real, `${real}-wal`]) {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Switches a connection to group commit: its commits stop waiting for the disk, and the returned gate is
 * what its outputs must wait for instead. For the connection of a daemon that sends everything through
 * the gate; a command-line tool's connection keeps every commit waiting.
 */
export function startGroupCommit(db: Database, file: string, options: GroupCommitOptions): DurabilityGate {
  const gate = new DurabilityGate(db, file, options);
  db.pragma('synchronous = NORMAL');
  return gate;
}
