import { FedlabError } from '@fedlab/model';
import { initCrypto, loadGovernanceFile, loadRosterFile, readKeyFile, type Roster } from '@fedlab/crypto';
import { FedlabClient } from '@fedlab/client';

export interface ResearcherFlags {
  coordinator?: string;
  key?: string;
  roster?: string;
  governance?: string;
}

/** Loads the roster named by flags or FEDLAB_ROSTER, verified with the governance of --governance or FEDLAB_GOVERNANCE. */
export function rosterFromFlags(flags: ResearcherFlags): Roster | undefined {
  const rosterFile = flags.roster ?? process.env.FEDLAB_ROSTER;
  if (!rosterFile) return undefined;
  const governanceFile = flags.governance ?? process.env.FEDLAB_GOVERNANCE;
  return loadRosterFile(rosterFile, governanceFile ? { governance: loadGovernanceFile(governanceFile) } : {});
}

/** Builds a client from flags, falling back to FEDLAB_COORDINATOR, FEDLAB_KEY and FEDLAB_ROSTER. */
export async function clientFromFlags(flags: ResearcherFlags, needKey: boolean): Promise<FedlabClient> {
  await initCrypto();
  const address = flags.coordinator ?? process.env.FEDLAB_COORDINATOR;
  if (!address) throw new FedlabError('INVALID_ARGUMENT', 'no coordinator address: pass --coordinator HOST:PORT or set FEDLAB_COORDINATOR');
  const keyFile = flags.key ?? process.env.FEDLAB_KEY;
  if (needKey && !keyFile) throw new FedlabError('INVALID_ARGUMENT', 'no researcher key: pass --key FILE or set FEDLAB_KEY');
  return new FedlabClient({
    address,
    identity: keyFile ? readKeyFile(keyFile, process.env.FEDLAB_KEY_PASSPHRASE) : undefined,
    roster: rosterFromFlags(flags),
  });
}
