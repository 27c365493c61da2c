import { existsSync, readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  ANALYSIS_KINDS,
  DEFAULT_EVALUATION_COLUMNS,
  DEFAULT_EVALUATION_POLICY,
  DEFAULT_LINKAGE_POLICY,
  DEFAULT_PRIVACY_POLICY,
  DEFAULT_SDC_POLICY,
  FedlabError,
  PURPOSES,
  SDC_FLOORS,
  parseDocument,
  type EvaluationColumns,
  type NodePolicy,
} from '@fedlab/model';

const columnName = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a column name');
const columnsSchema = z
  .object(Object.fromEntries(Object.keys(DEFAULT_EVALUATION_COLUMNS).map((role) => [snake(role), columnName.optional()])))
  .strict()
  .default({});

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

const rho = z.number().positive('must be a positive number').max(1000, 'must be at most 1000');
const evaluationSchema = z
  .object({
    dataset: columnName,
    organisations: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]).default('all'),
    retention_days: z.number().int().min(0).max(3650).default(DEFAULT_EVALUATION_POLICY.retentionDays),
    min_cohort: z.number().int().min(60, 'must be at least 60 (the Justice Data Lab rule)').default(DEFAULT_EVALUATION_POLICY.minCohort),
    min_difference: z.number().int().min(1).default(DEFAULT_EVALUATION_POLICY.minDifference),
    follow_up_days: z.number().int().min(30).max(3650).default(DEFAULT_EVALUATION_POLICY.followUpDays),
    index_window_days: z.number().int().min(0).max(730).default(DEFAULT_EVALUATION_POLICY.indexWindowDays),
    custody_value: z.string().min(1).default(DEFAULT_EVALUATION_POLICY.custodyValue),
    rho_per_organisation: rho.default(DEFAULT_EVALUATION_POLICY.rhoPerOrganisation),
    rho_per_evaluation: rho.default(DEFAULT_EVALUATION_POLICY.rhoPerEvaluation),
    columns: columnsSchema,
  })
  .strict()
  .refine((e) => e.rho_per_evaluation <= e.rho_per_organisation, { path: ['rho_per_evaluation'], message: 'must not be above rho_per_organisation' });

const privacySchema = z
  .object({
    default_project_rho: rho.default(DEFAULT_PRIVACY_POLICY.defaultProjectRho),
    max_project_rho: rho.default(DEFAULT_PRIVACY_POLICY.maxProjectRho),
    max_query_rho: rho.default(DEFAULT_PRIVACY_POLICY.maxQueryRho),
    report_delta: z.number().gt(0).lt(1).default(DEFAULT_PRIVACY_POLICY.reportDelta),
    colluding_nodes: z.number().int('must be a whole number').min(0).max(254).optional(),
  })
  .strict()
  .default({
    default_project_rho: DEFAULT_PRIVACY_POLICY.defaultProjectRho,
    max_project_rho: DEFAULT_PRIVACY_POLICY.maxProjectRho,
    max_query_rho: DEFAULT_PRIVACY_POLICY.maxQueryRho,
    report_delta: DEFAULT_PRIVACY_POLICY.reportDelta,
  });

const policySchema = z
  .object({
    sdc: z
      .object({
        min_persons: z
          .number()
          .int()
          .min(SDC_FLOORS.minPersons, `must be at least ${SDC_FLOORS.minPersons} (the floor)`)
          .default(DEFAULT_SDC_POLICY.minPersons),
        dominance_max_share: z
          .number()
          .gt(0)
          .max(SDC_FLOORS.dominanceMaxShare, `must be at most ${SDC_FLOORS.dominanceMaxShare} (the floor)`)
          .default(DEFAULT_SDC_POLICY.dominanceMaxShare),
        rounding: z.enum(['none', 'random5']).default('none'),
      })
      .strict()
      .default({ min_persons: DEFAULT_SDC_POLICY.minPersons, dominance_max_share: DEFAULT_SDC_POLICY.dominanceMaxShare, rounding: 'none' }),
    analyses: z.array(z.enum(ANALYSIS_KINDS)).default([...ANALYSIS_KINDS]),
    datasets: z.record(z.string(), z.object({ purposes: z.array(z.enum(PURPOSES)) }).strict()).default({}),
    linkage: z
      .object({ max_set_size: z.number().int().min(1).max(100_000_000).default(DEFAULT_LINKAGE_POLICY.maxSetSize) })
      .strict()
      .default({ max_set_size: DEFAULT_LINKAGE_POLICY.maxSetSize }),
    evaluation: evaluationSchema.optional(),
    privacy: privacySchema,
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.privacy.default_project_rho > p.privacy.max_project_rho) {
      ctx.addIssue({ code: 'custom', path: ['privacy', 'default_project_rho'], message: `must not be above max_project_rho (${p.privacy.max_project_rho})` });
    }
  });

