import type { Logger } from '@fedlab/model';

/**
 * Fault tests only (docs/configuration.md): FEDLAB_FAILPOINT names a point of the secure-aggregation
 * protocol where this process kills itself with SIGKILL — a real crash at an exact protocol step.
 * `wanted` is the variable's value, read by the app.
 */
export function failpointFrom(wanted: string | undefined, log: Logger): { failpoint?: (point: string) => boolean } {
  if (!wanted) return {};
  return {
    failpoint: (point: string) => {
      if (point !== wanted) return false;
      log.warn({ failpoint: point }, 'failpoint reached: killing this process');
      // After a message was written, give the socket a moment to carry it before the crash.
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), point.startsWith('after') ? 150 : 0);
      return true;
    },
  };
}
