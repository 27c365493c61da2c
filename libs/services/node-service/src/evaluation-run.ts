import {
  FedlabError,
  IDENTIFIER_NAME,
  MAX_EVALUATION_ATTACHMENT_BYTES,
  type EvaluationAnalysis,
  type EvaluationPolicy,
  type NodePolicy,
  type QuerySpec,
} from '@fedlab/model';
import { blake2b, openFromPeer } from '@fedlab/crypto';
import { type Identity, type Roster } from '@fedlab/governance';
import {
  buildEvaluation,
  DEFAULT_EVALUATION_RULES,
  dateOfDay,
  dayNumber,
  decodeClientList,
  matchClients,
  parseSex,
  type ClientRecord,
  type EvaluationResult,
  type JusticePerson,
  type OffenderHistory,
  type EvaluationNoise,
} from '@fedlab/evaluation';
import { canonicalGivenName, normaliseAscii } from '@fedlab/linkage';
import { compileColumnRows } from '@fedlab/query';
import { compileOptions } from './compile-options';
import type { NodeStore } from '@fedlab/store';
import { evaluationAttachmentHeader } from '@fedlab/wire';
import { checkAndRecordGroup } from './cohort-differencing';

const DAY_MS = 86_400_000;
/** The `fedlab_cohorts` scope of evaluations: one for the whole node, so organisations cannot combine lists either. */
export const EVALUATION_DIFFERENCING_SCOPE = 'evaluations';

/** What the node needs to open an evaluation's client list ({@link openEvaluationList}). */
export interface EvaluationListContext {
  store: NodeStore;
  identity: Identity;
  roster: Roster;
  policy: NodePolicy;
  /** The steward's evaluation policy, as {@link authoriseEvaluation} returned it for this query. */
  evaluation: EvaluationPolicy;
  spec: QuerySpec & { analysis: EvaluationAnalysis };
  /** The organisation's sealed client list, as relayed by the coordinator. */
  attachment: Uint8Array;
  /** Secret of the keyed hashes kept for the differencing check. */
  cohortKey: Uint8Array;
  nowMs: number;
}

/** What the node needs to run one evaluation on a list {@link openEvaluationList} opened. */
export interface EvaluationContext extends EvaluationListContext {
  clients: ClientRecord[];
  /** Differential-privacy noise for the released figures (absent: exact, for tests of the exact pipeline). */
  noise?: EvaluationNoise;
}

/**
 * Checks that this node offers evaluations to the submitting organisation (the steward's `evaluation:`
 * policy is the standing approval of the service) and returns that policy and the dataset.
 *
 * @throws NO_POLICY; EVALUATION_NOT_OFFERED when evaluations are off, not for this organisation or not
 *   on the named dataset; PURPOSE_NOT_PERMITTED for a purpose other than program_evaluation.
 */
export function authoriseEvaluation(spec: QuerySpec & { analysis: EvaluationAnalysis }, policy: NodePolicy | null): EvaluationPolicy {
  if (!policy) throw new FedlabError('NO_POLICY', 'this node has no policy and answers nothing');
  const evaluation = policy.evaluation;
  if (!evaluation || !policy.analyses.includes('evaluation')) throw new FedlabError('EVALUATION_NOT_OFFERED', 'this node does not run impact evaluations');
  if (evaluation.organisations !== null && !evaluation.organisations.includes(spec.researcherId)) {
    throw new FedlabError('EVALUATION_NOT_OFFERED', `organisation "${spec.researcherId}" is not registered for evaluations at this node`);
  }
  if (spec.analysis.dataset !== '' && spec.analysis.dataset !== evaluation.dataset) {
    throw new FedlabError('EVALUATION_NOT_OFFERED', `this node runs evaluations on dataset "${evaluation.dataset}" only`);
  }
  if (spec.purpose !== 'program_evaluation')
    throw new FedlabError('PURPOSE_NOT_PERMITTED', `purpose "${spec.purpose}" is not permitted for an evaluation (use program_evaluation)`);
  if (!(policy.datasets[evaluation.dataset]?.purposes ?? []).includes('program_evaluation')) {
    throw new FedlabError('PURPOSE_NOT_PERMITTED', `purpose "program_evaluation" is not permitted for dataset "${evaluation.dataset}"`);
  }
  return evaluation;
}

