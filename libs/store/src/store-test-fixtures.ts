import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'vitest';
import { openDatabase, type Database } from './database';
import { NODE_MIGRATIONS } from './node-schema';

/** Test fixtures: `dir`, a temporary directory removed afterwards; `db`, a migrated node database in it. */
export const storeTest = test.extend<{ dir: string; dbFile: string; db: Database }>({
  dir: async ({}, use) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fedlab-store-'));
    await use(dir);
    rmSync(dir, { recursive: true, force: true });
  },
  dbFile: async ({ dir }, use) => use(path.join(dir, 'node.db')),
  db: async ({ dbFile }, use) => {
    const db = openDatabase(dbFile, NODE_MIGRATIONS);
    await use(db);
    db.close();
  },
});
