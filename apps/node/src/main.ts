/**
 * Node daemon entry point: `node bin/run-ts.js apps/node/src/main.ts --config node.yaml`
 * (the same as `fedlab node serve --config node.yaml`).
 */
import pino from 'pino';
import { FedlabError } from '@fedlab/model';
import { loadNodeConfig, startNode } from '@fedlab/node-service';
import { stopOnSignals } from '@fedlab/ops';

async function main(): Promise<void> {
  const configIndex = process.argv.indexOf('--config');
  const configFile = configIndex > 0 ? process.argv[configIndex + 1] : process.env.FEDLAB_NODE_CONFIG;
  if (!configFile) throw new FedlabError('CONFIG_INVALID', 'usage: main.ts --config node.yaml (or set FEDLAB_NODE_CONFIG)');
  const config = loadNodeConfig(configFile);
  const running = await startNode(configFile, pino({ level: config.logLevel }, pino.destination(2)), {}, process.env, config);
  console.log(`admin at ${running.adminUrl}`);
  stopOnSignals(() => running.stop());
}

main().catch((error: unknown) => {
  const fe = FedlabError.from(error);
  console.error(`error ${fe.code}: ${error instanceof FedlabError ? fe.message : String(error)}`);
  process.exit(2);
});
