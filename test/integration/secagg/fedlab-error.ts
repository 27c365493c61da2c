import { expect } from 'vitest';
import type { ErrorCode } from '@fedlab/model';

/** Matches a thrown FedlabError by code and exact message (details are not compared). */
export function fedlabError(code: ErrorCode, message: string): unknown {
  return expect.objectContaining({ name: 'FedlabError', code, message });
}
