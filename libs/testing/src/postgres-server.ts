import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/*
 * A real PostgreSQL server for tests (issue 19): `initdb` into a fresh folder, `postgres` on a free port of
 * 127.0.0.1, stopped by `stop()`. No mocks: the PostgreSQL engine's tests talk to what a ministry runs.
 * `npm test` installs Debian's `postgresql` (scripts/ensure-system-deps.mjs).
 */

/** Options of `startPostgres`. */
export interface PostgresServerOptions {
  /** The folder to put the server in (a fresh `postgres-…` folder is made inside it): a test's `tempDir` or `fileTempDir`. */
  dir: string;
  /** The folder holding initdb, postgres and psql (default: `findPostgresBinDir()`). */
  binDir?: string;
  /** When this process is root, the user the server runs as (default: `postgres`, the Debian package's, else `nobody`). */
  runAs?: string;
  /** How long initdb and the start together may take (default 90 s: a busy 2-core machine is slow, never wrong). */
  startTimeoutMs?: number;
  /** How long `stop()` waits for a fast shutdown before killing the server (default 60 s). */
  stopTimeoutMs?: number;
}

/** Who `psql` connects as, and to what. */
export interface PsqlOptions {
  /** Default: the superuser. */
  user?: string;
  /** Default: the superuser's password when `user` is the superuser, else none. */
  password?: string;
  /** Default: `postgres`. */
  database?: string;
}

/** A running PostgreSQL server of a test, listening on 127.0.0.1 only. */
export interface PostgresServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The superuser's name, `postgres`. */
  readonly superuser: string;
  /** The superuser's password, random for each server. */
  readonly superuserPassword: string;
  /** The server's process id (that of `postgres` itself). */
  readonly pid: number;
  /** The cluster's data folder (PGDATA). */
  readonly dataDir: string;
  /** The server's log (its stderr). */
  readonly logFile: string;
  /** The folder of the binaries it runs (initdb, postgres, psql, pg_isready …). */
  readonly binDir: string;
  /** `postgresql://user:password@127.0.0.1:port/database`, by default the superuser's, to database `postgres`. */
  connectionString(user?: string, password?: string, database?: string): string;
  /**
   * Runs SQL through `psql` (statements one by one, each in its own transaction unless the SQL says
   * otherwise, stopping at the first error) and resolves with its unaligned, tuples-only output: one line
   * per row, columns separated by `|`, without the final newline. Rejects with psql's message on an error.
   */
  psql(sql: string, options?: PsqlOptions): Promise<string>;
  /** Stops the server (fast shutdown) and resolves once it has exited; safe to call more than once. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const SUPERUSER = 'postgres';
const DEBIAN_ROOT = '/usr/lib/postgresql';
const SETPRIV = '/usr/bin/setpriv';
/** Attempts at a free port: another process may take the port between our probe and the server's bind. */
const PORT_ATTEMPTS = 5;
// English messages whatever the machine's locale, so that tests can match them.
const SERVER_ENV = { LC_ALL: 'C' };

/** Servers still running, stopped if this process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * The folder of PostgreSQL's server binaries: the newest major version under /usr/lib/postgresql (Debian,
 * `postgresql-<major>`), else `pg_config --bindir` when initdb is there (other systems). Throws when none is
 * installed, naming what to install.
 */
