import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { afterAll } from 'vitest';
import type { FedlabClient } from '@fedlab/client';
import { startTestNetwork, type TestNetwork, type TestNetworkOptions } from '@fedlab/testing';
import { test } from '@fedlab/test-kit';

/**
 * A test network for one `describe`: started in its `beforeAll` (in a fresh folder inside the test
 * file's `fileTempDir`, with the researcher "alice") and stopped in its `afterAll`. The tests of that
 * `describe` must come from the test kit (test/support/fixtures.ts), whose `test.beforeAll` this uses.
 */
export function useTestNetwork(nodes: TestNetworkOptions['nodes']): { net(): TestNetwork; alice(): FedlabClient } {
  let net: TestNetwork | undefined;
  let alice: FedlabClient | undefined;
  test.beforeAll(async ({ fileTempDir }) => {
    net = await startTestNetwork({ dir: mkdtempSync(path.join(fileTempDir, 'network-')), researchers: ['alice'], nodes });
    alice = net.client(net.researchers.alice!);
  });
  afterAll(async () => {
    await net?.stop();
  });
  return { net: () => net!, alice: () => alice! };
}
