import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect } from 'vitest';
import { test } from '@fedlab/test-kit';
import { lockDatabaseForDaemon } from './daemon-lock';

describe('lockDatabaseForDaemon', () => {
  test('refuses a second daemon on the same database, naming it and the lock file, until the first releases it', ({ tempDir }) => {
    const database = path.join(tempDir, 'node.db');
    const first = lockDatabaseForDaemon(database, 'node');
    expect(() => lockDatabaseForDaemon(database, 'node')).toThrowFedlabError(
      'ALREADY_RUNNING',
      `${database}: another node daemon is already running on this database (it holds ${database}.lock); stop it first, or give this one its own \`database\``,
    );
    first.release();
    const second = lockDatabaseForDaemon(database, 'node');
    second.release();
  });

  test('is dropped by the operating system when the process holding it is killed', { timeout: 60_000 }, async ({ tempDir }) => {
    const database = path.join(tempDir, 'coordinator.db');
    // Another process takes the same lock (the same SQLite file in an exclusive transaction), says so, and waits.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(${JSON.stringify(`${database}.lock`)}); db.pragma('locking_mode = EXCLUSIVE'); db.exec('BEGIN EXCLUSIVE'); console.log('held'); setInterval(() => {}, 1000);`,
      ],
      { cwd: path.resolve(__dirname, '../../../..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => createInterface({ input: holder.stdout! }).once('line', () => resolve()));
    expect(() => lockDatabaseForDaemon(database, 'coordinator')).toThrowFedlabError('ALREADY_RUNNING', /another coordinator daemon is already running/);
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    lockDatabaseForDaemon(database, 'coordinator').release();
  });
});
