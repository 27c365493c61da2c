import type { QuerySpec } from '@fedlab/model';
import type { FedlabClient, QueryResultView } from '@fedlab/client';

/** Signs, submits and watches a query to its end, and returns its verified result. */
export async function runQuery(client: FedlabClient, spec: QuerySpec): Promise<QueryResultView> {
  const { queryId } = await client.submitEnvelope(await client.sign(spec));
  await client.watch(queryId);
  return client.result(queryId);
}
