import type { AggregateAnalysis, DatasetSchema } from '@fedlab/model';
import { compilePrivateAnalysis, type CompiledPrivateQuery, type PrivateCompileOptions } from '@fedlab/query';
import type { DatasetEngine } from '@fedlab/store';

/**
 * How the node's engine wants a dataset's statements compiled: its dialect, import order and person columns.
 * An engine that gives no import-order columns keeps a `rowid` (a PostgreSQL dataset fedlab imported too).
 */
export function compileOptions(engine: Pick<DatasetEngine, 'dialect' | 'hasPersonColumns' | 'importOrder'>, dataset: string): PrivateCompileOptions {
  const importOrder = engine.importOrder(dataset);
  return { dialect: engine.dialect, personColumns: engine.hasPersonColumns(dataset), ...(importOrder ? { importOrder } : { rowid: true }) };
}

/** Compiled statements kept per dataset schema (the engine's decoded schema: a new one after an import) and analysis. */
const compiledBySchema = new WeakMap<DatasetSchema, Map<string, CompiledPrivateQuery>>();
const COMPILED_KEPT = 256;

/**
 * {@link compilePrivateAnalysis}, or its earlier result for an equal analysis (as JSON) and options on the same
 * schema object: compiling is a pure function of the three, and researchers repeat the same few analyses.
 * An analysis that does not compile throws every time (nothing is kept for it). The result is shared: the
 * caller must not modify it.
 */
export function compilePrivateAnalysisOnce(analysis: AggregateAnalysis, schema: DatasetSchema, options: PrivateCompileOptions): CompiledPrivateQuery {
  let kept = compiledBySchema.get(schema);
  if (kept === undefined) {
    kept = new Map();
    compiledBySchema.set(schema, kept);
  }
  const key = JSON.stringify([analysis, options]);
  let compiled = kept.get(key);
  if (compiled === undefined) {
    compiled = compilePrivateAnalysis(analysis, schema, options);
    if (kept.size >= COMPILED_KEPT) kept.clear();
    kept.set(key, compiled);
  }
  return compiled;
}
