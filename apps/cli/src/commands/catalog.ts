import type { Command } from 'commander';
import { type ResearcherFlags } from '../researcher-context';
import { json, researcherOptions, withClient } from '../cli-common';

/** Registers the `fedlab` commands for the metadata catalog. */
export function registerCatalogCommands(program: Command): void {
  researcherOptions(program.command('catalog').description('datasets, columns, types and roles at every node (metadata only)')).action(
    (o: ResearcherFlags & { json?: boolean }) =>
      withClient(o, false, async (client) => {
        const nodes = await client.catalog();
        if (o.json) return console.log(json(nodes));
        for (const n of nodes) {
          for (const d of n.datasets) {
            console.log(`${n.nodeId} / ${d.dataset} (~${Number(d.approxRows).toLocaleString('en-CA')} rows) ${d.description}`);
            for (const c of d.columns)
              console.log(`  ${c.name.padEnd(24)} ${c.type.padEnd(8)} ${c.role.padEnd(17)} ${c.values.length ? c.values.join('|') : ''}`);
          }
        }
      }),
  );
}