/**
 * Opens an authorised evaluation's client list (signed by the organisation, sealed to this node),
 * re-validates it and applies every rule that needs only the organisation's own list — so a refusal here
 * says nothing about the justice data and spends no budget:
 * - a sealed list larger than an evaluation may carry: MESSAGE_TOO_LARGE;
 * - fewer people than the steward's `min_cohort`: EVALUATION_TOO_SMALL (the list's own size is named);
 * - a list that differs from the list of any earlier evaluation at this node, whoever submitted it, by
 *   fewer than `min_difference` rows (a row is the whole client line: name, birth date, sex, intervention
 *   dates, justice id), but is not the same list: EVALUATION_DIFFERENCING. The rule compares the submitted
 *   lists, never who matched, so whether a refusal happens depends on nobody's record. Otherwise the list
 *   is recorded (as keyed hashes) for later checks.
 */
export function openEvaluationList(ctx: EvaluationListContext): ClientRecord[] {
  const { store, spec, nowMs, evaluation: policy } = ctx;
  if (ctx.attachment.length > MAX_EVALUATION_ATTACHMENT_BYTES) {
    throw new FedlabError('MESSAGE_TOO_LARGE', `attachment: the sealed client list is larger than ${MAX_EVALUATION_ATTACHMENT_BYTES / 1_048_576} MiB`);
  }
  const clients = openClientList(ctx);
  if (clients.length < policy.minCohort) {
    throw new FedlabError(
      'EVALUATION_TOO_SMALL',
      `the client list has ${clients.length} people; an evaluation at this node needs at least ${policy.minCohort}`,
    );
  }
  checkAndRecordGroup(
    { cohorts: store.cohorts, scope: EVALUATION_DIFFERENCING_SCOPE, queryId: spec.queryId, cohortKey: ctx.cohortKey, nowMs },
    clients.map(clientRowKey),
    policy.minDifference,
    () =>
      new FedlabError(
        'EVALUATION_DIFFERENCING',
        `the client list differs from the list of an earlier evaluation at this node by fewer than ${policy.minDifference} people; results of the two could be subtracted`,
      ),
  );
  return clients;
}

/**
 * A client line as the differencing rule compares it: the person as the matcher sees them (surname and
 * forename normalised as it normalises them — case, accents, punctuation and spacing ignored, nicknames
 * mapped to their canonical given name — birth date and sex) with the intervention dates and justice id, so
 * cosmetic edits that would match the same person do not make a line "different".
 */
function clientRowKey(c: ClientRecord): string {
  const forename = canonicalGivenName(normaliseAscii(c.forename));
  return ['c', normaliseAscii(c.surname), forename, c.dateOfBirth, c.sex, c.interventionStart, c.interventionEnd, c.justiceId ?? ''].join('|');
}

/**
 * Runs an authorised evaluation (DESIGN.md §7.5) on a list {@link openEvaluationList} opened: keeps it
 * in `fedlab_evaluation_clients` while it works, matches the clients to the dataset, builds the
 * comparison group, applies the JDL rules and disclosure control, and records the matched cohort. The uploaded list and the cohort are then
 * deleted at once (retention 0, or whenever the evaluation is refused) or after `retention_days`
 * (see {@link purgeEvaluations}); each deletion is written to the audit chain.
 */
