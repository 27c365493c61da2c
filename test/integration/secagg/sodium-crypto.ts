import { createSecAggCrypto, generateIdentity, initCrypto } from '@fedlab/crypto';
import { type Identity } from '@fedlab/governance';
import type { SecAggCrypto } from '@fedlab/secagg';

/** Identities for `ids` and one production SecAggCrypto (libs/adapters/crypto) per id, all verifying against the same roster keys. */
export async function createSodiumCryptos(ids: readonly string[]): Promise<{ cryptos: Map<string, SecAggCrypto>; identities: Map<string, Identity> }> {
  await initCrypto();
  const identities = new Map(ids.map((id) => [id, generateIdentity(id, 'node')] as const));
  const keyOf = (id: string) => identities.get(id)?.signPublicKey;
  const cryptos = new Map([...identities].map(([id, identity]) => [id, createSecAggCrypto(identity.signSecretKey, keyOf)] as const));
  return { cryptos, identities };
}

/** A party whose keys are on no roster (for forged-signature tests). */
export function createOutsider(id: string): SecAggCrypto {
  return createSecAggCrypto(generateIdentity(id, 'node').signSecretKey, () => undefined);
}
