import type { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FedlabError, type ErrorCode } from '@fedlab/model';
import { type FedlabClient } from '@fedlab/client';
import { type ResearcherFlags } from '../researcher-context';
import { renderEvaluation } from '../output';
import { assertValidClientList, DEFAULT_EVALUATION_RULES, encodeClientList, parseClientList, renderEvaluationReport } from '@fedlab/evaluation';
import { json, researcherOptions, withClient } from '../cli-common';

/** Registers the `fedlab` commands for impact evaluations for organisations. */
export function registerEvaluateCommands(program: Command): void {
  // ── evaluate ──────────────────────────────────────────────────────────────────
  const evaluate = program.command('evaluate').description('impact evaluations for organisations: the Justice Data Lab workflow (docs/evaluation.md)');
  researcherOptions(
    evaluate
      .command('submit')
      .description("validate a client list, seal it to the node's key and submit it (only the node can read it)")
      .argument('<clients.csv>', 'surname, forename, date_of_birth, sex, intervention_start, intervention_end [, justice_id]')
      .requiredOption('--node <id>', 'the node that holds the justice data, e.g. justice')
      .option('--programme <name>', 'name of the program, shown in the report (default: the file name)')
      .option('--wait', 'wait for the result and print it'),
  ).action(async (file: string, o: ResearcherFlags & { node: string; programme?: string; wait?: boolean; json?: boolean }) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new FedlabError('INVALID_ARGUMENT', `${file}: cannot read the client list`);
    }
    const list = parseClientList(text, new Date().toISOString().slice(0, 10));
    assertValidClientList(list);
    const { minCohort } = DEFAULT_EVALUATION_RULES;
    if (list.clients.length < minCohort)
      throw new FedlabError('EVALUATION_TOO_SMALL', `${file} lists ${list.clients.length} people; an evaluation needs at least ${minCohort}`);
    const programme = o.programme ?? path.basename(file).replace(/\.[^.]*$/, '');
    await withClient(o, true, async (client) => {
      const { queryId } = await client.submitEvaluation({ node: o.node, programme, clientList: encodeClientList(list.clients) });
      if (!o.wait) {
        console.log(
          o.json
            ? json({ evaluationId: queryId })
            : `submitted evaluation ${queryId} (${list.clients.length} people, sealed to ${o.node}); read it with: fedlab evaluate result ${queryId} --out report.html`,
        );
        return;
      }
      await client.watch(queryId);
      const evaluation = await evaluationOf(client, queryId);
      console.log(o.json ? json(evaluation) : renderEvaluation(evaluation));
    });
  });
  researcherOptions(
    evaluate
      .command('result')
      .description('the released evaluation: text, --json, or a self-contained HTML report with --out')
      .argument('<id>', 'evaluation id')
      .option('--out <file>', 'write the HTML report to this file'),
  ).action((id: string, o: ResearcherFlags & { out?: string; json?: boolean }) =>
    withClient(o, true, async (client) => {
      const evaluation = await evaluationOf(client, id);
      if (o.out) {
        writeFileSync(o.out, renderEvaluationReport(evaluation));
        if (!o.json) console.log(`wrote ${o.out}`);
      }
      if (o.json) console.log(json(evaluation));
      else if (!o.out) console.log(renderEvaluation(evaluation));
    }),
  );

  /** The released evaluation of a finished evaluation query; the node's refusal as an error otherwise. */
  async function evaluationOf(client: FedlabClient, id: string) {
    const result = await client.result(id);
    const answer = result.answers[0];
    if (answer && !answer.verified)
      throw new FedlabError(
        'INVALID_ARGUMENT',
        "the roster is needed to verify the justice node's signature on the report: pass --roster FILE or set FEDLAB_ROSTER",
      );
    if (answer?.refusal) throw new FedlabError(answer.refusal.code as ErrorCode, answer.refusal.message);
    if (answer?.evaluation) return answer.evaluation;
    const node = result.status.nodes[0];
    if (node && (node.state === 'failed' || node.state === 'unreachable')) throw new FedlabError((node.code || 'INTERNAL') as ErrorCode, node.message);
    throw new FedlabError('NOT_FOUND', `evaluation ${id} has no result yet (${node?.state ?? 'pending'}); try again later`);
  }
}
