import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { FedlabError } from '@fedlab/model';
import { parseQueryDocument } from '@fedlab/query';
import { type ResearcherFlags } from '../researcher-context';
import { renderStatus } from '../output';
import { json, researcherOptions, withClient, renderResult } from '../cli-common';
import { EXIT, fullyAnswered } from '../exit-codes';

/** Registers the `fedlab` commands for signed queries and their results. */
export function registerQueryCommands(program: Command): void {
  // ── query ─────────────────────────────────────────────────────────────────────
  const query = program.command('query').description('submit signed queries and read their results');
  researcherOptions(
    query
      .command('submit')
      .description('sign and submit a query file (YAML or JSON)')
      .argument('<file>', 'query file')
      .option('--wait', 'show progress per node, then the result; exits 4 unless every node answered (docs/operations.md)'),
  ).action(async (file: string, o: ResearcherFlags & { wait?: boolean; json?: boolean }) => {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch {
      throw new FedlabError('INVALID_ARGUMENT', `${file}: cannot read the query file`);
    }
    const parsed = parseQueryDocument(doc);
    await withClient(o, true, async (client) => {
      const { queryId } = await client.submit(parsed);
      if (!o.wait) {
        console.log(o.json ? json({ queryId }) : `submitted ${queryId}`);
        return;
      }
      if (!o.json) console.error(`submitted ${queryId}`);
      let last = '';
      await client.watch(queryId, (s) => {
        const line = s.nodes.map((n) => `${n.nodeId}:${n.state}`).join('  ');
        if (!o.json && line !== last) console.error(`  ${line}`);
        last = line;
      });
      const result = await client.result(queryId);
      console.log(o.json ? json(result) : renderResult(result));
      if (!fullyAnswered(result)) process.exitCode = EXIT.notFullyAnswered;
    });
  });
  researcherOptions(query.command('status').description("a query's progress per node (only its researcher may read it)").argument('<id>', 'query id')).action(
    (id: string, o: ResearcherFlags & { json?: boolean }) =>
      withClient(o, true, async (client) => {
        const s = await client.status(id);
        console.log(o.json ? json(s) : renderStatus(s));
      }),
  );
  researcherOptions(
    query.command('result').description("a query's signed, disclosure-controlled answers (only its researcher may read them)").argument('<id>', 'query id'),
  ).action((id: string, o: ResearcherFlags & { json?: boolean }) =>
    withClient(o, true, async (client) => {
      const r = await client.result(id);
      console.log(o.json ? json(r) : renderResult(r));
    }),
  );
}
