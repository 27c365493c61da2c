import { FedlabError, type DatasetSchema, type LinkageAnalysis, type NodePolicy } from '@fedlab/model';
import { computeKeys, recipeFingerprint, selectRecipes } from '@fedlab/linkage';
import { studyNoise, type StudyNoise } from './study-noise';
import { compilePersonRows, valueLayout, type ValueEntry } from '@fedlab/query';
import { compileOptions } from './compile-options';
import type { NodeStore } from '@fedlab/store';
import { selectExactControls, selectPropensityControls, type StudyUnit } from '@fedlab/study';
import { secureUniformSource } from '@fedlab/crypto';
import type { GroupRule } from '@fedlab/psi';
import { checkAndRecordGroup } from './cohort-differencing';

type KeyTuple = Array<string | null>;

/** The cohort node's side of a study, prepared in memory when the query is authorised. */
export interface CohortPreparation {
  role: 'cohort';
  passNames: string[];
  fingerprints: string[];
  groups: Array<{ name: 'cohort' | 'comparison'; tuples: KeyTuple[] }>;
  /** The study's differential-privacy noise, which this node adds for the whole study (group sizes drawn once). */
  noise: StudyNoise;
  /** The outcome node of each outcome source, in order: each is linked once. */
  outcomeNodes: string[];
}

/** An outcome node's side: one key tuple and one value vector per person of its dataset. */
export interface OutcomePreparation {
  role: 'outcome';
  outcome: number;
  /** The study's cohort node: the only peer this node links with. */
  cohortNode: string;
  passNames: string[];
  fingerprints: string[];
  layout: ValueEntry[];
  tuples: KeyTuple[];
  values: Uint32Array;
  /** The groups the signed study asks the cohort node for, with this node's size rules. */
  groups: GroupRule[];
}

export type LinkagePreparation = CohortPreparation | OutcomePreparation;

export interface PrepareLinkageOptions {
  /** Where the node's dataset is read and the cohort recorded for the differencing check. */
  store: Pick<NodeStore, 'datasets' | 'cohorts'>;
  /** The schema of this node's dataset of the study, its side validated against it (as `authorise` returned it). */
  schema: DatasetSchema;
  nodeId: string;
  projectId: string;
  queryId: string;
  policy: NodePolicy;
  /** Secret for the keyed hashes of cohort members kept for the differencing check. */
  cohortKey: Uint8Array;
  nowMs: number;
  /** ρ the study spends at this node (the cohort node adds the study's noise with it). */
  rho: number;
}

const recipeColumns = (recipes: ReturnType<typeof selectRecipes>) => [...new Set(recipes.flatMap((r) => r.parts.map((p) => p.column)))];

/** Reads the node's dataset and prepares its side of an authorised linkage study (DESIGN.md §7.4). */
export async function prepareLinkage(analysis: LinkageAnalysis, options: PrepareLinkageOptions): Promise<LinkagePreparation> {
  await options.store.datasets.check(options.schema.dataset);
  if (analysis.cohortNode === options.nodeId) return prepareCohort(analysis, options);
  const outcome = analysis.outcomes.findIndex((o) => o.node === options.nodeId);
  if (outcome < 0) throw new FedlabError('INVALID_QUERY', 'analysis: this node is neither the cohort node nor an outcome node of the study');
  return prepareOutcome(analysis, outcome, options);
}

async function prepareCohort(analysis: LinkageAnalysis, options: PrepareLinkageOptions): Promise<CohortPreparation> {
  const { store, schema, policy, projectId, queryId, cohortKey, nowMs } = options;
  const recipes = selectRecipes(schema, analysis.keys);
  const keyColumns = recipeColumns(recipes);
  const comparison = analysis.comparison;
  const attributes = comparison?.columns ?? [];
  const columns = [...keyColumns, ...attributes];
  const query = compilePersonRows(schema, columns, [analysis.filter, comparison?.pool], undefined, compileOptions(store.datasets, schema.dataset));
  const persons = new Map<unknown, { id: number; row: Record<string, unknown>; cohort: boolean; pool: boolean }>();
  for await (const row of store.datasets.iterate(query)) {
    let person = persons.get(row.p);
    if (!person) {
      person = { id: persons.size, row, cohort: false, pool: false };
      persons.set(row.p, person);
    }
    if (row.f0 === 1) person.cohort = true;
    if (row.f1 === 1) person.pool = true;
  }
  const all = [...persons.values()];
  const cohort = all.filter((p) => p.cohort);
  const min = policy.sdc.minPersons;
  if (cohort.length < min) throw new FedlabError('COHORT_TOO_SMALL', `the cohort has fewer than ${min} persons (this node's minimum)`);
  const members = [...persons.entries()].filter(([, p]) => p.cohort).map(([id]) => String(id));
  const refusal = `the cohort differs from an earlier cohort of this project by fewer than ${min} persons; results of the two could be subtracted`;
  checkAndRecordGroup(
    { cohorts: store.cohorts, scope: projectId, queryId, cohortKey, nowMs },
    members,
    min,
    () => new FedlabError('COHORT_DIFFERENCING', refusal),
  );
  const column = (row: Record<string, unknown>) => (name: string) => row[`c${columns.indexOf(name)}`];
  const tuplesOf = (group: typeof all) => group.map((p) => computeKeys(recipes, column(p.row)));
  const groups: CohortPreparation['groups'] = [{ name: 'cohort', tuples: tuplesOf(cohort) }];
  if (comparison) {
    const unit = (p: (typeof all)[number]): StudyUnit => ({
      id: p.id,
      values: Object.fromEntries(attributes.map((a) => [a, normaliseUnitValue(column(p.row)(a))])),
    });
    const cases = cohort.map(unit);
    const candidates = all.filter((p) => !p.cohort && p.pool).map(unit);
    const select = { cases, candidates, controlsPerCase: comparison.controlsPerCase, random: secureUniformSource() };
    const chosen =
      comparison.method === 'exact' ? selectExactControls({ ...select, strata: attributes }) : selectPropensityControls({ ...select, covariates: attributes });
    if (chosen.controls.length < min) throw new FedlabError('COHORT_TOO_SMALL', `the comparison group has fewer than ${min} persons (this node's minimum)`);
    groups.push({ name: 'comparison', tuples: tuplesOf(chosen.controls.map((id) => all[id]!)) });
  }
  const noise = studyNoise(
    options.rho,
    { outcomeNodes: analysis.outcomes.length, controlsPerCase: comparison?.controlsPerCase ?? 0, passes: analysis.keys.length },
    groups.map((g) => g.tuples.length),
  );
  return {
    role: 'cohort',
    passNames: analysis.keys,
    fingerprints: recipes.map(recipeFingerprint),
    groups,
    noise,
    outcomeNodes: analysis.outcomes.map((o) => o.node),
  };
}

