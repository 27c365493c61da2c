import { FedlabError, silentLogger, type LinkageAnalysis, type Logger, type QuerySpec } from '@fedlab/model';
import { createPsiDecryptor } from '@fedlab/crypto';
import { type Roster } from '@fedlab/governance';
import * as pb from '@fedlab/proto';
import type { ValueEntry } from '@fedlab/query';
import { releaseStudy, strictestMinPersons, widenForNoise, type MeasureSums, type OutcomeNoise, type OutcomeSums, type StudyGroup } from '@fedlab/study';
import { openEnvelope } from '@fedlab/wire';
import type { CoordinatorMetrics } from '@fedlab/ops';
import type { PooledOutcome } from './pooled-runner';

/** Sends one PSI step to a node; false when the node is not connected. */
export type SendPsiStep = (nodeId: string, step: pb.PsiStep) => boolean;

/** A node that answered a linkage study with LinkageReady. */
export interface LinkageReadyNode {
  nodeId: string;
  ready: pb.LinkageReady;
}

export interface LinkageRunnerOptions {
  /** The roster in force (a published roster replaces it while the coordinator runs). */
  roster: () => Roster;
  send: SendPsiStep;
  /** How long one private intersection-sum run may take (default 10 min). */
  runTimeoutMs: number;
  logger?: Logger;
  /** Records runs and dropouts (docs/operations.md). */
  metrics?: CoordinatorMetrics;
}

/** Schema name of the released study JSON (docs/linkage.md). */
export const STUDY_SCHEMA = 'fedlab.study.v1';

interface ActiveRun {
  queryId: string;
  cohortNode: string;
  outcomeNode: string;
  resolve: (aggregate: pb.PsiAggregate) => void;
  reject: (error: FedlabError) => void;
}

const refusal = (code: string, message: string): PooledOutcome['outcome'] => ({ $case: 'refusal', value: { code, message } });

/**
 * Runs a linkage study's private intersection-sum runs (DESIGN.md §7.4) — one per outcome node,
 * between the cohort node C and that node O — and composes the released figures: it holds each run's
 * fresh ElGamal keys, relays the sealed payloads between C and O (it cannot read them), decrypts the
 * per-group sums C returns by baby-step giant-step within their bounds, and applies the study
 * disclosure rules under the strictest policy of the nodes. It learns the released sums, the group
 * sizes and the match counts, and nothing about any person.
 */
export class LinkageRunner {
  private readonly logger: Logger;
  private readonly runs = new Map<string, ActiveRun>();
  private decryptor: ReturnType<typeof createPsiDecryptor> | undefined;

