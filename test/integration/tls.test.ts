import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { FedlabClient } from '@fedlab/client';
import { loadCoordinatorConfig } from '@fedlab/coordinator-service';
import { loadNodeConfig } from '@fedlab/node-service';
import { startCoordinator as startCoordinatorApp } from '../../apps/coordinator/src/start-coordinator';
import { startNode as startNodeApp } from '../../apps/node/src/start-node';
import { FEDLAB_BIN } from '@fedlab/devnet';
import { createChannelCredentials, createServerCredentials, type ClientTlsFiles } from '@fedlab/wire';
import { CLINIC_SCHEMA, clinicCsv, policyYaml, startTestNetwork, testQuerySpec, type TestNetwork } from '@fedlab/testing';
import { it, test } from '@fedlab/test-kit';

// One CA signs the coordinator's certificates and the client certificate; a second, unrelated CA is
// what a client with the wrong trust anchor holds. `openssl ca` is used for the expired certificate
// because this repository's floor, OpenSSL 3.0, has no `x509 -not_before/-not_after`.
const OPENSSL_CONFIG = `
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
[ ca_ext ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server_ext ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[ other_name_ext ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:coordinator.example.org
[ client_ext ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
[ ca ]
default_ca = test_ca
[ test_ca ]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
default_md = sha256
policy = any_name
unique_subject = no
[ any_name ]
commonName = supplied
`;

interface Pki {
  file(name: string): string;
}

