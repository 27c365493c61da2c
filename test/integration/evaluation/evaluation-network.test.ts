import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, describe, expect } from 'vitest';
import { FedlabError } from '@fedlab/model';
import { encodeClientList, parseClientList, type ClientRecord, type EvaluationResult } from '@fedlab/evaluation';
import { purgeEvaluations } from '@fedlab/node-service';
import { CLIENT_LIST_PATH, generateSynthetic, SYNTH_EFFECTS, SYNTH_SCHEMAS, TRUTH_PERSONS_PATH } from '@fedlab/synth';
import { CLINIC_SCHEMA, clinicCsv, policyYaml, startTestNetwork, type TestNetwork } from '@fedlab/testing';
import { crossCheckAudit, LogClient, type FedlabClient } from '@fedlab/client';
import { it, test } from '@fedlab/test-kit';

const TODAY = new Date().toISOString().slice(0, 10);
const DAY = 86_400_000;
/** Surnames that occur nowhere in the justice data: only the uploaded list can put them in a file. */
const MARKERS = ['Qxvzorbit', 'Wubblequist', 'Zephyrkrantz', 'Yodelmarsh', 'Quibblestone'];

let network: TestNetwork;
let organisation: FedlabClient;
let clients: ClientRecord[];
let files: Map<string, string>;

function justicePolicy(evaluation: Record<string, unknown> | null = {}, purposes = ['research', 'program_evaluation']): string {
  const base = policyYaml({ datasets: { justice_offences: purposes } }).replace('- linkage', '- linkage\n  - evaluation');
  if (evaluation === null) return base;
  // A generous budget per organisation, so every test can evaluate (the budget's own test sets a small one), and
  // ρ = 20 per evaluation so the noise stays well below the program's effect on this small test population.
  const lines = Object.entries({ dataset: 'justice_offences', rho_per_organisation: 1000, rho_per_evaluation: 20, ...evaluation }).map(
    ([k, v]) => `  ${k}: ${JSON.stringify(v)}`,
  );
  return `${base}evaluation:\n${lines.join('\n')}\n`;
}

function setPolicy(evaluation: Record<string, unknown> | null = {}, purposes?: string[]): void {
  writeFileSync(network.nodes.justice!.policyFile, justicePolicy(evaluation, purposes));
}

/** The client list with five extra people whose surnames occur nowhere else (they match nobody). */
const marked = () => [...clients, ...MARKERS.map((surname, i) => ({ ...clients[i]!, line: clients.length + 2 + i, surname, forename: 'Testperson' }))];

/** 40 clients and 20 people who match nobody: a list of 60 of whom fewer than 60 can reach the final group. */
const fewMatching = () => [
  ...clients.slice(0, 40),
  ...Array.from({ length: 20 }, (_, i) => ({
    ...clients[i]!,
    line: 42 + i,
    surname: `${MARKERS[i % MARKERS.length]!}${'x'.repeat(1 + Math.floor(i / MARKERS.length))}`,
    forename: 'Nobody',
  })),
];

const cohortsRecorded = () => (network.nodes.justice!.store.db.prepare('SELECT COUNT(*) AS n FROM fedlab_cohorts').get() as { n: number }).n;

async function evaluate(
  client: FedlabClient,
  list: ClientRecord[],
  options: { sealTo?: string } = {},
): Promise<{ id: string; result?: EvaluationResult; refusal?: { code: string; message: string } }> {
  const { queryId } = await client.submitEvaluation({ node: 'justice', programme: 'Second Chance', clientList: encodeClientList(list) }, options);
  await client.watch(queryId);
  const answer = (await client.result(queryId)).answers[0]!;
  return { id: queryId, ...(answer.evaluation ? { result: answer.evaluation } : {}), ...(answer.refusal ? { refusal: answer.refusal } : {}) };
}

const storedRows = () => {
  const db = network.nodes.justice!.store.db;
  const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  return { clients: count('fedlab_evaluation_clients'), cohort: count('fedlab_evaluation_cohort') };
};

