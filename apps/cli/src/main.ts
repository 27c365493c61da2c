import { Command } from 'commander';
import { FedlabError, SOFTWARE_VERSION } from '@fedlab/model';
import { renderError } from './output';
import { EXIT } from './exit-codes';
import { registerKeysCommands } from './commands/keys';
import { registerGovernanceCommands } from './commands/governance';
import { registerSynthCommands } from './commands/synth';
import { registerNodeCommands } from './commands/node';
import { registerCoordinatorCommands } from './commands/coordinator';
import { registerQueryCommands } from './commands/query';
import { registerEvaluateCommands } from './commands/evaluate';
import { registerCatalogCommands } from './commands/catalog';
import { registerStatusCommands } from './commands/status';
import { registerProjectCommands } from './commands/project';
import { registerLogCommands } from './commands/log';
import { registerDemoCommands } from './commands/demo';

const program = new Command('fedlab')
  .description('fedlab: federated, disclosure-controlled queries across ministries without a central linked database')
  .version(SOFTWARE_VERSION)
  .showHelpAfterError();

registerKeysCommands(program);
registerGovernanceCommands(program);
registerSynthCommands(program);
registerNodeCommands(program);
registerCoordinatorCommands(program);
registerQueryCommands(program);
registerEvaluateCommands(program);
registerCatalogCommands(program);
registerStatusCommands(program);
registerProjectCommands(program);
registerLogCommands(program);
registerDemoCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(renderError(error));
  process.exit(error instanceof FedlabError ? EXIT.fedlabError : EXIT.unexpected);
});
