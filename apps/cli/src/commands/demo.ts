import path from 'node:path';
import { Option, type Command } from 'commander';
import { runDemo } from '../demo/run-demo';

/** Registers the `fedlab` commands for the demo. */
export function registerDemoCommands(program: Command): void {
  // ── demo ──────────────────────────────────────────────────────────────────────
  program
    .command('demo')
    .description('synthesize data, start four ministry nodes and a coordinator on loopback, run example queries')
    .option('--dir <dir>', 'working folder (recreated)', '.fedlab/demo')
    .option('--persons <n>', 'synthetic population size', (v) => Number.parseInt(v, 10), 100_000)
    .option('--seed <n>', 'random seed', (v) => Number.parseInt(v, 10), 1)
    .option('--keep', 'leave the network running and print how to query it by hand')
    .addOption(
      new Option('--log-level <level>', "the daemons' log level (their logs are in the demo folder's logs/)")
        .choices(['debug', 'info', 'warn', 'error'])
        .default('warn'),
    )
    .action(async (o: { dir: string; persons: number; seed: number; keep?: boolean; logLevel: 'debug' | 'info' | 'warn' | 'error' }) => {
      await runDemo({
        dir: path.resolve(o.dir),
        persons: o.persons,
        seed: o.seed,
        keep: o.keep ?? false,
        logLevel: o.logLevel,
        print: (line) => console.log(line),
      });
    });
}
