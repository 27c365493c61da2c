import { SecAggClient, SecAggServer, type SecAggCrypto } from '@fedlab/secagg';
import { createSodiumCryptos } from './sodium-crypto';

/** The coordinator's roster id in harness rounds. */
export const COORDINATOR = 'coordinator';

/** Who leaves the round, and when. */
export interface Dropouts {
  /** Advertise keys, then vanish (in U1, not U2). */
  afterAdvertise?: readonly string[];
  /** Share keys, then vanish before the masked input (U2 \ U3). */
  beforeMaskedInput?: readonly string[];
  /** Send the masked input, then vanish (U3 \ U4). */
  afterMaskedInput?: readonly string[];
}

/** Parties of one round over real libsodium crypto, not yet run. */
export interface Round {
  server: SecAggServer;
  clients: Map<string, SecAggClient>;
  cryptos: Map<string, SecAggCrypto>;
  queryHash: Uint8Array;
}

/** Builds a server and one client per input, with roster identities for all of them and the coordinator. */
export async function createRound(inputs: ReadonlyMap<string, Uint32Array>, options: { threshold?: number; roundId?: string } = {}): Promise<Round> {
  const ids = [...inputs.keys()];
  const { cryptos } = await createSodiumCryptos([...ids, COORDINATOR]);
  const roundId = options.roundId ?? 'round-1';
  const queryHash = (cryptos.get(COORDINATOR) as SecAggCrypto).hash(new TextEncoder().encode(`query of ${roundId}`));
  const vectorLength = (inputs.values().next().value as Uint32Array).length;
  const common = { participants: ids, roundId, queryHash, threshold: options.threshold };
  const server = new SecAggServer({ ...common, vectorLength, crypto: cryptos.get(COORDINATOR) as SecAggCrypto });
  const clients = new Map(
    ids.map((id) => [id, new SecAggClient({ ...common, id, input: inputs.get(id) as Uint32Array, crypto: cryptos.get(id) as SecAggCrypto })] as const),
  );
  return { server, clients, cryptos, queryHash };
}

/** Runs every round honestly, with the given dropouts, and returns the server's sum. */
export async function runRound(round: Round, dropouts: Dropouts = {}): Promise<Uint32Array> {
  const { server, clients } = round;
  const alive = new Set(clients.keys());
  const leave = (ids: readonly string[] = []): void => ids.forEach((id) => alive.delete(id));
  const live = (): SecAggClient[] => [...clients.values()].filter((client) => alive.has(client.id));

  for (const client of live()) server.receiveAdvertisement(client.advertiseKeys());
  const keyList = server.broadcastKeys();
  leave(dropouts.afterAdvertise);
  for (const client of live()) server.receiveShareKeys(await client.shareKeys(keyList));
  const bundles = server.routeShares();
  leave(dropouts.beforeMaskedInput);
  for (const bundle of bundles) {
    const client = clients.get(bundle.to) as SecAggClient;
    if (alive.has(client.id)) server.receiveMaskedInput(client.maskedInput(bundle.shares));
  }
  const consistency = server.consistencyRequest();
  leave(dropouts.afterMaskedInput);
  for (const client of live()) server.receiveConsistency(client.consistencyCheck(consistency));
  const unmask = server.unmaskRequest();
  for (const client of live()) server.receiveUnmask(client.unmask(unmask));
  return server.aggregate();
}