export function findPostgresBinDir(): string {
  const majors = existsSync(DEBIAN_ROOT)
    ? readdirSync(DEBIAN_ROOT)
        .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(path.join(DEBIAN_ROOT, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length > 0) return path.join(DEBIAN_ROOT, majors[0]!, 'bin');
  try {
    const binDir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (existsSync(path.join(binDir, 'initdb'))) return binDir;
  } catch {
    // no pg_config on PATH
  }
  throw new Error(`PostgreSQL is not installed: no ${DEBIAN_ROOT}/*/bin/initdb; npm test installs it (apt-get install postgresql)`);
}

/**
 * Starts a PostgreSQL server in a fresh folder inside `options.dir`: `initdb` (UTF8, locale C, superuser
 * `postgres` with a random password, scram-sha-256 for every connection), then `postgres` listening on a
 * free port of 127.0.0.1 only, without Unix sockets and without fsync. Resolves once the server accepts
 * connections. As root, the server runs as an unprivileged user (PostgreSQL refuses root).
 */
export async function startPostgres(options: PostgresServerOptions): Promise<PostgresServer> {
  const startTimeoutMs = options.startTimeoutMs ?? 90_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 60_000;
  const deadline = Date.now() + startTimeoutMs;
  const binDir = options.binDir ?? findPostgresBinDir();
  const owner = serverOwner(options.runAs);
  const dir = path.resolve(options.dir);
  const clusterDir = mkdtempSync(path.join(dir, 'postgres-'));
  if (owner) {
    makeTraversable(dir);
    chownSync(clusterDir, owner.uid, owner.gid);
  }
  const dataDir = path.join(clusterDir, 'data');
  const superuserPassword = randomBytes(18).toString('base64url');

  const passwordFile = path.join(clusterDir, 'superuser-password');
  writeFileSync(passwordFile, `${superuserPassword}\n`, { mode: 0o600 });
  if (owner) chownSync(passwordFile, owner.uid, owner.gid);
  // scram-sha-256 rather than trust: the engine's tests connect as roles with passwords, and a wrong one
  // must be refused as a ministry's server would refuse it.
  const initdb = await run(
    path.join(binDir, 'initdb'),
    ['-D', dataDir, '-U', SUPERUSER, `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync'],
    { cwd: clusterDir, env: SERVER_ENV, owner, deadline },
  );
  unlinkSync(passwordFile);
  if (initdb.code !== 0) throw new Error(`initdb failed (${initdb.code ?? 'timed out'}): ${initdb.stderr.trim() || initdb.stdout.trim()}`);

  const logFile = path.join(clusterDir, 'server.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const logStart = existsSync(logFile) ? statSync(logFile).size : 0;
    const child = spawnServer(binDir, dataDir, port, logFile, clusterDir, owner);
    const outcome = await waitUntilReady(child, dataDir, deadline);
    if (outcome === 'ready') return serverHandle({ child, port, binDir, dataDir, logFile, superuserPassword, stopTimeoutMs });
    if (outcome === 'timeout') await stopServer(child, stopTimeoutMs);
    running.delete(child);
    const log = readFileSync(logFile, 'utf8').slice(logStart).trim();
    if (outcome === 'exited' && /could not bind|Address already in use/.test(log) && attempt < PORT_ATTEMPTS) continue;
    throw new Error(
      outcome === 'timeout'
        ? `PostgreSQL did not accept connections within ${startTimeoutMs} ms; its log (${logFile}):\n${log}`
        : `PostgreSQL exited at start (${child.signalCode ?? `code ${child.exitCode}`}); its log (${logFile}):\n${log}`,
    );
  }
}

interface Owner {
  uid: number;
  gid: number;
}

/** The unprivileged user to run the server as when this process is root; none otherwise. */
function serverOwner(runAs: string | undefined): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string, user: string): number => Number(execFileSync('id', [flag, user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  const user = runAs ?? (userExists(SUPERUSER) ? SUPERUSER : 'nobody');
  return { uid: id('-u', user), gid: id('-g', user) };
}

function userExists(user: string): boolean {
  try {
    execFileSync('id', ['-u', user], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Lets the server's user reach its folder: the test kit's temporary folders are 0700 and root's, so `dir`
 * and its parents up to the OS temp dir get search permission for others (not read: nothing is listed).
 * A parent outside the temp dir that others cannot search is an error, not something to change.
 */
function makeTraversable(dir: string): void {
  const temp = path.resolve(tmpdir());
  for (let folder = dir; ; folder = path.dirname(folder)) {
    const mode = statSync(folder).mode;
    if ((mode & 0o001) === 0) {
      if (folder !== dir && !folder.startsWith(temp + path.sep))
        throw new Error(`${folder}: the PostgreSQL server's user cannot reach ${dir} through it (mode ${(mode & 0o777).toString(8)})`);
      chmodSync(folder, (mode & 0o7777) | 0o001);
    }
    if (folder === path.dirname(folder)) return;
  }
}

/** A port of 127.0.0.1 that nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `postgres` in the foreground (not through `pg_ctl`, which detaches it), so that it is this
 * process's child: through setpriv, its parent-death signal is SIGINT, and the kernel shuts the server
 * down fast if this process dies without stopping it, even by SIGKILL. A normal exit stops it too.
 */
function spawnServer(binDir: string, dataDir: string, port: number, logFile: string, cwd: string, owner: Owner | undefined): ChildProcess {
  const args = [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-c',
    `listen_addresses=${HOST}`,
    // No Unix socket: nothing to place, no path-length limit, and only loopback TCP reaches the server.
    '-c',
    'unix_socket_directories=',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
  ];
  const postgres = path.join(binDir, 'postgres');
  const log = openSync(logFile, 'a');
  try {
    const [file, argv] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'SIGINT', '--', postgres, ...args]] : [postgres, args];
    // The uid and gid are set before setpriv runs, since a change of credentials clears the parent-death signal.
    const child = spawn(file, argv, { cwd, env: SERVER_ENV, stdio: ['ignore', log, log], ...owner });
    running.add(child);
    child.once('exit', () => running.delete(child));
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => running.forEach((c) => c.kill('SIGINT')));
    }
    return child;
  } finally {
    closeSync(log);
  }
}

