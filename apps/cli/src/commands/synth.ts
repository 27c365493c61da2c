import type { Command } from 'commander';
import { writeSyntheticData } from '@fedlab/devnet';
import { json } from '../cli-common';

/** Registers the `fedlab` commands for synthetic data. */
export function registerSynthCommands(program: Command): void {
  // ── synth ─────────────────────────────────────────────────────────────────────
  program
    .command('synth')
    .description('write the synthetic population: one CSV + schema per ministry dataset, and the ground truth (tests only)')
    .option('--out <dir>', 'output folder', 'synth')
    .option('--persons <n>', 'number of persons', (v) => Number.parseInt(v, 10), 100_000)
    .option('--seed <n>', 'random seed', (v) => Number.parseInt(v, 10), 1)
    .option('--json', 'machine-readable output')
    .action((o: { out: string; persons: number; seed: number; json?: boolean }) => {
      const files = writeSyntheticData(o.out, { persons: o.persons, seed: o.seed });
      console.log(o.json ? json({ files }) : `wrote ${files.length} files to ${o.out}:\n${files.map((f) => `  ${f}`).join('\n')}`);
    });
}
