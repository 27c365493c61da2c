import { FedlabError } from '@fedlab/model';
import { initCrypto, loadRosterFile, readKeyFile } from '@fedlab/crypto';
import { FedlabClient } from '@fedlab/client';

export interface ResearcherFlags {
  coordinator?: string;
  key?: string;
  roster?: string;
}

/** Builds a client from flags, falling back to FEDLAB_COORDINATOR, FEDLAB_KEY and FEDLAB_ROSTER. */
export async function clientFromFlags(flags: ResearcherFlags, needKey: boolean): Promise<FedlabClient> {
  await initCrypto();
  const address = flags.coordinator ?? process.env.FEDLAB_COORDINATOR;
  if (!address) throw new FedlabError('INVALID_ARGUMENT', 'no coordinator address: pass --coordinator HOST:PORT or set FEDLAB_COORDINATOR');
  const keyFile = flags.key ?? process.env.FEDLAB_KEY;
  if (needKey && !keyFile) throw new FedlabError('INVALID_ARGUMENT', 'no researcher key: pass --key FILE or set FEDLAB_KEY');
  const rosterFile = flags.roster ?? process.env.FEDLAB_ROSTER;
  return new FedlabClient({
    address,
    identity: keyFile ? readKeyFile(keyFile, process.env.FEDLAB_KEY_PASSPHRASE) : undefined,
    roster: rosterFile ? loadRosterFile(rosterFile) : undefined,
  });
}