export async function runEvaluation(ctx: EvaluationContext): Promise<EvaluationResult> {
  const { store, spec, nowMs, evaluation: policy, clients } = ctx;
  const queryId = spec.queryId;
  // A run cut short by a crash left its rows behind (and no answer, so the query came back): clear them.
  if (store.evaluations.exists(queryId)) {
    deleteEvaluationData(store, queryId, nowMs, 'evaluation restarted');
    store.evaluations.forget(queryId);
  }
  // Due for deletion from the start: if the node stops before the report, the next purge removes it.
  store.evaluations.start({ queryId, organisationId: spec.researcherId, receivedAtMs: nowMs, deleteAfterMs: nowMs, clients });
  try {
    const data = await readOffenderData(store, policy, nowMs);
    const matches = matchClients(clients, data.persons);
    const retention =
      policy.retentionDays === 0
        ? 'The uploaded list and the matched cohort were deleted at the justice node when this report was produced.'
        : `The uploaded list and the matched cohort are kept at the justice node for ${policy.retentionDays} days after this report, then deleted.`;
    const outcome = buildEvaluation({
      evaluationId: queryId,
      organisationId: spec.researcherId,
      programme: spec.analysis.programme,
      nodeId: ctx.identity.id,
      dataset: policy.dataset,
      producedOn: dateOfDay(Math.floor(nowMs / DAY_MS)),
      clients,
      submittedRows: clients.length,
      matches,
      histories: data.histories,
      dataAsOf: data.dataAsOf,
      followUpDays: policy.followUpDays,
      indexWindowDays: policy.indexWindowDays,
      rules: {
        minCohort: policy.minCohort,
        significanceLevel: DEFAULT_EVALUATION_RULES.significanceLevel,
        minTreatedReoffenders: DEFAULT_EVALUATION_RULES.minTreatedReoffenders,
        minPersons: ctx.policy.sdc.minPersons,
      },
      retention,
      ...(ctx.noise ? { noise: ctx.noise } : {}),
    });
    store.evaluations.recordCohort(queryId, { matches, treated: outcome.treated, comparison: outcome.comparison });
    if (policy.retentionDays === 0) deleteEvaluationData(store, queryId, nowMs, 'report produced');
    else store.evaluations.keepUntil(queryId, nowMs + policy.retentionDays * DAY_MS);
    return outcome.result;
  } catch (error) {
    deleteEvaluationData(store, queryId, nowMs, 'evaluation refused');
    throw error;
  }
}

/** What deleting evaluation data needs of the node store. */
type EvaluationStore = Pick<NodeStore, 'evaluations' | 'audit' | 'transaction' | 'checkpoint'>;

/** Deletes the data of evaluations whose retention period has ended; returns how many. */
export function purgeEvaluations(store: EvaluationStore, nowMs: number): number {
  const due = store.evaluations.due(nowMs);
  for (const queryId of due) deleteEvaluationData(store, queryId, nowMs, 'retention period ended');
  return due.length;
}

/**
 * Deletes an evaluation's client list and cohort (the node database overwrites deleted content:
 * `secure_delete`), checkpoints the write-ahead log so no copy stays there, and records the deletion
 * with its reason and row counts in the audit chain.
 */
function deleteEvaluationData(store: EvaluationStore, queryId: string, nowMs: number, reason: string): void {
  store.transaction(() => {
    const { clients, cohort } = store.evaluations.deleteData(queryId, nowMs);
    const summary = `${reason}: deleted ${clients} client rows and ${cohort} cohort rows`;
    store.audit.append({ kind: 'evaluation', queryId, decision: 'data-deleted', reason: summary, digest: blake2b(Buffer.from(summary), 32), timeMs: nowMs });
  });
  // The node daemon is the only process with the file open, so the checkpoint is never busy; were it
  // busy, the old page images would stay in the log until the next checkpoint (SQLite's automatic one).
  store.checkpoint();
}

/** Opens and re-validates the sealed client list: signed by the organisation, sealed to this node. */
function openClientList(ctx: EvaluationListContext): ClientRecord[] {
  const { spec, attachment } = ctx;
  if (!Buffer.from(blake2b(attachment, 32)).equals(Buffer.from(spec.analysis.attachmentDigest))) {
    throw new FedlabError('SIGNATURE_INVALID', 'attachment: not the client list whose digest the organisation signed');
  }
  const organisation = ctx.roster.get(spec.researcherId, 'organisation');
  if (!organisation) throw new FedlabError('ROLE_NOT_ALLOWED', `participant "${spec.researcherId}" is not an organisation on the roster`);
  const bytes = openFromPeer(ctx.identity, organisation, evaluationAttachmentHeader(spec.queryId, organisation.id, ctx.identity.id), attachment);
  return decodeClientList(bytes, dateOfDay(Math.floor(ctx.nowMs / DAY_MS)));
}

