import type { ZodType } from 'zod';
import { FedlabError, type ErrorCode } from './errors';

/**
 * Validates `doc` with a zod schema; on failure throws `code` with the first issue as
 * `${source}: ${field.path}: ${reason}` so the user sees which field is wrong and why.
 */
export function parseDocument<T>(schema: ZodType<T>, doc: unknown, source: string, code: ErrorCode): T {
  const parsed = schema.safeParse(doc);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new FedlabError(code, `${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
}
