import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { PostgresServer } from '@fedlab/testing';

/** Starts the stopped server `pg` again, on its port and data folder, as the user it ran as; returns once it accepts connections, with the function that stops it (the harness's `stop()` knows only the first process). */
export function restartPostgres(pg: PostgresServer): () => void {
  const pgCtl = path.join(pg.binDir, 'pg_ctl');
  const asOwner = (args: string[]) =>
    process.getuid?.() === 0
      ? (['/usr/bin/setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', pgCtl, ...args]] as const)
      : ([pgCtl, args] as const);
  const options = `-p ${pg.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off`;
  const [file, argv] = asOwner(['-D', pg.dataDir, '-l', path.join(pg.dataDir, 'restart.log'), '-o', options, '-w', 'start']);
  execFileSync(file, argv, { env: { LC_ALL: 'C' }, stdio: 'ignore', cwd: pg.dataDir });
  return () => {
    const [stopFile, stopArgv] = asOwner(['-D', pg.dataDir, '-m', 'fast', '-w', 'stop']);
    execFileSync(stopFile, stopArgv, { env: { LC_ALL: 'C' }, stdio: 'ignore', cwd: pg.dataDir });
  };
}
