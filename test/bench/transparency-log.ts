import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { LOG_LEAVES_SQL, MERKLE_MIGRATION_SQL, SqliteMerkleStore, openDatabase, type Database, type Migration } from '@fedlab/store';
import { MemoryMerkleStore, MerkleTree, equalHashes, leafHash, verifyConsistency, verifyInclusion } from '@fedlab/transparency';
import { createTempDir } from '@fedlab/testing';
import { integerOption } from './options';
import { seededRandom } from '@fedlab/synth';

/** The coordinator's log tables (coordinator-schema.ts, migration 2). */
const LOG_MIGRATIONS: Migration[] = [
  {
    version: 1,
    up: `
      ${LOG_LEAVES_SQL}
      ${MERKLE_MIGRATION_SQL}
    `,
  },
];

/** The baseline: the same bytes in a plain table, nothing else. */
const BARE_MIGRATIONS: Migration[] = [{ version: 1, up: 'CREATE TABLE bare (idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL);' }];

const LEAF_BYTES = 600;
const BATCH_SIZE = 1000;
/** Product and baseline alternate in blocks of this many entries, so load drift on a noisy machine hits both. */
const BLOCK_SIZE = 10_000;

/** Appends one entry the way the coordinator does: a `log_leaves` row and a Merkle leaf, in one transaction. */
interface Appender {
  appendOne(index: number, leaf: Buffer): void;
  appendMany(start: number, leaves: Buffer[]): void;
}

function productAppender(db: Database, tree: MerkleTree): Appender {
  const insert = db.prepare('INSERT INTO log_leaves (idx, kind, leaf, logged_at_ms) VALUES (?, ?, ?, ?)');
  const appendLeaves = db.transaction((start: number, leaves: Buffer[]) => {
    leaves.forEach((leaf, i) => {
      insert.run(start + i, 'query', leaf, Date.now());
      tree.append(leaf);
    });
  });
  return {
    appendOne: (index, leaf) => appendLeaves(index, [leaf]),
    appendMany: (start, leaves) => appendLeaves(start, leaves),
  };
}

function bareAppender(db: Database): Appender {
  const insert = db.prepare('INSERT INTO bare (idx, leaf) VALUES (?, ?)');
  const insertLeaves = db.transaction((start: number, leaves: Buffer[]) => {
    leaves.forEach((leaf, i) => insert.run(start + i, leaf));
  });
  return {
    appendOne: (index, leaf) => insertLeaves(index, [leaf]),
    appendMany: (start, leaves) => insertLeaves(start, leaves),
  };
}

/** Milliseconds spent appending `leaves` with `perTransaction` entries per transaction, per appender, in alternating blocks. */
function timeAppends(appenders: Appender[], leaves: Buffer[], perTransaction: number): number[] {
  const totalsMs = appenders.map(() => 0);
  for (let block = 0; block < leaves.length; block += BLOCK_SIZE) {
    const end = Math.min(block + BLOCK_SIZE, leaves.length);
    appenders.forEach((appender, a) => {
      const t = process.hrtime.bigint();
      if (perTransaction === 1) {
        for (let i = block; i < end; i++) appender.appendOne(i, leaves[i]!);
      } else {
        for (let i = block; i < end; i += perTransaction) appender.appendMany(i, leaves.slice(i, Math.min(i + perTransaction, end)));
      }
      totalsMs[a]! += Number(process.hrtime.bigint() - t) / 1e6;
    });
  }
  return totalsMs;
}

function elapsedMs<T>(run: () => T): [T, number] {
  const t = process.hrtime.bigint();
  const value = run();
  return [value, Number(process.hrtime.bigint() - t) / 1e6];
}