  constructor(private readonly options: LinkageRunnerOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Routes a node's reply: relays payloads to the other node, settles the run on an aggregate or refusal. */
  receive(nodeId: string, reply: pb.PsiReply): void {
    const run = this.runs.get(reply.runId);
    const step = reply.step;
    if (!run || run.queryId !== reply.queryId || !step || (nodeId !== run.cohortNode && nodeId !== run.outcomeNode)) {
      this.logger.warn({ nodeId, queryId: reply.queryId }, 'psi reply for no active run ignored');
      return;
    }
    switch (step.$case) {
      case 'refused':
        run.reject(new FedlabError(isCode(step.value.code) ? step.value.code : 'INTERNAL', `${nodeId} refused the linkage run: ${step.value.message}`));
        return;
      case 'payload': {
        const peer = nodeId === run.cohortNode ? run.outcomeNode : run.cohortNode;
        if (step.value.from !== nodeId || step.value.to !== peer) {
          run.reject(new FedlabError('PAYLOAD_NOT_FOR_THIS_NODE', `${nodeId} sent a payload not addressed from it to ${peer}`));
          return;
        }
        if (!this.options.send(peer, { queryId: run.queryId, runId: reply.runId, step: { $case: 'payload', value: step.value } })) {
          run.reject(new FedlabError('NODE_DISCONNECTED', `${peer} disconnected during the linkage run`));
        }
        return;
      }
      case 'aggregate':
        try {
          if (nodeId !== run.cohortNode) throw new FedlabError('SIGNATURE_INVALID', 'psi: only the cohort node sends the encrypted sums');
          const { payload, signerId } = openEnvelope('psi-aggregate', step.value, this.options.roster(), 'node', 'NODE_NOT_ON_ROSTER');
          if (signerId !== run.cohortNode) throw new FedlabError('SIGNATURE_INVALID', 'psi: the encrypted sums are not signed by the cohort node');
          const aggregate = pb.PsiAggregate.decode(payload);
          if (aggregate.queryId !== run.queryId || aggregate.runId !== reply.runId)
            throw new FedlabError('PROTOCOL_OUT_OF_ORDER', 'psi: the encrypted sums are for another run');
          run.resolve(aggregate);
        } catch (error) {
          run.reject(FedlabError.from(error));
        }
        return;
    }
  }

  /** A node's stream closed: runs it takes part in fail. */
  nodeLost(nodeId: string): void {
    for (const run of this.runs.values()) {
      if (run.cohortNode === nodeId || run.outcomeNode === nodeId)
        run.reject(new FedlabError('NODE_DISCONNECTED', `${nodeId} disconnected during the linkage run; nothing was released`));
    }
  }

  async run(spec: QuerySpec, analysis: LinkageAnalysis, queryHash: Uint8Array, ready: LinkageReadyNode[]): Promise<PooledOutcome> {
    const nodes = [analysis.cohortNode, ...analysis.outcomes.map((o) => o.node)];
    const byNode = new Map(ready.map((r) => [r.nodeId, r.ready]));
    const missing = nodes.filter((n) => !byNode.has(n));
    if (missing.length > 0) {
      return {
        outcome: refusal('TOO_FEW_NODES', `${missing.join(', ')} did not take part in the study (see each node's status); nothing was released`),
        contributingNodes: [],
        rounds: 0,
      };
    }
    const cohort = byNode.get(analysis.cohortNode)!;
    const mismatched = analysis.outcomes.filter((o) => byNode.get(o.node)!.keyFingerprints.join('|') !== cohort.keyFingerprints.join('|'));
    if (mismatched.length > 0) {
      return {
        outcome: refusal(
          'LINKAGE_KEYS_MISMATCH',
          `${mismatched.map((o) => o.node).join(', ')} compute the key recipes ${analysis.keys.join(', ')} differently from ${analysis.cohortNode}; nothing was released`,
        ),
        contributingNodes: [],
        rounds: 0,
      };
    }
    try {
      this.decryptor ??= createPsiDecryptor();
      let groupPersons: Record<string, number> = {};
      const outcomes: OutcomeSums[] = [];
      const outcomeNoise: OutcomeNoise[] = [];
      let sizeVariance = 0;
      const matchedVariances: number[] = [];
      for (const [index, source] of analysis.outcomes.entries()) {
        const layout = JSON.parse(byNode.get(source.node)!.layout) as ValueEntry[];
        const runId = `${spec.queryId}/psi/${index}`;
        const keys = this.decryptor.generateKeys(layout.length);
        const aggregate = await this.runOne(spec.queryId, runId, analysis.cohortNode, source.node, index, keys.publicKeys);
        if (!Buffer.from(aggregate.queryHash).equals(Buffer.from(queryHash)))
          throw new FedlabError('SIGNATURE_INVALID', 'psi: the encrypted sums are bound to different query bytes');
        const noise = parseStudyNoise(aggregate.noise, layout.length);
        sizeVariance = noise.sizeVariance;
        matchedVariances.push(noise.matchedVariance);
        const sizes = aggregate.groupSizes.map(Number);
        groupPersons = Object.fromEntries(aggregate.groups.map((g, i) => [g.name, sizes[i] ?? 0]));
        const matched: Record<string, number> = {};
        const decoded: Record<string, number[]> = {};
        for (const group of aggregate.groups) {
          // Every figure is noisy (the cohort node's noise): decode within the noise's reach, remove the
          // public offsets, then keep each figure within what it can be (post-processing).
          const noisyMatched = Number(group.matched);
          const reach = noisyMatched + Math.ceil(10 * Math.sqrt(noise.matchedVariance));
          const raw = this.decryptor.decrypt(
            new Uint8Array(group.ciphertext),
            keys.secretKeys,
            layout.map((e, i) => e.max * reach + 2 * noise.offsets[i]!),
          );
          matched[group.name] = Math.min(noisyMatched, groupPersons[group.name] ?? 0);
          decoded[group.name] = raw.map((v, i) => v - noise.offsets[i]!);
        }
        const denominator = source.coverage === 'population' ? 'matched' : 'group';
        outcomes.push(outcomeSums(source.node, denominator, layout, matched, clampSums(layout, denominator === 'matched' ? matched : groupPersons, decoded)));
        outcomeNoise.push({
          denominator: denominator === 'matched' ? noise.matchedVariance : noise.sizeVariance,
          measures: Object.fromEntries(
            layout.flatMap((e, i) =>
              e.stat === 'sumSquares' ? [] : [[e.level === undefined ? e.measure : `${e.measure}: ${e.level}`, noise.valueVariances[i]!]],
            ),
          ),
        });
        this.logger.info({ queryId: spec.queryId, nodeIds: [analysis.cohortNode, source.node], run: index }, 'psi run complete');
      }
      const minPersons = strictestMinPersons(
        [...byNode.values()].map((r) => ({
          minPersons: r.sdc?.minPersons ?? 10,
          dominanceMaxShare: r.sdc?.dominanceMaxShare ?? 0.9,
          rounding: 'none' as const,
        })),
      );
      const released = releaseStudy(
        { groupPersons: { cohort: groupPersons.cohort ?? 0, ...(analysis.comparison ? { comparison: groupPersons.comparison ?? 0 } : {}) }, outcomes },
        minPersons,
      );
      widenForNoise(released, outcomeNoise);
      const sd = (variance: number) => Number(Math.sqrt(variance).toPrecision(4));
      const privacy = {
        rho: spec.rho ?? null,
        note: 'the cohort node added discrete Gaussian noise to the group sizes, matched counts and encrypted sums (docs/privacy.md "Linkage studies")',
        groupPersonsSd: sd(sizeVariance),
        outcomes: outcomes.map((o, k) => ({
          name: o.name,
          matchedSd: sd(matchedVariances[k]!),
          denominatorSd: sd(outcomeNoise[k]!.denominator),
          measureSds: Object.fromEntries(Object.entries(outcomeNoise[k]!.measures).map(([name, v]) => [name, sd(v)])),
        })),
      };
      const json = JSON.stringify({
        schema: STUDY_SCHEMA,
        cohortNode: analysis.cohortNode,
        keys: analysis.keys,
        comparison: analysis.comparison ?? null,
        privacy,
        ...released,
      });
      return { outcome: { $case: 'study', value: { schema: STUDY_SCHEMA, json } }, contributingNodes: [...nodes].sort(), rounds: analysis.outcomes.length };
    } catch (error) {
      const fe = FedlabError.from(error);
      if (fe.code === 'INTERNAL') this.logger.error({ queryId: spec.queryId, nodeIds: nodes, err: error }, 'linkage study failed');
      return { outcome: refusal(fe.code, fe.message), contributingNodes: [], rounds: 0 };
    }
  }

  private runOne(queryId: string, runId: string, cohortNode: string, outcomeNode: string, outcome: number, publicKeys: Uint8Array[]): Promise<pb.PsiAggregate> {
    return new Promise<pb.PsiAggregate>((resolve, reject) => {
      const timer = setTimeout(
        () => settle.reject(new FedlabError('DEADLINE_EXCEEDED', 'the linkage run did not finish in time; nothing was released')),
        this.options.runTimeoutMs,
      );
      timer.unref();
      const settle = {
        resolve: (aggregate: pb.PsiAggregate) => {
          clearTimeout(timer);
          if (this.runs.delete(runId)) this.options.metrics?.protocolRunEnded('psi', undefined, 0);
          resolve(aggregate);
        },
        reject: (error: FedlabError) => {
          clearTimeout(timer);
          if (!this.runs.delete(runId)) return;
          // A run loses its node only by a disconnect (see nodeLost and the begin step below).
          this.options.metrics?.protocolRunEnded('psi', error.code, error.code === 'NODE_DISCONNECTED' ? 1 : 0);
          for (const node of [cohortNode, outcomeNode])
            this.options.send(node, { queryId, runId, step: { $case: 'abort', value: { code: error.code, message: 'the run failed' } } });
          reject(error);
        },
      };
      this.runs.set(runId, { queryId, cohortNode, outcomeNode, ...settle });
      const keys = publicKeys.map((k) => Buffer.from(k));
      // O first, so it is waiting (and already blinding its own set) when C's sets arrive.
      const sent =
        this.options.send(outcomeNode, { queryId, runId, step: { $case: 'begin', value: { role: 'outcome', peer: cohortNode, outcome, publicKeys: keys } } }) &&
        this.options.send(cohortNode, { queryId, runId, step: { $case: 'begin', value: { role: 'cohort', peer: outcomeNode, outcome, publicKeys: keys } } });
      if (!sent) settle.reject(new FedlabError('NODE_DISCONNECTED', 'a node of the study is not connected; nothing was released'));
    });
  }
}

const isCode = (code: string): code is FedlabError['code'] => /^[A-Z_]+$/.test(code);

/** Turns decoded per-group vectors into the study sums of one outcome, measure by measure. */
function outcomeSums(
  name: string,
  denominator: 'matched' | 'group',
  layout: ValueEntry[],
  matched: Record<string, number>,
  decoded: Record<string, number[]>,
): OutcomeSums {
  const groups = Object.keys(decoded) as StudyGroup[];
  const byGroup = <T>(pick: (group: StudyGroup) => T) => ({
    cohort: pick('cohort'),
    ...(groups.includes('comparison') ? { comparison: pick('comparison') } : {}),
  });
  const measures: MeasureSums[] = [];
  layout.forEach((entry, e) => {
    if (entry.stat === 'events') {
      measures.push({
        name: entry.level === undefined ? entry.measure : `${entry.measure}: ${entry.level}`,
        kind: 'binary',
        events: byGroup((g) => decoded[g]![e]!),
        ...(entry.level === undefined ? {} : { categoryOf: entry.measure }),
      });
    } else if (entry.stat === 'sum') {
      measures.push({ name: entry.measure, kind: 'mean', sums: byGroup((g) => ({ sum: decoded[g]![e]!, sumSquares: decoded[g]![e + 1]! })) });
    }
  });
  return { name, denominator, matchedPersons: byGroup((g) => matched[g] ?? 0), measures };
}

/** The noise the cohort node says it added (PsiAggregate.noise). */
interface StudyNoise {
  matchedVariance: number;
  sizeVariance: number;
  valueVariances: number[];
  offsets: number[];
}

function parseStudyNoise(json: string, entries: number): StudyNoise {
  const noise = (json ? JSON.parse(json) : null) as Partial<StudyNoise> | null;
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  const valid =
    noise !== null &&
    finite(noise.matchedVariance) &&
    finite(noise.sizeVariance) &&
    Array.isArray(noise.valueVariances) &&
    noise.valueVariances.length === entries &&
    noise.valueVariances.every(finite) &&
    Array.isArray(noise.offsets) &&
    noise.offsets.length === entries &&
    noise.offsets.every((v) => finite(v) && Number.isInteger(v));
  if (!valid) throw new FedlabError('TUPLE_WIDTH_MISMATCH', 'psi: the cohort node did not describe the noise in its encrypted sums; nothing was released');
  return noise as StudyNoise;
}

/**
 * Keeps each noisy figure within what it can be, as integers: events in [0, persons], a sum in
 * [0, max·persons] and its sum of squares at least sum²/persons (a variance ≥ 0) and at most
 * max²·persons. Post-processing: it costs no privacy.
 */
function clampSums(layout: ValueEntry[], persons: Record<string, number>, decoded: Record<string, number[]>): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(decoded).map(([group, values]) => {
      const n = Math.max(0, persons[group] ?? 0);
      const out = values.map((v, i) => Math.min(layout[i]!.max * n, Math.max(0, Math.round(v))));
      layout.forEach((e, i) => {
        if (e.stat === 'sumSquares' && n > 0) out[i] = Math.max(Math.ceil((out[i - 1]! * out[i - 1]!) / n), out[i]!);
      });
      return [group, out];
    }),
  );
}
