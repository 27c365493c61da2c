import {
  credentials,
  makeGenericClientConstructor,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { FedlabError, type ErrorCode } from '@fedlab/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromServiceError, grpcStatusFor, toServiceError } from './grpc-errors';

/** A one-method service whose handler fails with whatever `nextError` holds. */
const FAILING_SERVICE: ServiceDefinition = {
  fail: {
    path: '/fedlab.test.Failing/Fail',
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (value: Buffer) => value,
    responseDeserialize: (bytes: Buffer) => bytes,
  },
};

let nextError: unknown;
let server: Server;
let client: InstanceType<ReturnType<typeof makeGenericClientConstructor>>;

beforeAll(async () => {
  server = new Server();
  server.addService(FAILING_SERVICE, {
    fail: (_call: unknown, callback: (error: Partial<ServiceError>) => void) => callback(toServiceError(nextError)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  const FailingClient = makeGenericClientConstructor(FAILING_SERVICE, 'Failing');
  client = new FailingClient(`127.0.0.1:${port}`, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

/** Throws `error` in a real gRPC handler and returns what the client receives, converted back. */
function overGrpc(error: unknown): Promise<FedlabError> {
  nextError = error;
  return new Promise((resolve, reject) =>
    client.fail!(Buffer.alloc(0), (received: ServiceError | null) =>
      received ? resolve(fromServiceError(received)) : reject(new Error('the call succeeded')),
    ),
  );
}

describe('grpcStatusFor', () => {
  it.each<[ErrorCode, status]>([
    ['INVALID_ARGUMENT', status.INVALID_ARGUMENT],
    ['INVALID_QUERY', status.INVALID_ARGUMENT],
    ['SIGNATURE_INVALID', status.UNAUTHENTICATED],
    ['UNKNOWN_RESEARCHER', status.UNAUTHENTICATED],
    ['NODE_NOT_ON_ROSTER', status.UNAUTHENTICATED],
    ['QUERY_EXPIRED', status.FAILED_PRECONDITION],
    ['REPLAYED_NONCE', status.ALREADY_EXISTS],
    ['MESSAGE_TOO_LARGE', status.RESOURCE_EXHAUSTED],
    ['NOT_FOUND', status.NOT_FOUND],
    ['NODE_UNREACHABLE', status.UNAVAILABLE],
    ['DEADLINE_EXCEEDED', status.DEADLINE_EXCEEDED],
    ['INTERNAL', status.INTERNAL],
    ['PURPOSE_NOT_PERMITTED', status.PERMISSION_DENIED],
    ['RESEARCHER_NOT_ALLOWED', status.PERMISSION_DENIED],
    ['ALL_CELLS_SUPPRESSED', status.PERMISSION_DENIED],
  ])('maps %s to gRPC status %i', (code, expected) => {
    expect(grpcStatusFor(code)).toBe(expected);
  });
});

describe('toServiceError', () => {
  it('keeps the status, message and code of a FedlabError', () => {
    const error = toServiceError(new FedlabError('PURPOSE_NOT_PERMITTED', 'purpose "enforcement" is not permitted for dataset patients'));
    expect([error.code, error.details, error.metadata?.get('fedlab-code')]).toEqual([
      status.PERMISSION_DENIED,
      'purpose "enforcement" is not permitted for dataset patients',
      ['PURPOSE_NOT_PERMITTED'],
    ]);
  });

  it('turns an Error into INTERNAL with the generic message "internal error"', () => {
    const error = toServiceError(new Error('SQLITE_CORRUPT: row 4711 of persons (ssn 123-45-6789)'));
    expect([error.code, error.details, error.metadata?.get('fedlab-code')]).toEqual([status.INTERNAL, 'internal error', ['INTERNAL']]);
  });

  it('does not carry the original message or stack of an Error anywhere in the result', () => {
    const original = new Error('SQLITE_CORRUPT: row 4711 of persons (ssn 123-45-6789)');
    const error = toServiceError(original);
    const everything = JSON.stringify({ ...error, metadata: error.metadata?.getMap() });
    expect(everything).not.toContain('4711');
    expect(everything).not.toContain('123-45-6789');
    expect(everything).not.toContain(original.stack!.split('\n')[1]!.trim());
  });

  it('turns a thrown string into INTERNAL with the generic message', () => {
    const error = toServiceError('secret value');
    expect([error.code, error.details]).toEqual([status.INTERNAL, 'internal error']);
  });

  it('turns an object that merely looks like a FedlabError into INTERNAL', () => {
    const error = toServiceError({ name: 'FedlabError', code: 'NOT_FOUND', message: 'node-a has row 17' });
    expect([error.code, error.details, error.metadata?.get('fedlab-code')]).toEqual([status.INTERNAL, 'internal error', ['INTERNAL']]);
  });
});

describe('fromServiceError', () => {
  it('returns a FedlabError unchanged', () => {
    const error = new FedlabError('QUERY_EXPIRED', 'query q-12345678 expired');
    expect(fromServiceError(error)).toBe(error);
  });

  it.each<ErrorCode>(['SIGNATURE_INVALID', 'REPLAYED_NONCE', 'PURPOSE_NOT_PERMITTED', 'NOT_FOUND', 'ALL_CELLS_SUPPRESSED'])(
    'restores code %s and its message from toServiceError output',
    (code) => {
      const restored = fromServiceError(toServiceError(new FedlabError(code, `${code.toLowerCase()}: one line`)));
      expect(restored).toBeInstanceOf(FedlabError);
      expect([restored.code, restored.message]).toEqual([code, `${code.toLowerCase()}: one line`]);
    },
  );

  it('prefers the fedlab-code metadata over the gRPC status', () => {
    const metadata = new Metadata();
    metadata.set('fedlab-code', 'UNKNOWN_DATASET');
    const restored = fromServiceError({ code: status.PERMISSION_DENIED, details: 'no dataset "claims" at node-a', metadata });
    expect([restored.code, restored.message]).toEqual(['UNKNOWN_DATASET', 'no dataset "claims" at node-a']);
  });

  it('ignores a fedlab-code that is not a known error code', () => {
    const metadata = new Metadata();
    metadata.set('fedlab-code', 'TEAPOT');
    const restored = fromServiceError({ code: status.UNKNOWN, details: 'short and stout', metadata });
    expect([restored.code, restored.message]).toEqual(['INTERNAL', 'short and stout']);
  });

  it('maps RESOURCE_EXHAUSTED without metadata to MESSAGE_TOO_LARGE', () => {
    const restored = fromServiceError({ code: status.RESOURCE_EXHAUSTED, details: 'Received message larger than max (5000000 vs 4194304)' });
    expect([restored.code, restored.message]).toEqual(['MESSAGE_TOO_LARGE', 'message too large: Received message larger than max (5000000 vs 4194304)']);
  });

  it('maps UNAVAILABLE without metadata to COORDINATOR_UNREACHABLE', () => {
    const restored = fromServiceError({ code: status.UNAVAILABLE, details: 'No connection established' });
    expect([restored.code, restored.message]).toEqual(['COORDINATOR_UNREACHABLE', 'coordinator unreachable: no connection established']);
  });

  it("keeps only the reason from grpc-js's connection failure text: no timestamp, no empty resolution note", () => {
    const details = 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7443 (2026-12-07T16:36:47.301Z). Resolution note: ';
    expect(fromServiceError({ code: status.UNAVAILABLE, details }).message).toBe('coordinator unreachable: connect ECONNREFUSED 127.0.0.1:7443');
  });

  it('maps DEADLINE_EXCEEDED without metadata to DEADLINE_EXCEEDED with a fixed message', () => {
    const restored = fromServiceError({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded after 5.001s' });
    expect([restored.code, restored.message]).toEqual(['DEADLINE_EXCEEDED', 'request deadline exceeded']);
  });

  it('maps any other status without metadata to INTERNAL, keeping the details', () => {
    const restored = fromServiceError({ code: status.UNIMPLEMENTED, details: 'The server does not implement the method /x' });
    expect([restored.code, restored.message]).toEqual(['INTERNAL', 'The server does not implement the method /x']);
  });

  it('maps an Error without details to INTERNAL with the message "internal error"', () => {
    const restored = fromServiceError(new Error('socket hang up'));
    expect([restored.code, restored.message]).toEqual(['INTERNAL', 'internal error']);
  });
});

describe('errors over a real gRPC call', () => {
  it.each<[ErrorCode, string]>([
    ['INVALID_QUERY', 'analysis.kind: unknown analysis kind'],
    ['SIGNATURE_INVALID', 'query: signature does not verify'],
    ['REPLAYED_NONCE', 'nonce already used'],
    ['PURPOSE_NOT_PERMITTED', 'purpose "fraud_targeting" is not permitted for dataset patients'],
    ['NODE_UNREACHABLE', 'node-b is not connected'],
  ])('arrive at the client with code %s and the original message', async (code, message) => {
    const restored = await overGrpc(new FedlabError(code, message));
    expect([restored.code, restored.message]).toEqual([code, message]);
  });

  it('arrive as INTERNAL "internal error" when the handler threw something else', async () => {
    const restored = await overGrpc(new TypeError("Cannot read properties of undefined (reading 'ssn')"));
    expect([restored.code, restored.message]).toEqual(['INTERNAL', 'internal error']);
  });
});

describe('normalising values that are not errors', () => {
  it('turns null and undefined into a generic INTERNAL error', () => {
    for (const value of [null, undefined, 42]) {
      const error = fromServiceError(value);
      expect([error.code, error.message]).toEqual(['INTERNAL', 'internal error']);
    }
  });
});
