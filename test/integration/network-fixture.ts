import { afterAll, beforeAll } from 'vitest';
import type { FedlabClient } from '@fedlab/client';
import { createTempDir, startTestNetwork, type TestNetwork, type TestNetworkOptions } from '@fedlab/testing';

/**
 * A test network for one `describe`: started in its `beforeAll` (in a fresh temporary directory, with
 * the researcher "alice") and stopped, its directory removed, in its `afterAll`.
 */
export function useTestNetwork(nodes: TestNetworkOptions['nodes']): { net(): TestNetwork; alice(): FedlabClient } {
  const tmp = createTempDir();
  let net: TestNetwork | undefined;
  let alice: FedlabClient | undefined;
  beforeAll(async () => {
    net = await startTestNetwork({ dir: tmp.path, researchers: ['alice'], nodes });
    alice = net.client(net.researchers.alice!);
  });
  afterAll(async () => {
    await net?.stop();
    tmp.cleanup();
  });
  return { net: () => net!, alice: () => alice! };
}