/** What {@link readOffenderData} returns. */
export interface OffenderData {
  persons: JusticePerson[];
  histories: Map<string, OffenderHistory>;
  dataAsOf: string;
}

/** The persons of the evaluation dataset (identity for matching) and their offence histories. */
export async function readOffenderData(store: Pick<NodeStore, 'datasets'>, policy: EvaluationPolicy, nowMs = Date.now()): Promise<OffenderData> {
  const schema = store.datasets.schema(policy.dataset);
  if (!schema) throw new FedlabError('UNKNOWN_DATASET', `dataset "${policy.dataset}" does not exist at this node`);
  await store.datasets.check(policy.dataset);
  const known = new Set(schema.columns.map((c) => c.name));
  const columns = policy.columns;
  for (const name of Object.values(columns)) {
    if (!IDENTIFIER_NAME.test(name) || !known.has(name)) {
      throw new FedlabError('UNKNOWN_COLUMN', `the evaluation policy names column "${name}", which dataset "${policy.dataset}" does not have`);
    }
  }
  const query = compileColumnRows(
    schema,
    [
      ['person', schema.person],
      ['surname', columns.surname],
      ['forename', columns.forename],
      ['dob', columns.dateOfBirth],
      ['sex', columns.sex],
      ['region', columns.region],
      ['date', columns.offenceDate],
      ['type', columns.offenceType],
      ['convicted', columns.convicted],
      ['sentence', columns.sentence],
      ['release', columns.releaseDate],
      ['employed', columns.employed],
      ['income', columns.incomeSupport],
    ],
    [schema.person, columns.offenceDate],
    compileOptions(store.datasets, schema.dataset),
  );
  const persons: JusticePerson[] = [];
  const histories = new Map<string, OffenderHistory>();
  let latest = '';
  for await (const row of store.datasets.iterate(query) as AsyncIterable<OffenderRow>) {
    if (row.person === null || row.date === null) continue;
    const personId = String(row.person);
    let history = histories.get(personId);
    if (!history) {
      const text = (value: unknown) => (value === null || value === undefined || value === '' ? null : String(value));
      history = { personId, sex: parseSex(text(row.sex)) ?? null, birthDate: text(row.dob), region: text(row.region), offences: [] };
      histories.set(personId, history);
      persons.push({ personId, surname: String(row.surname ?? ''), givenName: String(row.forename ?? ''), birthDate: history.birthDate, sex: history.sex });
    }
    history.offences.push({
      date: row.date,
      type: String(row.type ?? 'unknown'),
      convicted: row.convicted === 1,
      custodial: row.sentence === policy.custodyValue,
      release: row.release,
      employed: row.employed === 1,
      incomeSupport: row.income === 1,
    });
    if (row.date > latest) latest = row.date;
    if (row.release !== null && row.release > latest) latest = row.release;
  }
  if (latest === '') throw new FedlabError('EVALUATION_TOO_SMALL', `dataset "${policy.dataset}" holds no offences`);
  // A future-dated row must not make a follow-up look complete: the data is as of today at the latest.
  return { persons, histories, dataAsOf: dateOfDay(Math.min(dayNumber(latest), Math.floor(nowMs / DAY_MS))) };
}

interface OffenderRow {
  person: string | number | null;
  surname: string | null;
  forename: string | null;
  dob: string | null;
  sex: string | null;
  region: string | null;
  date: string | null;
  type: string | null;
  convicted: number | null;
  sentence: string | null;
  release: string | null;
  employed: number | null;
  income: number | null;
}