/** The node's database file and its write-ahead log, as bytes (the whole on-disk state). */
function databaseBytes(): Buffer {
  const file = `${network.dir}/justice.db`;
  const wal = (() => {
    try {
      return readFileSync(`${file}-wal`);
    } catch {
      return Buffer.alloc(0);
    }
  })();
  return Buffer.concat([readFileSync(file), wal]);
}

test.beforeAll(async ({ fileTempDir }) => {
  files = new Map([...generateSynthetic({ persons: 20_000, seed: 5 })].map((f) => [f.path, f.content]));
  network = await startTestNetwork({
    dir: fileTempDir,
    organisations: ['reentry-org', 'other-org'],
    nodes: [
      { id: 'justice', datasets: [{ schema: SYNTH_SCHEMAS.justice_offences!, csv: files.get('justice/justice_offences.csv')! }], policy: justicePolicy() },
      { id: 'health', datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }], policy: null },
    ],
  });
  organisation = network.client(network.organisations['reentry-org']!);
  const list = parseClientList(files.get(CLIENT_LIST_PATH)!, TODAY);
  expect(list.problems).toEqual([]);
  clients = list.clients;
}, 120_000);

afterAll(async () => {
  await network?.stop();
});

describe('an impact evaluation over real gRPC, sealed end to end', () => {
  it('matches the list, builds the comparison group and releases figures that agree with the data', async () => {
    const { id, result, refusal } = await evaluate(organisation, marked());
    expect(refusal).toBeUndefined();
    const r = result!;
    if (process.env.SHOW_EVAL)
      console.log(
        JSON.stringify(
          {
            funnel: r.funnel,
            matching: r.matching,
            measures: r.measures.map((m) => [m.name, m.treatment, m.comparison, m.difference, m.pValue, m.statement]),
            summary: r.summary,
            balance: r.balance.map((b) => [b.covariate, b.smdBefore.toFixed(3), b.smdAfter.toFixed(3)]),
          },
          null,
          1,
        ),
      );
    // Ground truth from the generator: the program's participants and their Justice records.
    const truth = parseCsv(files.get(TRUTH_PERSONS_PATH)!, { columns: true }) as Array<Record<string, string>>;
    const participants = truth.filter((p) => p.reentry_program === 'true');
    expect(r.funnel.map((f) => f.stage)).toEqual(['submitted', 'valid', 'matched', 'eligible', 'cohort']);
    // The organisation's own counts are exact; the others carry the noise the report states.
    expect(r.funnel[0]!.count).toBe(clients.length + MARKERS.length);
    expect(r.funnel[1]!.count).toBe(clients.length + MARKERS.length);
    expect(r.privacy!.rho).toBe(20);
    const slack = 5 * r.privacy!.countSd;
    expect(slack).toBeGreaterThan(0);
    // Every participant has a Justice record; the 3 % strangers have none.
    expect(r.funnel[2]!.count).toBeGreaterThanOrEqual(Math.floor(participants.length * 0.97) - slack);
    expect(r.funnel[2]!.count).toBeLessThanOrEqual(participants.length + slack);
    expect(r.funnel[3]!.count).toBeLessThanOrEqual(r.funnel[2]!.count + 2 * slack);
    expect(r.funnel[4]!.count).toBe(r.matching.treatedMatched);
    expect(Math.abs(r.funnel[4]!.count + r.matching.treatedOutsideCaliper - r.funnel[3]!.count)).toBeLessThanOrEqual(3 * slack);
    expect(r.funnel[4]!.count).toBeGreaterThanOrEqual(60 - slack);
    expect(r.caveats.at(-1)).toMatch(
      /^To protect the privacy of the people in the justice data, every number in this report that comes from that data has a small amount of random noise added on purpose/,
    );

    // The treatment group's one-year proven reoffending rate, recomputed from the Justice CSV for the
    // participants (first custody release as the index, convicted offences within 365 days).
    const offences = parseCsv(files.get('justice/justice_offences.csv')!, { columns: true }) as Array<Record<string, string>>;
    const byOffender = new Map<string, Array<Record<string, string>>>();
    for (const o of offences) byOffender.set(o.offender_id!, [...(byOffender.get(o.offender_id!) ?? []), o]);
    const reoffended = participants.map((p) => {
      const rows = byOffender.get(p.offender_id!)!;
      const index = Date.parse(p.index_release_date!);
      return rows.some((o) => o.convicted === 'true' && Date.parse(o.offence_date!) > index && Date.parse(o.offence_date!) <= index + 365 * DAY);
    });
    const truthRate = (100 * reoffended.filter(Boolean).length) / participants.length;
    const rate = r.measures.find((m) => m.name === 'reoffending_rate')!;
    expect(Math.abs(rate.treatment.people - r.funnel[4]!.count)).toBeLessThanOrEqual(2 * slack);
    // Equal up to the few participants lost to matching or the caliper, and the noise.
    const lost = Math.max(0, participants.length - r.funnel[4]!.count + slack);
    // The rate's noise: the events total's and the count's, over the group's people (per 100).
    const rateSd = (100 * Math.hypot(r.privacy!.totalSds.reoffending_rate, (rate.treatment.value! / 100) * r.privacy!.countSd)) / rate.treatment.people;
    expect(Math.abs(rate.treatment.value! - truthRate)).toBeLessThanOrEqual((100 * lost) / participants.length + 5 * rateSd);
    // The program lowers one-year reoffending by 12 points; 70 % of offences are convicted.
    const expected = 100 * SYNTH_EFFECTS.reoffending.reentryProgram * SYNTH_EFFECTS.conviction.convicted;
    expect(rate.difference!.ci!.lower).toBeLessThan(expected);
    expect(rate.difference!.ci!.upper).toBeGreaterThan(expected);
    expect(rate.difference!.estimate).toBeLessThan(0);
    // A balance row for every covariate of the model (one per level of a category).
    expect(r.matching.covariates.length).toBeGreaterThanOrEqual(5);
    for (const name of r.matching.covariates)
      expect(
        r.balance.some((row) => row.covariate === name || row.covariate.startsWith(`${name}=`)),
        name,
      ).toBe(true);
    expect(r.retention).toBe('The uploaded list and the matched cohort were deleted at the justice node when this report was produced.');
    // Deleted at once (retention 0): not in the tables, not in the database file or its write-ahead log.
    expect(storedRows()).toEqual({ clients: 0, cohort: 0 });
    const bytes = databaseBytes();
    for (const marker of MARKERS) expect(bytes.includes(Buffer.from(marker)), marker).toBe(false);
    // The coordinator dropped the sealed list once the node answered.
    expect(network.store.queries.attachment(id)).toBeNull();
  });

  it('keeps the uploaded list for the retention period, then deletes it from the database file and says so in the audit chain', async () => {
    setPolicy({ retention_days: 30 });
    const list = marked();
    const { id, result } = await evaluate(organisation, list);
    expect(result!.retention).toBe('The uploaded list and the matched cohort are kept at the justice node for 30 days after this report, then deleted.');
    const held = storedRows();
    expect(held.clients).toBe(list.length);
    expect(held.cohort).toBeGreaterThan(result!.funnel[4]!.count);
    network.nodes.justice!.store.checkpoint();
    for (const marker of MARKERS) expect(databaseBytes().includes(Buffer.from(marker))).toBe(true);

    const store = network.nodes.justice!.store;
    expect(purgeEvaluations(store, Date.now() + 29 * DAY)).toBe(0);
    expect(purgeEvaluations(store, Date.now() + 31 * DAY)).toBe(1);
    expect(storedRows()).toEqual({ clients: 0, cohort: 0 });
    const bytes = databaseBytes();
    for (const marker of MARKERS) expect(bytes.includes(Buffer.from(marker))).toBe(false);
    const deletion = store.audit
      .entries()
      .filter((e) => e.kind === 'evaluation' && e.queryId === id)
      .map(({ decision, reason }) => ({ decision, reason }));
    expect(deletion).toEqual([
      { decision: 'data-deleted', reason: `retention period ended: deleted ${list.length} client rows and ${held.cohort} cohort rows` },
    ]);
    setPolicy();
  });
});

