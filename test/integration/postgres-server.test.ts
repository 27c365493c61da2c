import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { startPostgres, type PostgresServer } from '@fedlab/testing';
import { it, test, waitUntil } from '@fedlab/test-kit';

const ROOT = path.resolve(__dirname, '../..');
const READER = { user: 'reader', password: 'reader-secret', database: 'ministry' };

/** Whether something accepts a TCP connection on 127.0.0.1:port: 'connected', or the error's code. */
function connectTo(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** pg_isready's exit code: 0 accepting connections, 2 no response. */
function pgIsReady(pg: PostgresServer): number | null {
  return spawnSync(path.join(pg.binDir, 'pg_isready'), ['-h', pg.host, '-p', String(pg.port)], { stdio: 'ignore' }).status;
}

/** The real user id a process runs as (/proc/PID/status). */
function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'))!;
  return Number(line.split(/\s+/)[1]);
}

describe('a PostgreSQL server started by startPostgres', () => {
  let pg: PostgresServer;
  test.beforeAll(async ({ fileTempDir }) => {
    pg = await startPostgres({ dir: fileTempDir });
    await pg.psql(`CREATE DATABASE ministry; CREATE ROLE reader LOGIN PASSWORD '${READER.password}';`);
    await pg.psql(
      `CREATE TABLE visits (id integer PRIMARY KEY, region text NOT NULL, cost numeric(8, 2) NOT NULL);
       INSERT INTO visits VALUES (1, 'north', 12.50), (2, 'south', 7.25), (3, 'north', 30.00);
       GRANT CONNECT ON DATABASE ministry TO reader;
       GRANT USAGE ON SCHEMA public TO reader;
       GRANT SELECT ON visits TO reader;
       ALTER ROLE reader SET default_transaction_read_only = on;`,
      { database: 'ministry' },
    );
  });
  afterAll(() => pg.stop());

  it('listens on 127.0.0.1 only, without a Unix socket, in UTF8 and without fsync', async () => {
    expect(await pg.psql('SHOW listen_addresses; SHOW unix_socket_directories; SHOW server_encoding; SHOW fsync;')).toBe('127.0.0.1\n\nUTF8\noff');
  });

  it('runs as an unprivileged user when the tests run as root, and as the tests’ user otherwise', () => {
    const expected = process.getuid!() === 0 ? Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })) : process.getuid!();
    expect(uidOf(pg.pid)).toBe(expected);
    expect(statSync(pg.dataDir).uid).toBe(expected);
  });

  it('gives a read-only role the rows the superuser wrote through psql', async () => {
    expect(await pg.psql('SELECT id, region, cost FROM visits ORDER BY id', READER)).toBe('1|north|12.50\n2|south|7.25\n3|north|30.00');
  });

  it('refuses the read-only role a write', async () => {
    await expect(pg.psql(`INSERT INTO visits VALUES (4, 'east', 1.00)`, READER)).rejects.toThrow('ERROR:  cannot execute INSERT in a read-only transaction');
  });

  it('refuses a wrong password', async () => {
    await expect(pg.psql('SELECT 1', { ...READER, password: 'wrong' })).rejects.toThrow('password authentication failed for user "reader"');
  });

  it('names the superuser, its password, 127.0.0.1 and the port in its connection string', () => {
    expect(pg.connectionString()).toBe(`postgresql://postgres:${pg.superuserPassword}@127.0.0.1:${pg.port}/postgres`);
    expect(pg.connectionString('reader', 'p@ss word', 'ministry')).toBe(`postgresql://reader:p%40ss%20word@127.0.0.1:${pg.port}/ministry`);
  });
});

describe('stopping a PostgreSQL server', () => {
  it('closes its port, leaves its data folder without a running server and may be called twice', async ({ tempDir }) => {
    const pg = await startPostgres({ dir: tempDir });
    expect(await connectTo(pg.port)).toBe('connected');
    expect(pgIsReady(pg)).toBe(0);

    await pg.stop();
    await pg.stop();

    expect(await connectTo(pg.port)).toBe('ECONNREFUSED');
    expect(pgIsReady(pg)).toBe(2);
    expect(existsSync(path.join(pg.dataDir, 'postmaster.pid'))).toBe(false);
    expect(readFileSync(pg.logFile, 'utf8')).toContain('database system is shut down');
  });

  it('runs two servers at once, each on its own port with its own data', async ({ tempDir }) => {
    const [a, b] = await Promise.all([startPostgres({ dir: tempDir }), startPostgres({ dir: tempDir })]);
    try {
      expect(a.port).not.toBe(b.port);
      expect(a.dataDir).not.toBe(b.dataDir);
      await a.psql('CREATE TABLE only_in_a (x integer); INSERT INTO only_in_a VALUES (1);');
      expect(await a.psql('SELECT count(*) FROM only_in_a')).toBe('1');
      await expect(b.psql('SELECT count(*) FROM only_in_a')).rejects.toThrow('relation "only_in_a" does not exist');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('stops a server when the process that started it dies without stopping it', async ({ tempDir }) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/run-ts.js'), path.join(__dirname, 'postgres-server-child.ts'), tempDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`the child exited with code ${code} before starting its server`)));
    });
    const server = JSON.parse(line) as { pid: number; port: number; dataDir: string };
    expect(await connectTo(server.port)).toBe('connected');

    child.kill('SIGKILL');

    await waitUntil('the orphaned server to shut down', () => !existsSync(path.join(server.dataDir, 'postmaster.pid')));
    expect(await connectTo(server.port)).toBe('ECONNREFUSED');
  });
});