/** Writes ca, other-ca, server (127.0.0.1, localhost), other-name, expired and client certificates with their keys. */
function createPki(dir: string): Pki {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  mkdirSync(file('ca-db'), { recursive: true });
  writeFileSync(file('openssl.cnf'), OPENSSL_CONFIG);
  writeFileSync(file('ca-db/index.txt'), '');
  writeFileSync(file('ca-db/serial'), '1000\n');
  const key = (name: string) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}-key.pem`);
  const request = (name: string, commonName: string) => {
    key(name);
    openssl('req', '-new', '-config', 'openssl.cnf', '-key', `${name}-key.pem`, '-subj', `/CN=${commonName}`, '-out', `${name}.csr`);
  };
  const sign = (name: string, extensions: string) =>
    openssl(
      'ca',
      '-batch',
      '-config',
      'openssl.cnf',
      '-cert',
      'ca.pem',
      '-keyfile',
      'ca-key.pem',
      '-extensions',
      extensions,
      '-days',
      '2',
      '-notext',
      '-in',
      `${name}.csr`,
      '-out',
      `${name}.pem`,
    );
  for (const ca of ['ca', 'other-ca']) {
    key(ca);
    openssl(
      'req',
      '-x509',
      '-new',
      '-config',
      'openssl.cnf',
      '-extensions',
      'ca_ext',
      '-key',
      `${ca}-key.pem`,
      '-subj',
      `/CN=fedlab test ${ca}`,
      '-days',
      '2',
      '-out',
      `${ca}.pem`,
    );
  }
  request('server', 'localhost');
  sign('server', 'server_ext');
  request('other-name', 'coordinator.example.org');
  sign('other-name', 'other_name_ext');
  request('client', 'researcher');
  sign('client', 'client_ext');
  request('expired', 'localhost');
  openssl(
    'ca',
    '-batch',
    '-config',
    'openssl.cnf',
    '-cert',
    'ca.pem',
    '-keyfile',
    'ca-key.pem',
    '-extensions',
    'server_ext',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
    '-notext',
    '-in',
    'expired.csr',
    '-out',
    'expired.pem',
  );
  return { file };
}

const TLS_FAILED = 'TLS handshake with the coordinator failed';

/** The daemon apps' composition roots, started in this process from a config file. */
const startCoordinator = async (configFile: string) => startCoordinatorApp({ configFile, config: loadCoordinatorConfig(configFile) });
const startNode = async (configFile: string) => startNodeApp({ configFile, config: loadNodeConfig(configFile) });

describe('gRPC over TLS with operator certificates', () => {
  let root: string;
  const networks: TestNetwork[] = [];
  const clients: FedlabClient[] = [];
  let pki: Pki;
  const errors = { code: 'INVALID_ARGUMENT' } as const;
  const serverCredentials = (cert: string, clientCa?: string): ServerCredentials =>
    createServerCredentials(
      {
        cert: { path: pki.file(`${cert}.pem`), name: 'cert' },
        key: { path: pki.file(`${cert}-key.pem`), name: 'key' },
        ...(clientCa ? { clientCa: { path: pki.file(clientCa), name: 'client ca' } } : {}),
      },
      errors,
    );
  const channelCredentials = (ca: string, options: Omit<ClientTlsFiles, 'ca'> = {}): ChannelCredentials =>
    createChannelCredentials({ ca: { path: pki.file(ca), name: 'ca' }, ...options }, errors);
  const clientCertificate = () => ({ cert: { path: pki.file('client.pem'), name: 'cert' }, key: { path: pki.file('client-key.pem'), name: 'key' } });
  const client = (address: string, credentials: ChannelCredentials) => {
    const c = new FedlabClient({ address, credentials, callTimeoutMs: 5_000 });
    clients.push(c);
    return c;
  };
  // A coordinator without nodes, for the tests of its certificate alone.
  const coordinatorWith = async (name: string, credentials: ServerCredentials) => {
    const dir = path.join(root, name);
    mkdirSync(dir);
    const net = await startTestNetwork({ dir, nodes: [], credentials: { server: credentials, client: channelCredentials('ca.pem') } });
    networks.push(net);
    return net.address;
  };

  test.beforeAll(({ fileTempDir }) => {
    root = fileTempDir;
    pki = createPki(root);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const net of networks) await net.stop();
  });

  describe('a coordinator with a certificate for 127.0.0.1 and localhost', () => {
    let net: TestNetwork;
    beforeAll(async () => {
      const dir = path.join(root, 'network');
      mkdirSync(dir);
      net = await startTestNetwork({
        dir,
        nodes: [{ id: 'clinic', datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }], policy: policyYaml({ datasets: { clinic_visits: ['research'] } }) }],
        credentials: { server: serverCredentials('server'), client: channelCredentials('ca.pem') },
      });
      networks.push(net);
    });

    it('lets a node attach over TLS and answer a query', async () => {
      const alice = net.client(net.researchers.alice!);
      const { queryId } = await alice.submitEnvelope(
        await alice.sign(testQuerySpec({ researcherId: 'alice', analysis: { kind: 'count', dataset: 'clinic_visits', groupBy: [] } })),
      );
      await alice.watch(queryId);
      const result = await alice.result(queryId);
      expect(result.status.state).toBe('finished');
      expect(result.answers.map((a) => [a.nodeId, a.verified, a.table?.cells.length])).toEqual([['clinic', true, 1]]);
    });

    it('refuses a client that trusts another CA, naming the handshake failure', async () => {
      await expect(client(net.address, channelCredentials('other-ca.pem')).catalog()).rejects.toThrowFedlabError(
        'TLS_HANDSHAKE_FAILED',
        `${TLS_FAILED}: the server certificate is not signed by the trusted CA (unable to verify the first certificate)`,
      );
    });

    it('serves the CLI over TLS with --ca, and the CLI refuses plaintext to a remote address', async () => {
      const run = promisify(execFile);
      const { stdout } = await run(process.execPath, [FEDLAB_BIN, 'catalog', '--coordinator', net.address, '--ca', pki.file('ca.pem'), '--json']);
      expect((JSON.parse(stdout) as Array<{ nodeId: string }>).map((n) => n.nodeId)).toEqual(['clinic']);
      const plaintext = await run(process.execPath, [FEDLAB_BIN, 'catalog', '--coordinator', 'coordinator.example.org:7443']).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect([plaintext?.code, plaintext?.stderr.split('\n')[0]]).toEqual([
        2,
        'error INVALID_ARGUMENT: coordinator.example.org:7443: plaintext gRPC is only allowed to loopback (127.0.0.1, ::1, localhost); pass --ca FILE (or set FEDLAB_CA) to connect over TLS',
      ]);
    });

    it('tells a CLI user who dials a TLS coordinator in plaintext that it could not be reached, and that TLS needs --ca', async () => {
      const run = promisify(execFile);
      const plaintext = await run(process.execPath, [FEDLAB_BIN, 'catalog', '--coordinator', net.address]).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect([plaintext?.code, ...(plaintext?.stderr.trimEnd().split('\n') ?? [])]).toEqual([
        2,
        'error COORDINATOR_UNREACHABLE: coordinator unreachable: Failed to connect',
        '  (the coordinator could not be reached: check its address and that it is running; a coordinator that serves TLS needs its CA (--ca or FEDLAB_CA; a node: tls.ca_file))',
      ]);
    });
  });

  it('refuses a coordinator whose certificate is for another name, unless server_name names it', async () => {
    const address = await coordinatorWith('other-name', serverCredentials('other-name'));
    await expect(client(address, channelCredentials('ca.pem')).catalog()).rejects.toThrowFedlabError(
      'TLS_HANDSHAKE_FAILED',
      `${TLS_FAILED}: the server certificate is for another name (ERR_TLS_CERT_ALTNAME_INVALID)`,
    );
    expect(await client(address, channelCredentials('ca.pem', { serverName: 'coordinator.example.org' })).catalog()).toEqual([]);
  });

  it('refuses a coordinator whose certificate has expired', async () => {
    // Built without the helper, which would refuse the expired certificate before serving it.
    const expired = ServerCredentials.createSsl(
      null,
      [{ private_key: readFileSync(pki.file('expired-key.pem')), cert_chain: readFileSync(pki.file('expired.pem')) }],
      false,
    );
    const address = await coordinatorWith('expired', expired);
    await expect(client(address, channelCredentials('ca.pem')).catalog()).rejects.toThrowFedlabError(
      'TLS_HANDSHAKE_FAILED',
      `${TLS_FAILED}: the server certificate has expired (certificate has expired)`,
    );
  });

  describe('a coordinator that requires client certificates (mutual TLS)', () => {
    let net: TestNetwork;
    beforeAll(async () => {
      const dir = path.join(root, 'mtls');
      mkdirSync(dir);
      net = await startTestNetwork({
        dir,
        nodes: [{ id: 'clinic', datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }], policy: null }],
        credentials: { server: serverCredentials('server', 'ca.pem'), client: channelCredentials('ca.pem', { client: clientCertificate() }) },
      });
      networks.push(net);
    });

    it('accepts a node and a client that present a certificate signed by the client CA', async () => {
      expect((await client(net.address, channelCredentials('ca.pem', { client: clientCertificate() })).catalog()).map((n) => n.nodeId)).toEqual(['clinic']);
    });

    it('refuses a client without a certificate', async () => {
      await expect(client(net.address, channelCredentials('ca.pem')).catalog()).rejects.toThrowFedlabError(
        'TLS_HANDSHAKE_FAILED',
        `${TLS_FAILED}: the server requires a client certificate (mutual TLS) (alert certificate required)`,
      );
    });
  });

  describe('certificate files checked at start', () => {
    const coordinatorConfig = (name: string, tls: string) => {
      const file = path.join(root, `${name}.yaml`);
      writeFileSync(file, `listen: 127.0.0.1:0\ndatabase: ${name}.db\nkey_file: none.key\nroster_file: none.json\ntls:\n${tls}`);
      return file;
    };

    it('refuses a key that does not match the certificate', async () => {
      const file = coordinatorConfig('mismatch', '  cert_file: server.pem\n  key_file: client-key.pem\n');
      await expect(startCoordinator(file)).rejects.toThrowFedlabError(
        'CONFIG_INVALID',
        `${file}: tls.key_file: the private key does not match the certificate in tls.cert_file`,
      );
    });

    it('refuses a private key file that others can read', async () => {
      copyFileSync(pki.file('server-key.pem'), pki.file('loose-key.pem'));
      chmodSync(pki.file('loose-key.pem'), 0o644);
      const file = coordinatorConfig('loose', '  cert_file: server.pem\n  key_file: loose-key.pem\n');
      await expect(startCoordinator(file)).rejects.toThrowFedlabError(
        'CONFIG_INVALID',
        `${file}: tls.key_file: ${pki.file('loose-key.pem')}: permissions 644 are too open; run chmod 600`,
      );
    });

    it('refuses an expired certificate', async () => {
      const file = coordinatorConfig('expired', '  cert_file: expired.pem\n  key_file: expired-key.pem\n');
      await expect(startCoordinator(file)).rejects.toThrowFedlabError(
        'CONFIG_INVALID',
        `${file}: tls.cert_file: the certificate expired on 2020-01-02T00:00:00.000Z`,
      );
    });

    it('refuses a file that is not a PEM certificate, and one that cannot be read', async () => {
      const notPem = coordinatorConfig('not-pem', '  cert_file: server-key.pem\n  key_file: server-key.pem\n');
      await expect(startCoordinator(notPem)).rejects.toThrowFedlabError(
        'CONFIG_INVALID',
        `${notPem}: tls.cert_file: ${pki.file('server-key.pem')} is not a PEM certificate`,
      );
      const missing = coordinatorConfig(
        'missing',
        '  cert_file: server.pem\n  key_file: server-key.pem\n  client_ca_file: clients.pem\n  require_client_cert: true\n',
      );
      await expect(startCoordinator(missing)).rejects.toThrowFedlabError(
        'CONFIG_INVALID',
        `${missing}: tls.client_ca_file: cannot read ${pki.file('clients.pem')} (ENOENT)`,
      );
    });

    it('refuses a node whose CA file is not a certificate', async () => {
      const file = path.join(root, 'node.yaml');
      writeFileSync(
        file,
        'node_id: clinic\ncoordinator: 127.0.0.1:7443\ndatabase: node.db\nkey_file: none.key\npolicy_file: policy.yaml\nroster_file: none.json\ntls:\n  ca_file: ca-key.pem\n',
      );
      await expect(startNode(file)).rejects.toThrowFedlabError('CONFIG_INVALID', `${file}: tls.ca_file: ${pki.file('ca-key.pem')} is not a PEM certificate`);
    });

    it('refuses plaintext credentials for an address off loopback', () => {
      expect(() => new FedlabClient({ address: 'coordinator.example.org:7443' })).toThrowFedlabError(
        'INVALID_ARGUMENT',
        'coordinator.example.org:7443: plaintext gRPC is only allowed to loopback (127.0.0.1, ::1, localhost); pass TLS credentials',
      );
    });
  });
});