/** Validates a policy document; errors name the field path and the reason. */
export function parseNodePolicy(doc: unknown, source: string): NodePolicy {
  const p = parseDocument(policySchema, doc ?? {}, source, 'POLICY_INVALID');
  return {
    sdc: { minPersons: p.sdc.min_persons, dominanceMaxShare: p.sdc.dominance_max_share, rounding: p.sdc.rounding },
    analyses: p.analyses,
    datasets: p.datasets,
    linkage: { maxSetSize: p.linkage.max_set_size },
    privacy: {
      defaultProjectRho: p.privacy.default_project_rho,
      maxProjectRho: p.privacy.max_project_rho,
      maxQueryRho: p.privacy.max_query_rho,
      reportDelta: p.privacy.report_delta,
      ...(p.privacy.colluding_nodes === undefined ? {} : { colludingNodes: p.privacy.colluding_nodes }),
    },
    evaluation: p.evaluation
      ? {
          dataset: p.evaluation.dataset,
          organisations: p.evaluation.organisations === 'all' ? null : p.evaluation.organisations,
          retentionDays: p.evaluation.retention_days,
          minCohort: p.evaluation.min_cohort,
          minDifference: p.evaluation.min_difference,
          followUpDays: p.evaluation.follow_up_days,
          indexWindowDays: p.evaluation.index_window_days,
          custodyValue: p.evaluation.custody_value,
          rhoPerOrganisation: p.evaluation.rho_per_organisation,
          rhoPerEvaluation: p.evaluation.rho_per_evaluation,
          columns: Object.fromEntries(
            Object.entries(DEFAULT_EVALUATION_COLUMNS).map(([role, fallback]) => [
              role,
              (p.evaluation!.columns as Record<string, string | undefined>)[snake(role)] ?? fallback,
            ]),
          ) as unknown as EvaluationColumns,
        }
      : null,
  };
}

/** Loads the node's policy file; a missing file means "no policy": the node answers nothing. */
export function loadNodePolicy(path: string): NodePolicy | null {
  if (!existsSync(path)) return null;
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new FedlabError('POLICY_INVALID', `${path}: not valid YAML (${(error as Error).message.split('\n')[0]})`);
  }
  return parseNodePolicy(doc, path);
}

/**
 * {@link loadNodePolicy} for a daemon that reads the policy before every query: the file is parsed again
 * only when it changed (its inode, size, modification or change time), so a steward's edit takes effect on
 * the next query without a YAML parse per query. An invalid file is read (and refused) every time.
 */
export function policyLoader(path: string): () => NodePolicy | null {
  let held: { stamp: string; policy: NodePolicy | null } | undefined;
  return () => {
    let stamp = 'absent';
    try {
      const s = statSync(path);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch {
      // Absent (or unreadable): loadNodePolicy says which.
    }
    if (held?.stamp !== stamp) held = { stamp, policy: loadNodePolicy(path) };
    return held.policy;
  };
}

/** The policy template `fedlab node init` writes: default deny until the steward fills it in. */
export const POLICY_TEMPLATE = `# fedlab node policy — default deny.
# Nothing is answered until, per dataset, the purposes it may serve are listed here AND the node's
# steward approves a project (fedlab project approve): queries run only inside approved projects.
# Enforcement purposes (enforcement, immigration_control, individual_investigation, fraud_targeting)
# are refused unless listed explicitly for a dataset and in the project's approval.
sdc:
  min_persons: 10            # threshold rule: persons behind every released cell (floor 3)
  dominance_max_share: 0.9   # dominance rule for sums: two largest contributors ≤ 90 % (floor)
  rounding: none             # or random5
analyses: [count, sum, mean, variance, proportion, histogram]
datasets: {}                 # e.g. health_visits: { purposes: [research, statistics] }
linkage:
  max_set_size: 1000000      # largest set another node may link against this node's data in one study
# Differential privacy (docs/privacy.md): every figure this node releases carries noise, and each
# project spends a budget (rho, zero-concentrated DP) per dataset, granted by your approval.
privacy:
  default_project_rho: 1     # a project's budget per dataset when its approval grants none
  max_project_rho: 5         # the most an approval may grant per project and dataset
  max_query_rho: 1           # the most one query may spend
  # colluding_nodes: 1       # pooled queries: other nodes assumed to collude with the coordinator
  #                          # (unset: as many as the secure-aggregation threshold tolerates, at least 1)
# Impact evaluations for organisations (the Justice Data Lab service; docs/evaluation.md). Off unless set:
# evaluation:
#   dataset: justice_offences
#   organisations: all       # or a list of roster ids
#   retention_days: 0        # 0: delete the uploaded list and matched cohort when the report is produced
#   rho_per_organisation: 2  # privacy budget (rho) each organisation may spend on evaluations here
#   rho_per_evaluation: 0.5  # what one evaluation spends
`;