describe('refused evaluations leave nothing behind', () => {
  it('refuses a list below the minimum sent without the CLI, before the justice data is read: nothing stored, nothing spent', async () => {
    const evaluations = () => (network.nodes.justice!.store.db.prepare('SELECT COUNT(*) AS n FROM fedlab_evaluations').get() as { n: number }).n;
    const spent = () =>
      network.nodes
        .justice!.store.db.prepare("SELECT COUNT(*) AS n, SUM(rho) AS rho FROM fedlab_privacy_ledger WHERE project_id = 'evaluation:reentry-org'")
        .get();
    const [before, spentBefore, recorded] = [evaluations(), spent(), cohortsRecorded()];
    const { refusal } = await evaluate(organisation, clients.slice(0, 40));
    expect(refusal).toEqual({ code: 'EVALUATION_TOO_SMALL', message: 'the client list has 40 people; an evaluation at this node needs at least 60' });
    expect([evaluations(), spent(), cohortsRecorded()]).toEqual([before, spentBefore, recorded]);
    expect(storedRows()).toEqual({ clients: 0, cohort: 0 });
  });

  it('refuses fewer than 60 people in the final treatment group, naming only noisy counts of the justice data', async () => {
    const { refusal } = await evaluate(organisation, fewMatching());
    expect(refusal?.code).toBe('EVALUATION_TOO_SMALL');
    // The counts in the message are noisy too (the justice data's): about the truth, within the noise.
    const counts =
      /^about (\d+) people reached the final treatment group \(submitted 60, matched (\d+), with an eligible release (\d+)\); an evaluation needs at least 60$/.exec(
        refusal!.message,
      );
    expect(counts).not.toBeNull();
    const [reached, matched, eligible] = counts!.slice(1).map(Number) as [number, number, number];
    const countSd = Math.sqrt(19 / (2 * (20 / 3)));
    expect(Math.abs(reached - eligible)).toBeLessThanOrEqual(10 * countSd);
    expect(matched).toBeGreaterThanOrEqual(36 - 5 * countSd);
    expect(matched).toBeLessThanOrEqual(40 + 5 * countSd);
    expect(storedRows()).toEqual({ clients: 0, cohort: 0 });
  });

  it("refuses an evaluation over the organisation's budget before its list is opened, and spends nothing more", async () => {
    setPolicy({ rho_per_organisation: 1, rho_per_evaluation: 1 });
    try {
      const before = (network.nodes.justice!.store.db.prepare('SELECT COUNT(*) AS n FROM fedlab_evaluations').get() as { n: number }).n;
      const other = network.client(network.organisations['other-org']!);
      // other-org's first evaluation spends its whole budget (refused or not, it used the justice data) …
      const first = await evaluate(other, fewMatching());
      expect(first.refusal?.code).toBe('EVALUATION_TOO_SMALL');
      // … so its next one is refused before the node opens the list: nothing is stored or matched.
      const { refusal } = await evaluate(other, clients);
      expect(refusal).toEqual({
        code: 'BUDGET_EXHAUSTED',
        message: 'organisation "other-org" has rho 0 left of 1 for evaluations at this node; an evaluation spends 1',
      });
      expect((network.nodes.justice!.store.db.prepare('SELECT COUNT(*) AS n FROM fedlab_evaluations').get() as { n: number }).n).toBe(before + 1);
      const ledger = network.nodes
        .justice!.store.db.prepare("SELECT SUM(rho) AS rho FROM fedlab_privacy_ledger WHERE project_id = 'evaluation:other-org'")
        .get() as {
        rho: number;
      };
      expect(ledger.rho).toBe(1);
    } finally {
      setPolicy();
    }
  });

  it('refuses a list that differs from an earlier one by fewer than 10 people, whoever submits it, whether or not they have a record', async () => {
    const refusal = {
      code: 'EVALUATION_DIFFERENCING',
      message: 'the client list differs from the list of an earlier evaluation at this node by fewer than 10 people; results of the two could be subtracted',
    };
    // The list an earlier test evaluated: the same list again is allowed (each run spends budget) …
    const base = marked();
    const first = await evaluate(organisation, base);
    expect(first.result).toBeDefined();
    const recorded = cohortsRecorded();
    // … four people fewer is not …
    const shorter = base.slice(4);
    expect((await evaluate(organisation, shorter)).refusal).toEqual(refusal);
    // … from another organisation either (organisations could otherwise pool their lists) …
    const other = network.client(network.organisations['other-org']!);
    expect((await evaluate(other, shorter)).refusal).toEqual(refusal);
    // … nor the same shorter list dressed up (capitals, an apostrophe): the rule sees people as the matcher does …
    const dressed = shorter.map((c) => ({ ...c, surname: `${c.surname[0]!.toUpperCase()}'${c.surname.slice(1).toUpperCase()}` }));
    expect((await evaluate(organisation, dressed)).refusal).toEqual(refusal);
    // … nor one person more: refused the same whether that person has a justice record or not, so the
    // refusal tells nothing about anyone's record …
    const truth = parseCsv(files.get(TRUTH_PERSONS_PATH)!, { columns: true }) as Array<Record<string, string>>;
    const stranger = truth.find(
      (p) => p.offender_id !== '' && p.reentry_program !== 'true' && !clients.some((c) => c.surname === p.surname && c.dateOfBirth === p.birth_date),
    )!;
    const line = base.length + 2;
    const withRecord: ClientRecord = {
      line,
      surname: stranger.surname!,
      forename: stranger.given_name!,
      dateOfBirth: stranger.birth_date!,
      sex: stranger.sex as 'M' | 'F',
      interventionStart: '2025-11-03',
      interventionEnd: '2025-12-01',
      justiceId: null,
    };
    const withoutRecord: ClientRecord = { ...withRecord, surname: 'Vorpalquist', forename: 'Nobody' };
    expect((await evaluate(organisation, [...base, withRecord])).refusal).toEqual(refusal);
    expect((await evaluate(organisation, [...base, withoutRecord])).refusal).toEqual(refusal);
    // … nor one person's intervention dates moved (it would move their index release in or out).
    const moved = base.map((c, i) => (i === 0 ? { ...c, interventionStart: '2021-01-04' } : c));
    expect((await evaluate(organisation, moved)).refusal).toEqual(refusal);
    expect(cohortsRecorded()).toBe(recorded);
    expect(storedRows()).toEqual({ clients: 0, cohort: 0 });
  });

  it('refuses a list sealed to another node: the justice node cannot open it', async () => {
    const before = (network.nodes.justice!.store.db.prepare('SELECT COUNT(*) AS n FROM fedlab_evaluations').get() as { n: number }).n;
    const { refusal } = await evaluate(organisation, clients, { sealTo: 'health' });
    expect(refusal).toEqual({
      code: 'PAYLOAD_NOT_FOR_THIS_NODE',
      message: 'the payload from "reentry-org" could not be decrypted by this node: it is encrypted to another node, or was altered',
    });
    expect((network.nodes.justice!.store.db.prepare('SELECT COUNT(*) AS n FROM fedlab_evaluations').get() as { n: number }).n).toBe(before);
  });

  it('refuses a submission by a participant without the organisation role, before anything is logged', async () => {
    const researcher = network.client(network.researchers.alice!);
    const size = network.coordinator.log.treeHead(Date.now()).size;
    await expect(researcher.submitEvaluation({ node: 'justice', programme: 'x', clientList: encodeClientList(clients) })).rejects.toThrow(
      expect.objectContaining({
        code: 'ROLE_NOT_ALLOWED',
        message: 'participant "alice" is a researcher: only an organisation on the roster submits an evaluation',
      }),
    );
    expect(network.coordinator.log.treeHead(Date.now()).size).toBe(size);
  });

  it('refuses when the steward has not turned evaluations on, or the dataset may not serve program evaluation', async () => {
    setPolicy(null);
    expect((await evaluate(organisation, clients)).refusal).toEqual({ code: 'EVALUATION_NOT_OFFERED', message: 'this node does not run impact evaluations' });
    setPolicy({}, ['research']);
    expect((await evaluate(organisation, clients)).refusal).toEqual({
      code: 'PURPOSE_NOT_PERMITTED',
      message: 'purpose "program_evaluation" is not permitted for dataset "justice_offences"',
    });
    setPolicy();
  });

  it('re-validates the list at the node: a client that passed no local check is refused with its line', async () => {
    const tampered = clients.map((c, i) => (i === 2 ? { ...c, interventionEnd: '2999-01-01' } : c));
    expect((await evaluate(organisation, tampered)).refusal).toEqual({
      code: 'CLIENT_LIST_INVALID',
      message: `the client list has 1 problem: line ${clients[2]!.line}, intervention_end: in the future`,
    });
    expect(storedRows()).toEqual({ clients: 0, cohort: 0 });
  });

  it('refuses an organisation the steward did not register, and a list that is not the one signed', async () => {
    setPolicy({ organisations: ['other-org'] });
    const { refusal } = await evaluate(organisation, clients);
    expect(refusal).toEqual({ code: 'EVALUATION_NOT_OFFERED', message: 'organisation "reentry-org" is not registered for evaluations at this node' });
    setPolicy();
    // A sealed list swapped in transit does not match the digest the organisation signed.
    const query = network.client(network.organisations['reentry-org']!);
    const spy = query as unknown as { submitEnvelope(envelope: unknown, attachment: Uint8Array): Promise<unknown> };
    const original = spy.submitEnvelope.bind(query);
    spy.submitEnvelope = (envelope, attachment) => original(envelope, Buffer.concat([attachment.subarray(0, -1), Buffer.from([attachment.at(-1)! ^ 1])]));
    await expect(query.submitEvaluation({ node: 'justice', programme: 'x', clientList: encodeClientList(clients) })).rejects.toThrow(
      expect.objectContaining({ code: 'SIGNATURE_INVALID', message: 'attachment: not the client list whose digest the organisation signed' }),
    );
  });
});

describe('an organisation cannot run ordinary queries', () => {
  it('is refused with ROLE_NOT_ALLOWED', async () => {
    await expect(
      organisation.submit({
        projectId: 'proj-test',
        purpose: 'research',
        nodes: ['justice'],
        expiresInMinutes: 10,
        pooled: false,
        analysis: { kind: 'count', dataset: 'justice_offences', groupBy: [] },
      }),
    ).rejects.toThrow(new FedlabError('ROLE_NOT_ALLOWED', 'participant "reentry-org" is an organisation: organisations submit evaluations only'));
  });
});

describe("the justice node's audit chain against the public log", () => {
  it('agrees after evaluations (released, refused and purged): no false discrepancy', async () => {
    const log = new LogClient({ address: network.address, roster: network.roster });
    try {
      const { entries } = await log.verify();
      const audit = network.nodes.justice!.store.audit.entries();
      const check = crossCheckAudit('justice', entries, audit);
      expect(check.discrepancies).toEqual([]);
      expect(check.queriesInLog).toBeGreaterThan(5);
      expect(check.queriesAudited).toBe(check.queriesInLog);
    } finally {
      log.close();
    }
  });
});
