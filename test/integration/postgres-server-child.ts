// A process that starts a PostgreSQL server in the folder it is given, prints the server's pid, port and
// data folder as one JSON line, and never stops it: postgres-server.test.ts kills it to show that the
// server does not outlive the process that started it.
import { startPostgres } from '@fedlab/testing';

void startPostgres({ dir: process.argv[2]! }).then((pg) => {
  process.stdout.write(`${JSON.stringify({ pid: pg.pid, port: pg.port, dataDir: pg.dataDir })}\n`);
  setInterval(() => {}, 60_000);
});
