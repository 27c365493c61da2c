import type { Command } from 'commander';
import { FedlabError } from '@fedlab/model';
import { type FedlabClient } from '@fedlab/client';
import { type ResearcherFlags } from '../researcher-context';
import { renderError, renderNetworkStatus } from '../output';
import { json, tlsOptions, withClient } from '../cli-common';

/** Registers the `fedlab` commands for the network status. */
export function registerStatusCommands(program: Command): void {
  // ── status ────────────────────────────────────────────────────────────────────
  tlsOptions(
    program
      .command('status')
      .description(
        'every node as the coordinator sees it: connected, version, uptime, last heartbeat, queries answered and refused in the last hour, audit head, datasets',
      )
      .option('--coordinator <host:port>', 'coordinator address (default: $FEDLAB_COORDINATOR)')
      .option('--json', 'machine-readable output (with --watch: one JSON document per line)')
      .option('--watch [seconds]', 'redraw every N seconds (default 2) until Ctrl-C'),
  ).action((o: ResearcherFlags & { json?: boolean; watch?: true | string }) =>
    withClient(o, false, async (client) => {
      if (o.watch === undefined) {
        const status = await client.networkStatus();
        return console.log(o.json ? json(status) : renderNetworkStatus(status));
      }
      const seconds = o.watch === true ? 2 : Number(o.watch);
      if (!(seconds >= 0.5 && seconds <= 3600)) throw new FedlabError('INVALID_ARGUMENT', `--watch: "${o.watch}" is not a number of seconds from 0.5 to 3600`);
      await watchNetworkStatus(client, seconds, o.json ?? false);
    }),
  );

  /** Redraws `fedlab status` every `seconds` until Ctrl-C; a failed poll is shown and retried, not fatal. */
  async function watchNetworkStatus(client: FedlabClient, seconds: number, asJson: boolean): Promise<void> {
    let stopped = false;
    let wake = () => {};
    process.once('SIGINT', () => {
      stopped = true;
      wake();
    });
    while (!stopped) {
      try {
        const status = await client.networkStatus();
        if (asJson) console.log(JSON.stringify(status));
        else process.stdout.write(`${process.stdout.isTTY ? '\x1b[H\x1b[2J' : ''}${renderNetworkStatus(status)}\nevery ${seconds} s · Ctrl-C to stop\n`);
      } catch (error) {
        if (asJson) console.error(renderError(error));
        else process.stdout.write(`${process.stdout.isTTY ? '\x1b[H\x1b[2J' : ''}${renderError(error)}\nretrying every ${seconds} s · Ctrl-C to stop\n`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, seconds * 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
