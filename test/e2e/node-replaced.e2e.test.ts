import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import type { FedlabClient } from '@fedlab/client';
import { FEDLAB_BIN, createLocalNetwork, startLocalNetwork, type LocalNetwork } from '@fedlab/devnet';
import { it, test, waitUntil } from '@fedlab/test-kit';

/**
 * Two processes with one node's key (a copy of the node's folder started on another machine): the
 * coordinator keeps the newer connection and ends the older one with NODE_REPLACED, and the older
 * node daemon exits with code 2 and the reason instead of staying "ready" while detached, or taking
 * the place back.
 */
describe('a node daemon whose stream another copy of the node replaced', () => {
  let net: LocalNetwork;
  let alice: FedlabClient;
  const daemons: ChildProcess[] = [];

  test.beforeAll(async ({ fileTempDir }) => {
    // At info: the test reads the node's own log lines ("node stopped").
    net = await createLocalNetwork({ dir: fileTempDir, nodes: ['health'], persons: 500, seed: 7, logLevel: 'info' });
    await startLocalNetwork(net);
    // The test runs the node's processes itself, to see their exit codes.
    await net.stopNode('health');
    alice = await net.client('alice');
  }, 180_000);
  afterAll(async () => {
    for (const d of daemons) if (d.exitCode === null) d.kill('SIGTERM');
    alice?.close();
    await net?.stop();
  });

  const attached = async () => (await alice.nodes()).find((n) => n.nodeId === 'health')?.connected === true;
  function serve(config: string): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [FEDLAB_BIN, 'node', 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    daemons.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    return { child, stderr: () => stderr, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  }

  it('exits 2 with NODE_REPLACED when the copy attaches, and the copy serves the node', { timeout: 120_000 }, async () => {
    const folder = path.dirname(net.nodeConfigs.health!);
    const original = serve(net.nodeConfigs.health!);
    await waitUntil('the original to attach', attached, 100_000, 100);
    // Its own database (a daemon refuses a database another one holds), the same key and configuration.
    cpSync(folder, `${folder}-copy`, { recursive: true, filter: (source) => !source.endsWith('.lock') });
    const copy = serve(path.join(`${folder}-copy`, 'node.yaml'));
    expect(await original.exited).toBe(2);
    // The reason, then the daemon's own shutdown lines.
    const lines = original.stderr().trim().split('\n');
    expect(lines).toContain('error NODE_REPLACED: a new connection of node "health" replaced this one; this connection is closed');
    expect(lines.at(-1)).toMatch(/"msg":"node stopped"/);
    await waitUntil('the copy to attach', attached, 100_000, 100);
    expect(copy.child.exitCode).toBeNull();
  });
});