/** Polls postmaster.pid as pg_ctl does: ready when it names this child and says `ready`. */
async function waitUntilReady(child: ChildProcess, dataDir: string, deadline: number): Promise<'ready' | 'exited' | 'timeout'> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) return 'exited';
    try {
      const lines = readFileSync(pidFile, 'utf8').split('\n');
      if (lines[0] === String(child.pid) && lines[7]?.trim() === 'ready') return 'ready';
    } catch {
      // not written yet
    }
    if (Date.now() > deadline) return 'timeout';
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** SIGINT (fast shutdown: ends sessions, checkpoints, removes postmaster.pid), then SIGKILL after `timeoutMs`. */
async function stopServer(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

function serverHandle(s: {
  child: ChildProcess;
  port: number;
  binDir: string;
  dataDir: string;
  logFile: string;
  superuserPassword: string;
  stopTimeoutMs: number;
}): PostgresServer {
  const passwordOf = (user: string, password: string | undefined) => password ?? (user === SUPERUSER ? s.superuserPassword : undefined);
  let stopping: Promise<void> | undefined;
  return {
    host: HOST,
    port: s.port,
    superuser: SUPERUSER,
    superuserPassword: s.superuserPassword,
    pid: s.child.pid!,
    dataDir: s.dataDir,
    logFile: s.logFile,
    binDir: s.binDir,
    connectionString(user = SUPERUSER, password, database = 'postgres') {
      const secret = passwordOf(user, password);
      const credentials = secret === undefined ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(secret)}`;
      return `postgresql://${credentials}@${HOST}:${s.port}/${encodeURIComponent(database)}`;
    },
    async psql(sql, options = {}) {
      const user = options.user ?? SUPERUSER;
      const password = passwordOf(user, options.password);
      // Only these variables: no PGHOST, PGOPTIONS or ~/.psqlrc of the machine changes what a test runs.
      const env: Record<string, string> = { ...SERVER_ENV, PGCONNECT_TIMEOUT: '30', ...(password === undefined ? {} : { PGPASSWORD: password }) };
      const args = [
        '-X',
        '-q',
        '-A',
        '-t',
        '-w',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        HOST,
        '-p',
        String(s.port),
        '-U',
        user,
        '-d',
        options.database ?? 'postgres',
        '-f',
        '-',
      ];
      const result = await run(path.join(s.binDir, 'psql'), args, { input: sql, env, deadline: Date.now() + 60_000 });
      if (result.code !== 0) throw new Error(`psql failed (${result.code ?? 'timed out'}): ${result.stderr.trim()}`);
      return result.stdout.replace(/\n$/, '');
    },
    stop() {
      stopping ??= stopServer(s.child, s.stopTimeoutMs);
      return stopping;
    },
  };
}

/** Runs a program to its end (killed at `deadline`, then `code` is null) and collects its output. */
function run(
  file: string,
  args: string[],
  o: { cwd?: string; env: Record<string, string>; owner?: Owner; input?: string; deadline: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: o.cwd, env: o.env, stdio: ['pipe', 'pipe', 'pipe'], ...o.owner });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, o.deadline - Date.now()));
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // psql may exit (refused connection) before reading its input; its exit code says why, not EPIPE.
    child.stdin!.on('error', () => {});
    child.stdin!.end(o.input ?? '');
  });
}
