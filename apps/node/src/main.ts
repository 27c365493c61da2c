/**
 * The node daemon: `fedlab node serve --config node.yaml` (bin/fedlab.js hands that command to this app),
 * or `node bin/run-ts.js apps/node/src/main.ts --config node.yaml`. It alone reads the environment
 * (FEDLAB_NODE_CONFIG, FEDLAB_KEY_PASSPHRASE[_FILE], FEDLAB_PSI_BACKEND, FEDLAB_FAILPOINT), parses
 * node.yaml once, and starts the node (start-node.ts).
 */
import { Command } from 'commander';
import pino from 'pino';
import { FedlabError } from '@fedlab/model';
import { passphraseSources } from '@fedlab/crypto';
import { loadNodeConfig } from '@fedlab/node-service';
import { failpointFrom, hiddenPrompt, stopOnSignals } from '@fedlab/ops';
import { startNode } from './start-node';

const program = new Command('fedlab node serve')
  .description('run the node daemon: dial out to the coordinator and answer signed queries')
  .option('--config <file>', 'node.yaml (default: $FEDLAB_NODE_CONFIG)')
  .option('--passphrase-file <file>', "file holding node.key's passphrase (default: $FEDLAB_KEY_PASSPHRASE_FILE, else $FEDLAB_KEY_PASSPHRASE, else asked)")
  .action(async (o: { config?: string; passphraseFile?: string }) => {
    const configFile = o.config ?? process.env.FEDLAB_NODE_CONFIG;
    if (!configFile) throw new FedlabError('CONFIG_INVALID', 'pass --config node.yaml (or set FEDLAB_NODE_CONFIG)');
    const config = loadNodeConfig(configFile);
    const logger = pino({ level: config.logLevel, base: { pid: process.pid } }, pino.destination(2));
    let stopRunning: (() => Promise<void>) | undefined = undefined;
    const running = await startNode({
      configFile,
      config,
      logger,
      passphrase: passphraseSources(process.env, { file: o.passphraseFile, prompt: hiddenPrompt() }),
      psiBackend: process.env.FEDLAB_PSI_BACKEND,
      env: process.env,
      faults: failpointFrom(process.env.FEDLAB_FAILPOINT, logger),
      onFatal: (error) => {
        console.error(`error ${error.code}: ${error.message}`);
        // Before the start resolved there is nothing to stop cleanly yet.
        void (stopRunning?.() ?? Promise.resolve()).finally(() => process.exit(1));
      },
    });
    console.log(`admin at ${running.adminUrl}`);
    stopRunning = () => running.stop();
    stopOnSignals(() => running.stop());
    // Another process attached with this node's key: exit with the reason rather than stay up detached.
    running.connection.once('replaced', (message: string) => {
      console.error(`error NODE_REPLACED: ${message}`);
      void running.stop().finally(() => process.exit(2));
    });
  });

// Through bin/fedlab.js the arguments are `node serve …`; run directly, they are the options alone.
const args = process.argv.slice(2);
program.parseAsync(args[0] === 'node' && args[1] === 'serve' ? args.slice(2) : args, { from: 'user' }).catch((error: unknown) => {
  const fe = FedlabError.from(error);
  console.error(`error ${fe.code}: ${error instanceof FedlabError ? fe.message : String(error)}`);
  process.exit(error instanceof FedlabError ? 2 : 1);
});
