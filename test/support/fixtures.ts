import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test as base } from 'vitest';
import type { CoordinatorStore, Database, SqliteNodeStore } from '@fedlab/store';

/*
 * The test kit's fixtures (issue 17), imported as `@fedlab/test-kit` (a path in tsconfig.base.json): a
 * test takes `test` (or `it`) from here instead of from vitest and names the fixtures it needs; vitest
 * builds only those, before the test, and tears them down after it (after its afterEach hooks).
 *
 *   test('reads back what it wrote', ({ tempDir }) => { ... });
 *   test('keeps a nonce', ({ nodeDb }) => { ... });
 *   test.beforeAll(async ({ fileTempDir }) => { net = await startTestNetwork({ dir: fileTempDir, ... }); });
 *
 * A hook that names a fixture must be this `test`'s (`test.beforeEach`, `test.beforeAll`), and so must the
 * tests under it: vitest gives fixtures only to its own tests. This file is in no Nx project on purpose:
 * the libraries' own tests use it too, and a library may not depend on @fedlab/testing (which depends on
 * them). The database fixtures load their library only when a test names them, so a test that wants a
 * folder loads no database code.
 */

/** Fixtures built for each test that names them. */
export interface TestFixtures {
  /** A fresh folder under the OS temp dir (fedlab-test-…), removed with all it holds after the test. */
  tempDir: string;
  /** `node.db` in `tempDir` (not created). */
  nodeDbFile: string;
  /** `nodeDbFile` opened and migrated to the node schema (@fedlab/store NODE_MIGRATIONS), closed after the test. */
  nodeDb: Database;
  /** `nodeDbFile` opened as the node's store (@fedlab/store `openNodeStore`: repositories and datasets), closed after the test. */
  nodeStore: SqliteNodeStore;
  /** `coordinator.db` in `tempDir` (not created). */
  coordinatorDbFile: string;
  /** A CoordinatorStore over `coordinatorDbFile`, closed after the test. */
  coordinatorStore: CoordinatorStore;
}

/** Fixtures built once per test file, for the suite-level hooks (`test.beforeAll`) that set up something expensive. */
export interface FileFixtures {
  /** A fresh folder under the OS temp dir, shared by the whole file and removed after its last test. */
  fileTempDir: string;
}

/** A fresh folder under the OS temp dir, for `use`, removed (recursively, forced) once `use` returns. */
async function withTempDir(use: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedlab-test-'));
  try {
    await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const test = base.extend<{ $test: TestFixtures; $file: FileFixtures }>({
  fileTempDir: [async ({}, use) => withTempDir(use), { scope: 'file' }],
  tempDir: async ({}, use) => withTempDir(use),
  nodeDbFile: async ({ tempDir }, use) => use(path.join(tempDir, 'node.db')),
  nodeDb: async ({ nodeDbFile }, use) => {
    const { openDatabase, NODE_MIGRATIONS } = await import('@fedlab/store');
    const db = openDatabase(nodeDbFile, NODE_MIGRATIONS);
    try {
      await use(db);
    } finally {
      db.close();
    }
  },
  nodeStore: async ({ nodeDbFile }, use) => {
    const { openNodeStore } = await import('@fedlab/store');
    const store = openNodeStore(nodeDbFile);
    try {
      await use(store);
    } finally {
      if (store.open) store.close();
    }
  },
  coordinatorDbFile: async ({ tempDir }, use) => use(path.join(tempDir, 'coordinator.db')),
  coordinatorStore: async ({ coordinatorDbFile }, use) => {
    const { CoordinatorStore } = await import('@fedlab/store');
    const store = new CoordinatorStore(coordinatorDbFile);
    try {
      await use(store);
    } finally {
      if (store.db.open) store.close();
    }
  },
});

/** The same as `test`. */
export const it = test;

/**
 * Waits for a condition, not a clock: polls `check` until it holds, and fails naming `what` after
 * `timeoutMs` (generous by default: a busy 2-core machine is slow, never wrong).
 */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
