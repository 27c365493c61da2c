import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { FedlabError, isErrorCode, type ErrorCode } from '@fedlab/model';
import { describeTlsFailure } from './tls';

const STATUS_BY_CODE: Partial<Record<ErrorCode, status>> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  INVALID_QUERY: status.INVALID_ARGUMENT,
  SIGNATURE_INVALID: status.UNAUTHENTICATED,
  UNKNOWN_RESEARCHER: status.UNAUTHENTICATED,
  NODE_NOT_ON_ROSTER: status.UNAUTHENTICATED,
  QUERY_EXPIRED: status.FAILED_PRECONDITION,
  REPLAYED_NONCE: status.ALREADY_EXISTS,
  MESSAGE_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  NOT_FOUND: status.NOT_FOUND,
  NODE_UNREACHABLE: status.UNAVAILABLE,
  TLS_HANDSHAKE_FAILED: status.UNAVAILABLE,
  COORDINATOR_UNREACHABLE: status.UNAVAILABLE,
  ENGINE_UNAVAILABLE: status.UNAVAILABLE,
  SCHEMA_MISMATCH: status.FAILED_PRECONDITION,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
};

/** The gRPC status a fedlab error code maps to at the edge (permission-type refusals → PERMISSION_DENIED). */
export function grpcStatusFor(code: ErrorCode): status {
  return STATUS_BY_CODE[code] ?? (code === 'INTERNAL' ? status.INTERNAL : status.PERMISSION_DENIED);
}

/**
 * Turns any thrown value into a gRPC error. Only FedlabErrors keep their message; anything else
 * becomes INTERNAL with a generic message, and the caller logs the original locally.
 */
export function toServiceError(error: unknown): Partial<ServiceError> {
  const fe = FedlabError.from(error);
  const metadata = new Metadata();
  metadata.set('fedlab-code', fe.code);
  return { code: grpcStatusFor(fe.code), details: fe.message, metadata };
}

/** Turns a gRPC client error back into a FedlabError (the inverse of {@link toServiceError}). */
export function fromServiceError(error: unknown): FedlabError {
  if (error instanceof FedlabError) return error;
  if (error === null || typeof error !== 'object') return new FedlabError('INTERNAL', 'internal error');
  const e = error as Partial<ServiceError>;
  const code = e.metadata?.get('fedlab-code')[0];
  if (isErrorCode(code)) return new FedlabError(code, e.details ?? code);
  if (e.code === status.RESOURCE_EXHAUSTED) return new FedlabError('MESSAGE_TOO_LARGE', `message too large: ${e.details ?? ''}`.trim());
  if (e.code === status.UNAVAILABLE) {
    const tls = describeTlsFailure(e.details ?? '');
    if (tls) return new FedlabError('TLS_HANDSHAKE_FAILED', `TLS handshake with the coordinator failed: ${tls}`);
    return new FedlabError('COORDINATOR_UNREACHABLE', `coordinator unreachable: ${connectionFailure(e.details ?? '')}`);
  }
  if (e.code === status.DEADLINE_EXCEEDED) return new FedlabError('DEADLINE_EXCEEDED', 'request deadline exceeded');
  return new FedlabError('INTERNAL', e.details ?? 'internal error');
}

/**
 * The reason in a gRPC connection failure, without grpc-js's framing: "No connection established.
 * Last error: connect ECONNREFUSED 127.0.0.1:7443 (2026-01-31T09:00:00.000Z). Resolution note: "
 * becomes "connect ECONNREFUSED 127.0.0.1:7443".
 */
export function connectionFailure(details: string): string {
  const reason = details
    .replace(/\s*Resolution note:.*$/s, '')
    .replace(/\s*\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, '')
    .replace(/^No connection established\.?\s*(?:Last error:\s*)?/, '')
    .replace(/\.$/, '')
    .trim();
  return reason === '' ? 'no connection established' : reason;
}