function normaliseUnitValue(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}

async function prepareOutcome(analysis: LinkageAnalysis, outcome: number, options: PrepareLinkageOptions): Promise<OutcomePreparation> {
  const { store, schema } = options;
  const source = analysis.outcomes[outcome]!;
  const recipes = selectRecipes(schema, analysis.keys);
  const layout = valueLayout(source, schema);
  const keyColumns = recipeColumns(recipes);
  const measureColumns = source.measures.map((m) => m.column).filter((c): c is string => c !== undefined);
  const columns = [...keyColumns, ...new Set(measureColumns)];
  const query = compilePersonRows(
    schema,
    columns,
    source.measures.map((m) => m.filter),
    undefined,
    compileOptions(store.datasets, schema.dataset),
  );
  const at = (name: string) => `c${columns.indexOf(name)}`;
  // Entry offsets of each measure in the value vector, and each category measure's levels.
  const offsets = source.measures.map((m) => layout.findIndex((e) => e.measure === m.name));
  const levels = source.measures.map((m) => layout.filter((e) => e.measure === m.name).map((e) => e.level));
  const booleanColumn = source.measures.map((m) => m.column !== undefined && schema.columns.find((c) => c.name === m.column)?.type === 'boolean');
  const persons = new Map<unknown, { row: Record<string, unknown>; totals: Float64Array }>();
  for await (const row of store.datasets.iterate(query)) {
    let person = persons.get(row.p);
    if (!person) {
      person = { row, totals: new Float64Array(layout.length) };
      persons.set(row.p, person);
    }
    source.measures.forEach((m, i) => {
      if (row[`f${i}`] !== 1) return;
      const offset = offsets[i]!;
      const t = person.totals;
      switch (m.kind) {
        case 'any':
          t[offset] = 1;
          break;
        case 'count':
          t[offset]! += 1;
          break;
        case 'sum':
          t[offset]! += Number(row[at(m.column!)] ?? 0);
          break;
        case 'category': {
          const own = levels[i]!;
          if (own.some((_, j) => t[offset + j] === 1)) break;
          const value = row[at(m.column!)];
          const level = own.indexOf(booleanColumn[i] ? String(value === 1) : String(value));
          if (level >= 0) t[offset + level] = 1;
          break;
        }
      }
    });
  }
  const values = new Uint32Array(persons.size * layout.length);
  const tuples: KeyTuple[] = [];
  let i = 0;
  for (const person of persons.values()) {
    tuples.push(computeKeys(recipes, (name) => person.row[at(name)]));
    layout.forEach((entry, e) => {
      if (entry.stat === 'sumSquares') return;
      const capped = entry.stat === 'sum' ? Math.min(entry.max, Math.max(0, Math.round(person.totals[e]!))) : person.totals[e]!;
      values[i * layout.length + e] = capped;
      if (entry.stat === 'sum') values[i * layout.length + e + 1] = capped * capped;
    });
    i += 1;
  }
  const minPersons = options.policy.sdc.minPersons;
  const groups: GroupRule[] = [{ name: 'cohort', minPersons }];
  if (analysis.comparison) groups.push({ name: 'comparison', minPersons, perCase: { of: 'cohort', most: analysis.comparison.controlsPerCase } });
  return {
    role: 'outcome',
    outcome,
    cohortNode: analysis.cohortNode,
    passNames: analysis.keys,
    fingerprints: recipes.map(recipeFingerprint),
    layout,
    tuples,
    values,
    groups,
  };
}
