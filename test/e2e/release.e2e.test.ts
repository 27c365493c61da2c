import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, describe, expect } from 'vitest';
import { stringify } from 'yaml';
import { formatProjectDocument, fullAccess, type ProjectDocument } from '@fedlab/governance';
import { CLINIC_SCHEMA, clinicCsv, policyYaml } from '@fedlab/testing';
import { it, test, waitUntil } from '@fedlab/test-kit';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const NODES = ['health', 'education'] as const;

/** A free TCP port on loopback (the coordinator's address must be known before the nodes are created). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The release as a ministry installs it (docs/deployment.md): `npm run build:release` packs the tarball,
 * `npm install --global --offline` puts `fedlab` on the PATH of a temporary prefix, and a coordinator and
 * two ministry nodes, created and started with that installed command only, answer a signed query over
 * TLS. Nothing here runs the checkout's sources.
 */
describe('the installed release: a two-node network over TLS from the installed fedlab command', () => {
  let dir = '';
  let fedlabBin = '';
  const daemons: ChildProcess[] = [];
  const at = (...parts: string[]) => path.join(dir, ...parts);
  const fedlab = (...args: string[]) => run(fedlabBin, args, { cwd: dir, env: { ...process.env, FEDLAB_KEY_PASSPHRASE: '', FEDLAB_KEY_PASSPHRASE_FILE: '' } });

  /** Starts a daemon from the installed command; resolves with its admin URL once it printed it. */
  async function serve(args: string[]): Promise<{ child: ChildProcess; adminUrl: string }> {
    const child = spawn(fedlabBin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    daemons.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const adminUrl = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = /^admin at (http:\S+)$/.exec(line);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr}`)));
    });
    return { child, adminUrl };
  }

  const ready = (adminUrl: string) =>
    waitUntil(
      `${adminUrl} to be ready`,
      async () =>
        (await fetch(`${adminUrl}/readyz`).then(
          (r) => r.status,
          () => 0,
        )) === 200,
      120_000,
      100,
    );

  test.beforeAll(async ({ fileTempDir }) => {
    dir = fileTempDir;
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-release.mjs')], { cwd: ROOT, stdio: 'ignore' });
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    await run('npm', [
      'install',
      '--global',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--prefix',
      at('prefix'),
      path.join(ROOT, 'dist', `fedlab-${version}.tgz`),
    ]);
    fedlabBin = at('prefix', 'bin', 'fedlab');
  }, 300_000);

  afterAll(async () => {
    await Promise.all(
      daemons.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
  });

  it('puts fedlab on the PATH of the prefix, compiled (no TypeScript loader), answering --version', async () => {
    expect((await run(fedlabBin, ['--version'])).stdout.trim()).toBe(
      (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
    expect(readFileSync(fedlabBin, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });

  it('creates, starts and queries a coordinator and two nodes with TLS, every step through the installed command', { timeout: 300_000 }, async () => {
    // Certificates: a CA, and the coordinator's certificate for 127.0.0.1 (docs/deployment.md §2).
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=test CA',
      '-keyout',
      'ca-key.pem',
      '-out',
      'ca.pem',
    );
    openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=coordinator',
      '-keyout',
      'coordinator-key.pem',
      '-out',
      'coordinator.csr',
    );
    writeFileSync(at('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    openssl(
      'x509',
      '-req',
      '-in',
      'coordinator.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'server.ext',
      '-out',
      'coordinator.pem',
    );

    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const tls = (yaml: string, block: string) => yaml.replace(/^plaintext: true\n/m, '') + block;

    // The coordinator (its key encrypted, the passphrase from a file), then each node with its data steward.
    writeFileSync(at('passphrase'), 'coordinator secret\n', { mode: 0o600 });
    await fedlab('coordinator', 'init', '--dir', at('coordinator'), '--listen', address, '--roster', at('roster.yaml'), '--passphrase-file', at('passphrase'));
    const coordinatorYaml = at('coordinator', 'coordinator.yaml');
    writeFileSync(
      coordinatorYaml,
      tls(readFileSync(coordinatorYaml, 'utf8'), `tls:\n  cert_file: ${at('coordinator.pem')}\n  key_file: ${at('coordinator-key.pem')}\n`),
    );
    const entries = [at('coordinator', 'coordinator.pub.json')];
    await fedlab('keys', 'new', '--id', 'alice', '--role', 'researcher', '--out', at('alice.key'));
    entries.push(at('alice.key.pub.json'));
    writeFileSync(at('clinic.schema.yaml'), stringify(CLINIC_SCHEMA));
    writeFileSync(at('clinic.csv'), clinicCsv());
    for (const node of NODES) {
      await fedlab('node', 'init', '--dir', at(node), '--id', node, '--coordinator', address, '--roster', at('roster.yaml'));
      const nodeYaml = at(node, 'node.yaml');
      writeFileSync(nodeYaml, tls(readFileSync(nodeYaml, 'utf8'), `tls:\n  ca_file: ${at('ca.pem')}\n`));
      await fedlab('node', 'import', '--config', nodeYaml, '--schema', at('clinic.schema.yaml'), at('clinic.csv'));
      writeFileSync(at(node, 'policy.yaml'), policyYaml({ datasets: { clinic_visits: ['research'] } }));
      await fedlab('keys', 'new', '--id', `${node}-steward`, '--role', 'steward', '--node', node, '--out', at(`${node}-steward.key`));
      entries.push(at(node, 'node.pub.json'), at(`${node}-steward.key.pub.json`));
    }
    await fedlab('roster', 'add', '--roster', at('roster.yaml'), ...entries);

    // Start the coordinator, then the nodes, all from the installed command; wait until every node is attached.
    const coordinator = await serve(['coordinator', 'serve', '--config', coordinatorYaml, '--passphrase-file', at('passphrase')]);
    const nodes = await Promise.all(NODES.map((node) => serve(['node', 'serve', '--config', at(node, 'node.yaml')])));
    for (const n of nodes) await ready(n.adminUrl);
    await ready(coordinator.adminUrl);

    // A project asked of both nodes, approved by each node's steward; then a query, answered and verified.
    const researcher = ['--coordinator', address, '--ca', at('ca.pem'), '--key', at('alice.key'), '--roster', at('roster.yaml')];
    const project: ProjectDocument = {
      projectId: 'release-check',
      title: 'Release check',
      laySummary: 'Counts of clinic visits, to check an installed release.',
      purpose: 'research',
      legalBasis: 'Test',
      dataSharingAgreement: 'DSA-TEST',
      ethicsApproval: { reference: 'REB-TEST', expiresOn: '2099-12-31' },
      members: ['alice'],
      requests: Object.fromEntries(NODES.map((node) => [node, { datasets: { clinic_visits: fullAccess(CLINIC_SCHEMA) } }])),
      createdAt: new Date().toISOString(),
    };
    writeFileSync(at('project.json'), formatProjectDocument(project));
    await fedlab('project', 'submit', at('project.json'), ...researcher);
    for (const node of NODES) {
      await fedlab('project', 'approve', 'release-check', '--config', at(node, 'node.yaml'), '--key', at(`${node}-steward.key`));
    }
    writeFileSync(
      at('query.yaml'),
      stringify({
        project: 'release-check',
        purpose: 'research',
        privacy: { rho: 100 },
        nodes: [...NODES],
        analysis: { kind: 'count', dataset: 'clinic_visits' },
      }),
    );
    const { stdout } = await fedlab('query', 'submit', at('query.yaml'), '--wait', '--json', ...researcher);
    const result = JSON.parse(stdout) as { status: { state: string }; answers: Array<{ nodeId: string; verified: boolean; table?: { cells: unknown[] } }> };
    expect(result.status.state).toBe('finished');
    expect(result.answers.map((a) => [a.nodeId, a.verified, a.table?.cells.length])).toEqual([
      ['education', true, 1],
      ['health', true, 1],
    ]);
    // Plaintext to this TLS coordinator is refused with the reason and the hint (exit code 2).
    const plaintext = await run(fedlabBin, ['catalog', '--coordinator', address]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect([plaintext?.code, plaintext?.stderr.split('\n')[0]]).toEqual([2, 'error COORDINATOR_UNREACHABLE: coordinator unreachable: Failed to connect']);
  });
});
