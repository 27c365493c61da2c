import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { FedlabError } from '@fedlab/model';
import BetterSqlite3 from 'better-sqlite3';
import { statementCache, type Database } from './database';

/** What a caller records in the audit log. */
export interface AuditRecord {
  /** What happened, e.g. `query`, `import`, `policy_change`. */
  kind: string;
  queryId?: string | null;
  /** The outcome, e.g. `answered` or `refused`. */
  decision: string;
  /** A one-line explanation (an error code and message for refusals); never record-level data. */
  reason?: string;
  /** The digest of what was released (e.g. the signed result's hash), if anything was. */
  digest?: Uint8Array | null;
  /** Defaults to the current time. */
  timeMs?: number;
}

/** One entry of the chained audit log. */
export interface AuditEntry {
  seq: number;
  timeMs: number;
  kind: string;
  queryId: string | null;
  decision: string;
  reason: string;
  digest: Uint8Array | null;
  /** The hash of entry `seq - 1`, or 64 zero bytes for entry 1. */
  prevHash: Uint8Array;
  /** BLAKE2b-512 of the entry's canonical encoding (see {@link hashAuditEntry}). */
  hash: Uint8Array;
}

/** The last entry's sequence number and hash (`{ seq: 0, hash: GENESIS_HASH }` for an empty log). */
export interface AuditHead {
  seq: number;
  hash: Uint8Array;
}

/** The outcome of recomputing the chain; `firstBrokenSeq` names the first entry that does not verify. */
export type AuditVerification = { ok: true; entries: number } | { ok: false; firstBrokenSeq: number; reason: string };

/** The `prev_hash` of entry 1. */
export const GENESIS_HASH: Uint8Array = new Uint8Array(64);

const HASH_DOMAIN = 'fedlab/v1/audit-entry';

interface AuditRow {
  seq: number;
  time_ms: number;
  kind: string;
  query_id: string | null;
  decision: string;
  reason: string;
  digest: Buffer | null;
  prev_hash: Buffer;
  hash: Buffer;
}

function lengthPrefixed(bytes: Uint8Array): Buffer[] {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return [length, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)];
}

function optional(bytes: Uint8Array | null): Buffer[] {
  return bytes === null ? [Buffer.from([0])] : [Buffer.from([1]), ...lengthPrefixed(bytes)];
}

function uint64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(BigInt(value));
  return buffer;
}

/**
 * BLAKE2b-512 over the canonical encoding of an entry: the domain string `fedlab/v1/audit-entry`, then
 * seq and time_ms as 8-byte big-endian integers, then kind, query_id, decision, reason, digest and prev_hash,
 * each as a 4-byte big-endian length and its bytes (strings in UTF-8); query_id and digest are preceded by
 * a byte 0 (absent, and nothing follows) or 1 (present).
 */
