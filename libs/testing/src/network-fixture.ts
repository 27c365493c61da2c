import { afterAll, beforeAll } from 'vitest';
import type { QuerySpec } from '@fedlab/model';
import type { FedlabClient, QueryResultView } from '@fedlab/client';
import { createTempDir } from './temp-dir';
import { startTestNetwork, type TestNetwork, type TestNetworkOptions } from './test-network';

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

/** Signs, submits and watches a query to its end, and returns its verified result. */
export async function runQuery(client: FedlabClient, spec: QuerySpec): Promise<QueryResultView> {
  const { queryId } = await client.submitEnvelope(await client.sign(spec));
  await client.watch(queryId);
  return client.result(queryId);
}
