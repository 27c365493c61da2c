import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ANALYSIS_KINDS, DEFAULT_LINKAGE_POLICY, DEFAULT_SDC_POLICY, FedlabError, PURPOSES, SDC_FLOORS, parseDocument, type NodePolicy } from '@fedlab/model';

const policySchema = z
  .object({
    sdc: z
      .object({
        min_persons: z.number().int().min(SDC_FLOORS.minPersons, `must be at least ${SDC_FLOORS.minPersons} (the floor)`).default(DEFAULT_SDC_POLICY.minPersons),
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
  })
  .strict();

/** Validates a policy document; errors name the field path and the reason. */
export function parseNodePolicy(doc: unknown, source: string): NodePolicy {
  const p = parseDocument(policySchema, doc ?? {}, source, 'POLICY_INVALID');
  return {
    sdc: { minPersons: p.sdc.min_persons, dominanceMaxShare: p.sdc.dominance_max_share, rounding: p.sdc.rounding },
    analyses: p.analyses,
    datasets: p.datasets,
    linkage: { maxSetSize: p.linkage.max_set_size },
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
`;