/** Bytes of the database file plus its WAL after a truncating checkpoint. */
function databaseBytes(db: Database, file: string): number {
  db.pragma('wal_checkpoint(TRUNCATE)');
  return [file, `${file}-wal`].reduce((sum, f) => sum + (statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);
}

/** A seeded integer draw below `below`, so every run asks for the same proofs. */
function createRandom(seed: number): (below: number) => number {
  const next = seededRandom(seed);
  return (below) => Math.floor(next() * below);
}

const perSecond = (count: number, ms: number) => Math.round((count / ms) * 1000).toLocaleString('en-CA');
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * Appends `--entries` ~600-byte leaves to the coordinator's SQLite-backed log (one `log_leaves` row and one
 * Merkle append per transaction, as per query) and the same bytes to a bare table in the same run, then
 * generates and verifies `--proofs` random inclusion and consistency proofs against the SQLite-backed tree.
 */
export async function transparencyLog(args: string[]): Promise<void> {
  const entries = integerOption(args, 'entries', 100_000);
  const proofs = integerOption(args, 'proofs', 2000);
  const tmp = createTempDir('fedlab-bench-');
  const open: Database[] = [];
  try {
    console.log(`generating ${entries.toLocaleString('en-CA')} random leaves of ${LEAF_BYTES} bytes …`);
    const leaves = Array.from({ length: entries }, () => randomBytes(LEAF_BYTES));
    const openDb = (name: string, migrations: Migration[]) => {
      const file = path.join(tmp.path, name);
      const db = openDatabase(file, migrations);
      open.push(db);
      return { db, file };
    };

    console.log('appending one entry per transaction (product and bare insert, alternating blocks) …');
    const product = openDb('log.db', LOG_MIGRATIONS);
    const tree = new MerkleTree(new SqliteMerkleStore(product.db));
    const bare = openDb('bare.db', BARE_MIGRATIONS);
    const [singleProductMs, singleBareMs] = timeAppends([productAppender(product.db, tree), bareAppender(bare.db)], leaves, 1);

    console.log(`appending ${BATCH_SIZE} entries per transaction …`);
    const productBatched = openDb('log-batched.db', LOG_MIGRATIONS);
    const treeBatched = new MerkleTree(new SqliteMerkleStore(productBatched.db));
    const bareBatched = openDb('bare-batched.db', BARE_MIGRATIONS);
    const [batchProductMs, batchBareMs] = timeAppends([productAppender(productBatched.db, treeBatched), bareAppender(bareBatched.db)], leaves, BATCH_SIZE);

    const memoryTree = new MerkleTree(new MemoryMerkleStore());
    for (const leaf of leaves) memoryTree.append(leaf);
    if (tree.size !== entries || !equalHashes(tree.rootHash(), memoryTree.rootHash()) || !equalHashes(treeBatched.rootHash(), memoryTree.rootHash())) {
      throw new Error('the SQLite-backed trees disagree with an in-memory tree over the same leaves');
    }

    console.log(`generating and verifying ${proofs.toLocaleString('en-CA')} inclusion and ${proofs.toLocaleString('en-CA')} consistency proofs …`);
    const random = createRandom(1);
    const inclusionCases = Array.from({ length: proofs }, () => {
      const size = 1 + random(entries);
      return { index: random(size), size };
    });
    const consistencyCases = Array.from({ length: proofs }, () => {
      const newSize = 1 + random(entries);
      return { oldSize: 1 + random(newSize), newSize };
    });
    const sizes = [...new Set([...inclusionCases.map((c) => c.size), ...consistencyCases.flatMap((c) => [c.oldSize, c.newSize])])];
    const [roots, rootsMs] = elapsedMs(() => new Map(sizes.map((size) => [size, tree.rootHash(size)])));
    const root = (size: number) => roots.get(size)!;

    const [inclusionProofs, inclusionGenerateMs] = elapsedMs(() => inclusionCases.map((c) => tree.inclusionProof(c.index, c.size)));
    const [inclusionValid, inclusionVerifyMs] = elapsedMs(
      () => inclusionCases.filter((c, i) => verifyInclusion(leafHash(leaves[c.index]!), c.index, c.size, inclusionProofs[i]!, root(c.size))).length,
    );
    const [consistencyProofs, consistencyGenerateMs] = elapsedMs(() => consistencyCases.map((c) => tree.consistencyProof(c.oldSize, c.newSize)));
    const [consistencyValid, consistencyVerifyMs] = elapsedMs(
      () => consistencyCases.filter((c, i) => verifyConsistency(c.oldSize, c.newSize, root(c.oldSize), root(c.newSize), consistencyProofs[i]!)).length,
    );
    if (inclusionValid !== proofs || consistencyValid !== proofs) {
      throw new Error(`proofs failed to verify: inclusion ${inclusionValid}/${proofs}, consistency ${consistencyValid}/${proofs}`);
    }
    // A verifier that accepts everything would pass the check above; make sure a tampered proof fails.
    const tampered = inclusionProofs.findIndex((p) => p.length > 0);
    if (tampered >= 0) {
      const { index, size } = inclusionCases[tampered]!;
      const proof = inclusionProofs[tampered]!.map((hash, i) => (i === 0 ? hash.map((b, j) => (j === 0 ? b ^ 1 : b)) : hash));
      if (verifyInclusion(leafHash(leaves[index]!), index, size, proof, root(size))) throw new Error('a tampered inclusion proof verified');
    }
    const meanLength = (ps: Uint8Array[][]) => (ps.reduce((sum, p) => sum + p.length, 0) / ps.length).toFixed(1);

    const productBytes = databaseBytes(product.db, product.file);
    const bareBytes = databaseBytes(bare.db, bare.file);
    const nodeRows = product.db.prepare('SELECT count(*) FROM merkle_nodes').pluck().get() as number;

    const rows: Array<[string, string]> = [
      ['appends/s, 1 per transaction (log_leaves row + Merkle append)', perSecond(entries, singleProductMs)],
      ['bare inserts/s, 1 per transaction (same bytes)', perSecond(entries, singleBareMs)],
      ['ratio append time / bare insert time, 1 per transaction', (singleProductMs / singleBareMs).toFixed(2)],
      [`appends/s, ${BATCH_SIZE} per transaction`, perSecond(entries, batchProductMs)],
      [`bare inserts/s, ${BATCH_SIZE} per transaction`, perSecond(entries, batchBareMs)],
      [`ratio append time / bare insert time, ${BATCH_SIZE} per transaction`, (batchProductMs / batchBareMs).toFixed(2)],
      [`root hashes/s (${sizes.length.toLocaleString('en-CA')} random sizes)`, perSecond(sizes.length, rootsMs)],
      [`inclusion proofs/s generate (mean ${meanLength(inclusionProofs)} hashes)`, perSecond(proofs, inclusionGenerateMs)],
      ['inclusion proofs/s verify (incl. leaf hash)', perSecond(proofs, inclusionVerifyMs)],
      [`consistency proofs/s generate (mean ${meanLength(consistencyProofs)} hashes)`, perSecond(proofs, consistencyGenerateMs)],
      ['consistency proofs/s verify', perSecond(proofs, consistencyVerifyMs)],
      [`log DB size (log_leaves + ${nodeRows.toLocaleString('en-CA')} merkle_nodes rows)`, mib(productBytes)],
      ['bare DB size', mib(bareBytes)],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    console.log(
      `\ntransparency-log: ${entries.toLocaleString('en-CA')} entries × ${LEAF_BYTES} B, ${proofs.toLocaleString('en-CA')} proofs of each kind, all verified`,
    );
    console.log(`  command: npm run bench -- transparency-log --entries=${entries} --proofs=${proofs}`);
    for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
    console.log(`  (append wall time ${(singleProductMs / 1000).toFixed(1)} s vs bare ${(singleBareMs / 1000).toFixed(1)} s, 1 per transaction)`);
  } finally {
    for (const db of open) db.close();
    tmp.cleanup();
  }
}
