import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { fromServiceError } from './grpc-errors';
import { createPlaintextChannelCredentials, createPlaintextServerCredentials, describeTlsFailure } from './tls';

// Status details exactly as @grpc/grpc-js 1.14 reports failed handshakes (see test/integration/tls.test.ts).
const MISSING_CLIENT_CERT =
  'No connection established. Last error: 80EC30C3937F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n (2026-11-25T02:46:55.525Z). Resolution note: ';
const OTHER_NAME =
  "No connection established. Last error: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 10.1.2.3 is not in the cert's list: . Resolution note: ";

describe('describeTlsFailure', () => {
  it('keeps only the reason of an OpenSSL alert, without pointers, paths or times', () => {
    expect(describeTlsFailure(MISSING_CLIENT_CERT)).toBe('the server requires a client certificate (mutual TLS) (alert certificate required)');
  });

  it('keeps the error code of a name mismatch, not the address it names', () => {
    expect(describeTlsFailure(OTHER_NAME)).toBe('the server certificate is for another name (ERR_TLS_CERT_ALTNAME_INVALID)');
  });

  it('leaves a refused connection to the caller', () => {
    expect(describeTlsFailure('No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7443. Resolution note: ')).toBeUndefined();
  });
});

describe('fromServiceError for an unavailable coordinator', () => {
  it('reports a failed handshake as TLS_HANDSHAKE_FAILED', () => {
    const error = fromServiceError({ code: status.UNAVAILABLE, details: OTHER_NAME });
    expect([error.code, error.message]).toEqual([
      'TLS_HANDSHAKE_FAILED',
      'TLS handshake with the coordinator failed: the server certificate is for another name (ERR_TLS_CERT_ALTNAME_INVALID)',
    ]);
  });

  it('reports anything else as COORDINATOR_UNREACHABLE', () => {
    expect(fromServiceError({ code: status.UNAVAILABLE, details: 'No connection established' }).code).toBe('COORDINATOR_UNREACHABLE');
  });
});

describe('plaintext credentials', () => {
  it('are given for loopback addresses', () => {
    expect(() => createPlaintextChannelCredentials('[::1]:7443')).not.toThrow();
    expect(() => createPlaintextServerCredentials('localhost:0')).not.toThrow();
  });

  it('are refused for any other address, naming it', () => {
    expect(() => createPlaintextChannelCredentials('10.1.2.3:7443', 'pass --ca FILE')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      '10.1.2.3:7443: plaintext gRPC is only allowed to loopback (127.0.0.1, ::1, localhost); pass --ca FILE',
    );
    expect(() => createPlaintextServerCredentials('0.0.0.0:7443')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      '0.0.0.0:7443: plaintext gRPC is only allowed on loopback (127.0.0.1, ::1, localhost); pass TLS credentials',
    );
  });
});