export function hashAuditEntry(entry: Omit<AuditEntry, 'hash'>): Uint8Array {
  const utf8 = (text: string) => lengthPrefixed(Buffer.from(text, 'utf8'));
  const parts = [
    ...utf8(HASH_DOMAIN),
    uint64(entry.seq),
    uint64(entry.timeMs),
    ...utf8(entry.kind),
    ...optional(entry.queryId === null ? null : Buffer.from(entry.queryId, 'utf8')),
    ...utf8(entry.decision),
    ...utf8(entry.reason),
    ...optional(entry.digest),
    ...lengthPrefixed(entry.prevHash),
  ];
  const hash = createHash('blake2b512');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    timeMs: row.time_ms,
    kind: row.kind,
    queryId: row.query_id,
    decision: row.decision,
    reason: row.reason,
    digest: row.digest === null ? null : new Uint8Array(row.digest),
    prevHash: new Uint8Array(row.prev_hash),
    hash: new Uint8Array(row.hash),
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * The node's append-only, hash-chained audit log in `fedlab_audit` (DESIGN.md §5). Triggers refuse UPDATE
 * and DELETE, but a steward with write access to the file can drop them; the chain, and the signed
 * checkpoints of its head sent to the coordinator, are what reveal such tampering.
 */
export class AuditLog {
  /** This repository's statements, prepared once. */
  private readonly statement: ReturnType<typeof statementCache>;

  constructor(private readonly db: Database) {
    this.statement = statementCache(db);
  }

  /** Appends an entry chained to the current head, atomically, and returns it. */
  append(record: AuditRecord): AuditEntry {
    const timeMs = record.timeMs ?? Date.now();
    if (!Number.isSafeInteger(timeMs) || timeMs < 0) {
      throw new FedlabError('INVALID_ARGUMENT', 'an audit entry time must be a non-negative integer of milliseconds');
    }
    return this.db
      .transaction(() => {
        const head = this.head();
        const unhashed = {
          seq: head.seq + 1,
          timeMs,
          kind: record.kind,
          queryId: record.queryId ?? null,
          decision: record.decision,
          reason: record.reason ?? '',
          digest: record.digest ?? null,
          prevHash: head.hash,
        };
        const entry = { ...unhashed, hash: hashAuditEntry(unhashed) };
        this.statement(
          `INSERT INTO fedlab_audit (seq, time_ms, kind, query_id, decision, reason, digest, prev_hash, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(entry.seq, entry.timeMs, entry.kind, entry.queryId, entry.decision, entry.reason, entry.digest, entry.prevHash, entry.hash);
        return entry;
      })
      .immediate();
  }

  /** Returns the entries with `seq >= fromSeq`, oldest first, at most `limit` of them. */
  entries(fromSeq = 1, limit = -1): AuditEntry[] {
    const rows = this.statement('SELECT * FROM fedlab_audit WHERE seq >= ? ORDER BY seq LIMIT ?').all(fromSeq, limit) as AuditRow[];
    return rows.map(toEntry);
  }

  /** The last entry's seq and hash, to sign as a checkpoint. */
  head(): AuditHead {
    const row = this.statement('SELECT seq, hash FROM fedlab_audit ORDER BY seq DESC LIMIT 1').get() as Pick<AuditRow, 'seq' | 'hash'> | undefined;
    return row === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: row.seq, hash: new Uint8Array(row.hash) };
  }

  /**
   * Recomputes the chain from entry 1 and reports the first entry that is missing, does not link to its
   * predecessor or does not match its hash. Deleting the newest entries leaves a valid shorter chain: pass a
   * previously signed `checkpoint` to detect that too.
   */
  verify(checkpoint?: AuditHead): AuditVerification {
    let expected = 1;
    let previous: Uint8Array = GENESIS_HASH;
    let checkpointHash: Uint8Array | undefined;
    const broken = (firstBrokenSeq: number, reason: string): AuditVerification => ({
      ok: false,
      firstBrokenSeq,
      reason,
    });
    const rows = this.db.prepare('SELECT * FROM fedlab_audit ORDER BY seq').iterate() as Iterable<AuditRow>;
    for (const row of rows) {
      const entry = toEntry(row);
      if (entry.seq !== expected) {
        const jump = expected === 1 ? `sequence starts at ${entry.seq}` : `sequence jumps from ${expected - 1} to ${entry.seq}`;
        return broken(expected, `entry ${expected} is missing (${jump})`);
      }
      if (!sameBytes(entry.prevHash, previous)) {
        const link = expected === 1 ? 'is not the genesis value' : `does not match entry ${expected - 1}`;
        return broken(expected, `entry ${expected}: prev_hash ${link}`);
      }
      if (!sameBytes(hashAuditEntry(entry), entry.hash)) {
        return broken(expected, `entry ${expected}: hash does not match its contents`);
      }
      if (entry.seq === checkpoint?.seq) checkpointHash = entry.hash;
      previous = entry.hash;
      expected++;
    }
    if (checkpoint !== undefined && checkpoint.seq > 0) {
      if (checkpointHash === undefined) {
        const ends = `the log ends at ${expected - 1}, the checkpoint is at ${checkpoint.seq}`;
        return broken(expected, `entry ${expected} is missing (${ends})`);
      }
      if (!sameBytes(checkpointHash, checkpoint.hash)) {
        return broken(checkpoint.seq, `entry ${checkpoint.seq}: hash does not match the checkpoint`);
      }
    }
    return { ok: true, entries: expected - 1 };
  }
}

/**
 * Opens a node database read-only and verifies its audit chain (`fedlab audit verify`). Throws
 * INVALID_ARGUMENT when the file does not exist or holds no audit log.
 */
export function verifyAuditDatabase(file: string, checkpoint?: AuditHead): AuditVerification {
  const name = path.basename(file);
  if (!existsSync(file)) throw new FedlabError('INVALID_ARGUMENT', `${name}: no such file`, { file: name });
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'fedlab_audit'").get();
    if (table === undefined) {
      throw new FedlabError('INVALID_ARGUMENT', `${name}: no audit log in this file`, { file: name });
    }
    return new AuditLog(db).verify(checkpoint);
  } finally {
    db.close();
  }
}

/** Reads every entry of a node database's audit log, read-only (for cross-checks against the public log). */
export function readAuditEntries(file: string): AuditEntry[] {
  const name = path.basename(file);
  if (!existsSync(file)) throw new FedlabError('INVALID_ARGUMENT', `${name}: no such file`, { file: name });
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    return new AuditLog(db).entries();
  } finally {
    db.close();
  }
}
