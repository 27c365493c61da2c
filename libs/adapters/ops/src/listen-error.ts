import { FedlabError } from '@fedlab/model';

/**
 * Turns a failure to listen on `listen` into the operator's error: the setting to change and why,
 * instead of `INTERNAL: EADDRINUSE`. Anything else is returned as it came.
 */
export function listenError(error: unknown, setting: string, listen: string): unknown {
  const text = `${(error as { code?: string })?.code ?? ''} ${(error as Error)?.message ?? ''}`;
  if (text.includes('EADDRINUSE'))
    return new FedlabError('CONFIG_INVALID', `${setting}: ${listen} is already in use by another process (EADDRINUSE); stop that process or set another port`);
  if (text.includes('EACCES'))
    return new FedlabError('CONFIG_INVALID', `${setting}: ${listen}: permission denied (EACCES); ports below 1024 need privileges: set a port above 1023`);
  if (text.includes('EADDRNOTAVAIL')) return new FedlabError('CONFIG_INVALID', `${setting}: ${listen} is not an address of this machine (EADDRNOTAVAIL)`);
  return error;
}
