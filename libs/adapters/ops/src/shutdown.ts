import { FedlabError } from '@fedlab/model';

/** How long a daemon may take to stop gracefully before it exits anyway. */
export const SHUTDOWN_GRACE_MS = 15_000;

/**
 * Stops a daemon on SIGTERM or SIGINT: runs `stop` once, exits 0 when it completes, and exits 1 with
 * the reason on stderr when it fails or takes longer than {@link SHUTDOWN_GRACE_MS} (a hung shutdown
 * must not keep an operator's restart waiting forever).
 */
export function stopOnSignals(stop: () => Promise<void>, graceMs = SHUTDOWN_GRACE_MS): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => {
      console.error(`error INTERNAL: graceful shutdown after ${signal} took longer than ${graceMs / 1000} s; exiting`);
      process.exit(1);
    }, graceMs);
    force.unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        const fe = FedlabError.from(error);
        console.error(`error ${fe.code}: shutdown failed: ${fe.message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}
