/**
 * The coordinator daemon: `fedlab coordinator serve --config coordinator.yaml` (bin/fedlab.js hands that
 * command to this app), or `node bin/run-ts.js apps/coordinator/src/main.ts --config coordinator.yaml`. It
 * alone reads the environment (FEDLAB_COORDINATOR_CONFIG, FEDLAB_KEY_PASSPHRASE[_FILE],
 * FEDLAB_DASHBOARD_TOKEN, FEDLAB_FAILPOINT), parses coordinator.yaml once, and starts the coordinator.
 */
import { Command } from 'commander';
import pino from 'pino';
import { FedlabError } from '@fedlab/model';
import { passphraseSources } from '@fedlab/crypto';
import { loadCoordinatorConfig } from '@fedlab/coordinator-service';
import { failpointFrom, hiddenPrompt, stopOnSignals } from '@fedlab/ops';
import { startCoordinator } from './start-coordinator';

const program = new Command('fedlab coordinator serve')
  .description('run the coordinator daemon')
  .option('--config <file>', 'coordinator.yaml (default: $FEDLAB_COORDINATOR_CONFIG)')
  .option(
    '--passphrase-file <file>',
    "file holding coordinator.key's passphrase (default: $FEDLAB_KEY_PASSPHRASE_FILE, else $FEDLAB_KEY_PASSPHRASE, else asked)",
  )
  .action(async (o: { config?: string; passphraseFile?: string }) => {
    const configFile = o.config ?? process.env.FEDLAB_COORDINATOR_CONFIG;
    if (!configFile) throw new FedlabError('CONFIG_INVALID', 'pass --config coordinator.yaml (or set FEDLAB_COORDINATOR_CONFIG)');
    const config = loadCoordinatorConfig(configFile, process.env);
    const logger = pino({ level: config.logLevel, base: { pid: process.pid } }, pino.destination(2));
    let stopRunning: (() => Promise<void>) | undefined = undefined;
    const running = await startCoordinator({
      configFile,
      config,
      logger,
      passphrase: passphraseSources(process.env, { file: o.passphraseFile, prompt: hiddenPrompt() }),
      faults: failpointFrom(process.env.FEDLAB_FAILPOINT, logger),
      onFatal: (error) => {
        console.error(`error ${error.code}: ${error.message}`);
        // Before the start resolved there is nothing to stop cleanly yet.
        void (stopRunning?.() ?? Promise.resolve()).finally(() => process.exit(1));
      },
    });
    const host = (listen: string) => listen.replace(/:\d+$/, '');
    if (running.registerPort) console.log(`public register at http://${host(config.registerListen!)}:${running.registerPort}/register`);
    if (running.dashboardPort) console.log(`dashboard at http://${host(config.dashboardListen!)}:${running.dashboardPort}/dashboard`);
    console.log(`admin at ${running.adminUrl}`);
    console.log(`coordinator listening on ${host(config.listen)}:${running.port}`);
    stopRunning = () => running.stop();
    stopOnSignals(() => running.stop());
  });

// Through bin/fedlab.js the arguments are `coordinator serve …`; run directly, they are the options alone.
const args = process.argv.slice(2);
program.parseAsync(args[0] === 'coordinator' && args[1] === 'serve' ? args.slice(2) : args, { from: 'user' }).catch((error: unknown) => {
  const fe = FedlabError.from(error);
  console.error(`error ${fe.code}: ${error instanceof FedlabError ? fe.message : String(error)}`);
  process.exit(error instanceof FedlabError ? 2 : 1);
});
