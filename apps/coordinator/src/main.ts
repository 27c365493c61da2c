/**
 * Coordinator daemon entry point: `node bin/run-ts.js apps/coordinator/src/main.ts --config coordinator.yaml`
 * (the same as `fedlab coordinator serve --config coordinator.yaml`).
 */
import pino from 'pino';
import { FedlabError } from '@fedlab/model';
import { loadCoordinatorConfig, startCoordinator } from '@fedlab/coordinator-service';
import { stopOnSignals } from '@fedlab/ops';

async function main(): Promise<void> {
  const configIndex = process.argv.indexOf('--config');
  const configFile = configIndex > 0 ? process.argv[configIndex + 1] : process.env.FEDLAB_COORDINATOR_CONFIG;
  if (!configFile) throw new FedlabError('CONFIG_INVALID', 'usage: main.ts --config coordinator.yaml (or set FEDLAB_COORDINATOR_CONFIG)');
  const config = loadCoordinatorConfig(configFile, process.env);
  const running = await startCoordinator(configFile, pino({ level: config.logLevel }, pino.destination(2)), {}, process.env, config);
  console.log(`admin at ${running.adminUrl}`);
  console.log(`coordinator listening on ${config.listen.replace(/:\d+$/, '')}:${running.port}`);
  stopOnSignals(() => running.stop());
}

main().catch((error: unknown) => {
  const fe = FedlabError.from(error);
  console.error(`error ${fe.code}: ${error instanceof FedlabError ? fe.message : String(error)}`);
  process.exit(2);
});
