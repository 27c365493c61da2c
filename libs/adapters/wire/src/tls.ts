import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { checkServerIdentity } from 'node:tls';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import { FedlabError, type ErrorCode } from '@fedlab/model';
import { isLoopbackAddress } from './addresses';

/** A PEM file and the name it goes by in error messages: a config field (`tls.cert_file`) or a CLI flag (`--ca`). */
export interface PemFile {
  path: string;
  name: string;
}

/** A certificate chain and the private key it belongs to. */
export interface KeyPairFiles {
  cert: PemFile;
  key: PemFile;
}

/** The coordinator's TLS files. */
export interface ServerTlsFiles extends KeyPairFiles {
  /** When given, every client must present a certificate signed by this CA (mutual TLS). */
  clientCa?: PemFile;
}

/** A client's (node, researcher, organisation) TLS files. */
export interface ClientTlsFiles {
  /** The CA that signed the coordinator's certificate. */
  ca: PemFile;
  /** The client's own certificate and key, for a coordinator that demands mutual TLS. */
  client?: KeyPairFiles;
  /** The name the coordinator's certificate must carry, when it differs from the dialled host. */
  serverName?: string;
}

/** How file errors are reported: CONFIG_INVALID with the config file as source (daemons), INVALID_ARGUMENT (CLI). */
export interface TlsErrorContext {
  code: ErrorCode;
  source?: string;
}

const LOOPBACK_HOSTS = '127.0.0.1, ::1, localhost';

function fail(context: TlsErrorContext, name: string, reason: string): never {
  throw new FedlabError(context.code, `${context.source ? `${context.source}: ` : ''}${name}: ${reason}`);
}

function readPem(file: PemFile, context: TlsErrorContext): Buffer {
  try {
    return readFileSync(file.path);
  } catch (error) {
    return fail(context, file.name, `cannot read ${file.path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

function readCertificates(file: PemFile, context: TlsErrorContext): { pem: Buffer; first: X509Certificate } {
  const pem = readPem(file, context);
  // gRPC takes PEM only; X509Certificate alone would also accept DER.
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) fail(context, file.name, `${file.path} is not a PEM certificate`);
  try {
    return { pem, first: new X509Certificate(pem) };
  } catch {
    return fail(context, file.name, `${file.path} is not a PEM certificate`);
  }
}

function readKeyPair(files: KeyPairFiles, context: TlsErrorContext, nowMs: number): { certPem: Buffer; keyPem: Buffer } {
  const { pem: certPem, first } = readCertificates(files.cert, context);
  const keyPem = readPem(files.key, context);
  // A private key readable by others is refused, as identity key files are.
  const mode = statSync(files.key.path).mode & 0o777;
  if (mode & 0o077) fail(context, files.key.name, `${files.key.path}: permissions ${mode.toString(8)} are too open; run chmod 600`);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return fail(context, files.key.name, `${files.key.path} is not an unencrypted PEM private key`);
  }
  if (!first.checkPrivateKey(key)) fail(context, files.key.name, `the private key does not match the certificate in ${files.cert.name}`);
  const validFromMs = Date.parse(first.validFrom);
  const validToMs = Date.parse(first.validTo);
  if (nowMs > validToMs) fail(context, files.cert.name, `the certificate expired on ${new Date(validToMs).toISOString()}`);
  if (nowMs < validFromMs) fail(context, files.cert.name, `the certificate is not valid before ${new Date(validFromMs).toISOString()}`);
  return { certPem, keyPem };
}

/**
 * Server credentials from the operator's PEM files. Thrown errors name the file's field: unreadable,
 * not PEM, a key that does not match the certificate, or a certificate outside its validity period.
 */
export function createServerCredentials(files: ServerTlsFiles, context: TlsErrorContext, nowMs = Date.now()): ServerCredentials {
  return loadServerTls(files, context, nowMs).credentials;
}

/** {@link createServerCredentials}, with the checked certificate and key PEMs (for a daemon's HTTPS pages too). */
export function loadServerTls(
  files: ServerTlsFiles,
  context: TlsErrorContext,
  nowMs = Date.now(),
): { credentials: ServerCredentials; certPem: Buffer; keyPem: Buffer } {
  const pair = readKeyPair(files, context, nowMs);
  const clientCa = files.clientCa ? readCertificates(files.clientCa, context).pem : null;
  return { ...pair, credentials: ServerCredentials.createSsl(clientCa, [{ private_key: pair.keyPem, cert_chain: pair.certPem }], clientCa !== null) };
}

/** Channel credentials that trust `files.ca` (only), with the client's certificate for mutual TLS when given. */
export function createChannelCredentials(files: ClientTlsFiles, context: TlsErrorContext, nowMs = Date.now()): ChannelCredentials {
  const ca = readCertificates(files.ca, context).pem;
  const pair = files.client ? readKeyPair(files.client, context, nowMs) : undefined;
  const serverName = files.serverName;
  return ChannelCredentials.createSsl(
    ca,
    pair?.keyPem ?? null,
    pair?.certPem ?? null,
    serverName ? { checkServerIdentity: (_host, cert) => checkServerIdentity(serverName, cert) } : {},
  );
}

/**
 * Plaintext channel credentials, for a loopback address only (DESIGN.md §3: plaintext is for tests
 * and the demo). Elsewhere throws INVALID_ARGUMENT naming the address, followed by `hint`.
 */
export function createPlaintextChannelCredentials(address: string, hint = 'pass TLS credentials'): ChannelCredentials {
  if (!isLoopbackAddress(address))
    throw new FedlabError('INVALID_ARGUMENT', `${address}: plaintext gRPC is only allowed to loopback (${LOOPBACK_HOSTS}); ${hint}`);
  return ChannelCredentials.createInsecure();
}

/** Plaintext server credentials, for a loopback listening address only; elsewhere throws INVALID_ARGUMENT. */
export function createPlaintextServerCredentials(listen: string): ServerCredentials {
  if (!isLoopbackAddress(listen))
    throw new FedlabError('INVALID_ARGUMENT', `${listen}: plaintext gRPC is only allowed on loopback (${LOOPBACK_HOSTS}); pass TLS credentials`);
  return ServerCredentials.createInsecure();
}

// Node's and OpenSSL's reasons for a failed handshake, as they appear in a gRPC UNAVAILABLE status.
// Only the matched phrase is repeated: the rest of the detail carries addresses, pointers and paths.
const TLS_FAILURES: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /unable to verify the first certificate|unable to get local issuer certificate|self[- ]signed certificate(?: in certificate chain)?/,
    'the server certificate is not signed by the trusted CA',
  ],
  [/certificate has expired/, 'the server certificate has expired'],
  [/certificate is not yet valid/, 'the server certificate is not yet valid'],
  [/ERR_TLS_CERT_ALTNAME_INVALID/, 'the server certificate is for another name'],
  [/alert certificate required/, 'the server requires a client certificate (mutual TLS)'],
  [/alert (?:unknown ca|bad certificate|certificate unknown|certificate expired)/, 'the server refused the client certificate'],
  [/wrong version number/, 'the server does not speak TLS'],
];

/** Explains a TLS handshake failure found in a gRPC status detail, or returns undefined when it is not one. */
export function describeTlsFailure(details: string): string | undefined {
  for (const [pattern, meaning] of TLS_FAILURES) {
    const match = pattern.exec(details);
    if (match) return `${meaning} (${match[0]})`;
  }
  return undefined;
}
