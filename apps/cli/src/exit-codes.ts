import type { QueryResultView } from '@fedlab/client';

/**
 * The fedlab command's exit codes (docs/operations.md "Exit codes"), stable for scripts:
 * 0 done; 1 an unexpected error (a bug: please report it); 2 refused with a fedlab error code (bad
 * input, a refused call, an unreachable coordinator); 3 a verification failed (audit chain, public
 * log); 4 a query finished without a full answer (a node refused, failed or was unreachable, or the
 * pooled result was withheld).
 */
export const EXIT = { ok: 0, unexpected: 1, fedlabError: 2, verificationFailed: 3, notFullyAnswered: 4 } as const;

/** Whether a query's result is complete: finished, every node answered, and any pooled result released. */
export function fullyAnswered(result: QueryResultView): boolean {
  return result.status.state === 'finished' && result.status.nodes.every((n) => n.state === 'done') && result.pooled?.refusal === undefined;
}
