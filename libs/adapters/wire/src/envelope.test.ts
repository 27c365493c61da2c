import { generateIdentity, initCrypto, parseRoster, verifyDetached } from '@fedlab/crypto';
import { publicIdentityJson, type Identity, type Roster } from '@fedlab/governance';
import { FedlabError } from '@fedlab/model';
import * as pb from '@fedlab/proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { openEnvelope, sealEnvelope } from './envelope';

function failure(fn: () => unknown): FedlabError {
  try {
    fn();
  } catch (error) {
    if (error instanceof FedlabError) return error;
    throw error;
  }
  throw new Error('expected a FedlabError, but nothing was thrown');
}

/** An envelope as a receiver sees it: encoded by the sender and decoded from the received bytes. */
function overTheWire(envelope: pb.SignedEnvelope): pb.SignedEnvelope {
  return pb.SignedEnvelope.decode(pb.SignedEnvelope.encode(envelope).finish());
}

const payload = new Uint8Array(Buffer.from('encoded QuerySpec bytes', 'utf8'));

let researcher: Identity;
let otherResearcher: Identity;
let node: Identity;
let outsider: Identity;
let roster: Roster;

beforeAll(async () => {
  await initCrypto();
  researcher = generateIdentity('r1', 'researcher');
  otherResearcher = generateIdentity('r2', 'researcher');
  node = generateIdentity('node-a', 'node');
  outsider = generateIdentity('r9', 'researcher');
  roster = parseRoster({ participants: [researcher, otherResearcher, node].map(publicIdentityJson) }, 'roster.yaml');
});

describe('sealEnvelope', () => {
  it('carries the payload bytes and the signer id', () => {
    const envelope = sealEnvelope('query', payload, researcher);
    expect([Buffer.from(envelope.payload).toString('utf8'), envelope.signerId]).toEqual(['encoded QuerySpec bytes', 'r1']);
  });

  it('signs the payload under the given context', () => {
    const envelope = sealEnvelope('query', payload, researcher);
    expect(verifyDetached('query', payload, envelope.signature, researcher.signPublicKey)).toBe(true);
  });

  it('copies the payload, so later changes to the caller buffer do not alter the envelope', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const envelope = sealEnvelope('result', bytes, node);
    bytes[0] = 9;
    expect([...envelope.payload]).toEqual([1, 2, 3]);
  });
});

describe('openEnvelope', () => {
  it('returns the payload and signer id of an envelope that verifies', () => {
    const opened = openEnvelope('query', overTheWire(sealEnvelope('query', payload, researcher)), roster, 'researcher', 'UNKNOWN_RESEARCHER');
    expect(opened).toStrictEqual({ payload, signerId: 'r1' });
  });

  it('returns a plain Uint8Array rather than a Buffer', () => {
    const opened = openEnvelope('result', sealEnvelope('result', payload, node), roster, 'node', 'NODE_NOT_ON_ROSTER');
    expect(opened.payload.constructor).toBe(Uint8Array);
  });

  it('refuses a missing envelope with INVALID_ARGUMENT', () => {
    const error = failure(() => openEnvelope('query', undefined, roster, 'researcher', 'UNKNOWN_RESEARCHER'));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe('query: missing signed envelope');
  });

  it('refuses a signer who is not on the roster with the given code', () => {
    const error = failure(() => openEnvelope('query', sealEnvelope('query', payload, outsider), roster, 'researcher', 'UNKNOWN_RESEARCHER'));
    expect(error.code).toBe('UNKNOWN_RESEARCHER');
    expect(error.message).toBe('query: signer is not a researcher on the roster');
  });

  it('refuses a signer who is on the roster in another role with the given code', () => {
    const error = failure(() => openEnvelope('result', sealEnvelope('result', payload, researcher), roster, 'node', 'NODE_NOT_ON_ROSTER'));
    expect(error.code).toBe('NODE_NOT_ON_ROSTER');
    expect(error.message).toBe('result: signer is not a node on the roster');
  });

  it('refuses an envelope whose payload was altered after signing', () => {
    const envelope = overTheWire(sealEnvelope('query', payload, researcher));
    envelope.payload[0]! ^= 0x01;
    const error = failure(() => openEnvelope('query', envelope, roster, 'researcher', 'UNKNOWN_RESEARCHER'));
    expect(error.code).toBe('SIGNATURE_INVALID');
    expect(error.message).toBe('query: signature does not verify');
  });

  it('refuses an envelope whose signature was altered', () => {
    const envelope = overTheWire(sealEnvelope('query', payload, researcher));
    envelope.signature[10]! ^= 0x80;
    expect(failure(() => openEnvelope('query', envelope, roster, 'researcher', 'UNKNOWN_RESEARCHER')).code).toBe('SIGNATURE_INVALID');
  });

  it('refuses an envelope relabelled with the id of another participant in the same role', () => {
    const envelope = { ...sealEnvelope('query', payload, researcher), signerId: 'r2' };
    const error = failure(() => openEnvelope('query', envelope, roster, 'researcher', 'UNKNOWN_RESEARCHER'));
    expect(error.code).toBe('SIGNATURE_INVALID');
    expect(error.message).toBe('query: signature does not verify');
  });

  it('refuses an envelope signed under another context', () => {
    const envelope = sealEnvelope('attach', payload, researcher);
    const error = failure(() => openEnvelope('query', envelope, roster, 'researcher', 'UNKNOWN_RESEARCHER'));
    expect(error.code).toBe('SIGNATURE_INVALID');
    expect(error.message).toBe('query: signature does not verify');
  });

  it('refuses an envelope with an empty signature', () => {
    const envelope = { ...sealEnvelope('query', payload, researcher), signature: Buffer.alloc(0) };
    expect(failure(() => openEnvelope('query', envelope, roster, 'researcher', 'UNKNOWN_RESEARCHER')).code).toBe('SIGNATURE_INVALID');
  });
});
