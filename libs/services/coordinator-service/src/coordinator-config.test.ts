import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { FedlabError } from '@fedlab/model';
import { it, test } from '@fedlab/test-kit';
import { loadCoordinatorConfig } from './coordinator-config';

describe('loadCoordinatorConfig', () => {
  let dir: string;
  test.beforeEach(({ tempDir }) => {
    dir = tempDir;
  });
  const write = (text: string) => {
    const file = path.join(dir, `coordinator-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, `database: coordinator.db\nkey_file: coordinator.key\nroster_file: roster.json\n${text}`);
    return file;
  };
  const failure = (file: string) => {
    try {
      loadCoordinatorConfig(file);
    } catch (error) {
      if (error instanceof FedlabError) return [error.code, error.message];
    }
    return undefined;
  };

  it('allows plaintext on a loopback address when enabled', () => {
    expect(loadCoordinatorConfig(write('listen: 127.0.0.1:7443\nplaintext: true\n'))).toMatchObject({ listen: '127.0.0.1:7443', plaintext: true });
  });

  it('resolves the TLS files against the file, with client certificates not required by default', () => {
    const config = loadCoordinatorConfig(write('listen: 0.0.0.0:7443\ntls:\n  cert_file: tls/server.pem\n  key_file: /etc/fedlab/server-key.pem\n'));
    expect([config.plaintext, config.tls]).toEqual([
      false,
      { certFile: path.join(dir, 'tls/server.pem'), keyFile: '/etc/fedlab/server-key.pem', requireClientCert: false },
    ]);
  });

  it('keeps the client CA when client certificates are required', () => {
    const config = loadCoordinatorConfig(
      write('listen: 0.0.0.0:7443\ntls: { cert_file: s.pem, key_file: k.pem, client_ca_file: clients.pem, require_client_cert: true }\n'),
    );
    expect(config.tls).toMatchObject({ clientCaFile: path.join(dir, 'clients.pem'), requireClientCert: true });
  });

  it('refuses plaintext on an address that is not loopback', () => {
    const file = write('listen: 0.0.0.0:7443\nplaintext: true\n');
    expect(failure(file)).toEqual([
      'CONFIG_INVALID',
      `${file}: plaintext: plaintext gRPC is only allowed on loopback (127.0.0.1, ::1, localhost); configure tls for 0.0.0.0:7443`,
    ]);
  });

  it('requires tls when plaintext is not enabled, even on loopback', () => {
    const file = write('listen: 127.0.0.1:7443\n');
    expect(failure(file)).toEqual(['CONFIG_INVALID', `${file}: tls: required (cert_file and key_file) unless plaintext: true on a loopback address`]);
  });

  it('refuses plaintext and tls together', () => {
    const file = write('listen: 127.0.0.1:7443\nplaintext: true\ntls: { cert_file: s.pem, key_file: k.pem }\n');
    expect(failure(file)).toEqual(['CONFIG_INVALID', `${file}: tls: not allowed with plaintext: true; remove one of them`]);
  });

  it('refuses require_client_cert without a client CA, and a client CA that is not required', () => {
    const noCa = write('listen: 0.0.0.0:7443\ntls: { cert_file: s.pem, key_file: k.pem, require_client_cert: true }\n');
    expect(failure(noCa)).toEqual(['CONFIG_INVALID', `${noCa}: tls.client_ca_file: required when tls.require_client_cert is true`]);
    const notRequired = write('listen: 0.0.0.0:7443\ntls: { cert_file: s.pem, key_file: k.pem, client_ca_file: clients.pem }\n');
    expect(failure(notRequired)).toEqual([
      'CONFIG_INVALID',
      `${notRequired}: tls.require_client_cert: must be true when tls.client_ca_file is set (client certificates are either required or not asked for)`,
    ]);
  });

  it('names the field of a wrong type, an unknown key and a missing value', () => {
    const wrongType = write('listen: 0.0.0.0:7443\ntls: { cert_file: s.pem, key_file: k.pem, require_client_cert: "yes" }\n');
    expect(failure(wrongType)).toEqual(['CONFIG_INVALID', `${wrongType}: tls.require_client_cert: Invalid input: expected boolean, received string`]);
    const unknown = write('listen: 0.0.0.0:7443\ntls: { cert_file: s.pem, key_file: k.pem, ca_file: ca.pem }\n');
    expect(failure(unknown)).toEqual(['CONFIG_INVALID', `${unknown}: tls: Unrecognized key: "ca_file"`]);
    const missing = write('listen: 0.0.0.0:7443\ntls: { cert_file: s.pem }\n');
    expect(failure(missing)).toEqual(['CONFIG_INVALID', `${missing}: tls.key_file: Invalid input: expected string, received undefined`]);
  });

  it('refuses the empty placeholders `fedlab coordinator init` writes until they are filled in', () => {
    const file = write('listen: 0.0.0.0:7443\ntls:\n  cert_file: ""\n  key_file: ""\n');
    expect(failure(file)).toEqual(['CONFIG_INVALID', `${file}: tls.cert_file: required: the path of a PEM file`]);
  });

  const LOOPBACK = 'listen: 127.0.0.1:7443\nplaintext: true\n';

  describe('admin_listen', () => {
    it('defaults to a free port on 127.0.0.1 and keeps a loopback address', () => {
      expect(loadCoordinatorConfig(write(LOOPBACK)).adminListen).toBe('127.0.0.1:0');
      expect(loadCoordinatorConfig(write(`${LOOPBACK}admin_listen: localhost:9464\n`)).adminListen).toBe('localhost:9464');
    });

    it('refuses an address off loopback, naming the field', () => {
      const file = write(`${LOOPBACK}admin_listen: 10.0.0.5:9464\n`);
      expect(failure(file)).toEqual([
        'CONFIG_INVALID',
        `${file}: admin_listen: the admin endpoint (/healthz, /readyz, /metrics) is unauthenticated and served on loopback only (127.0.0.1, ::1, localhost)`,
      ]);
    });

    it('refuses a value that is not host:port', () => {
      const file = write(`${LOOPBACK}admin_listen: 9464\n`);
      expect(failure(file)).toEqual(['CONFIG_INVALID', `${file}: admin_listen: Invalid input: expected string, received number`]);
      const portless = write(`${LOOPBACK}admin_listen: "127.0.0.1"\n`);
      expect(failure(portless)).toEqual(['CONFIG_INVALID', `${portless}: admin_listen: host:port of the local admin endpoint`]);
    });
  });
});
