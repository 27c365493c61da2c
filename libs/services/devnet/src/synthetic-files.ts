import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { generateSynthetic, type SynthOptions } from '@fedlab/synth';
import type { NodeDatasetFiles } from './local-network';

/** Writes the synthetic population's files under `outDir`; returns their relative paths. */
export function writeSyntheticData(outDir: string, options: SynthOptions): string[] {
  const written: string[] = [];
  for (const file of generateSynthetic(options)) {
    const target = path.join(outDir, file.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, file.content);
    written.push(file.path);
  }
  return written;
}

/**
 * Splits one synthetic dataset by its `region` column into one CSV per region, for a network of
 * regional nodes holding the same kind of data (regional health authorities, school boards). Returns
 * the dataset files of each regional node, keyed `${prefix}-${region}`.
 */
export function splitByRegion(
  dataDir: string,
  file: { dataset: string; csvPath: string; schemaPath: string },
  prefix: string,
  regions: readonly string[],
): Record<string, NodeDatasetFiles[]> {
  const [header, ...lines] = readFileSync(path.join(dataDir, file.csvPath), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0);
  const columns = parse(header!, { columns: false })[0] as string[];
  const regionAt = columns.indexOf('region');
  const byRegion = new Map<string, string[]>(regions.map((region) => [region, []]));
  // The synthetic CSV has one record per line (no quoted line breaks).
  for (const line of lines) byRegion.get((parse(line, { columns: false })[0] as string[])[regionAt]!)?.push(line);
  const out: Record<string, NodeDatasetFiles[]> = {};
  for (const region of regions) {
    const csvPath = path.join(dataDir, 'regional', `${file.dataset}-${region}.csv`);
    mkdirSync(path.dirname(csvPath), { recursive: true });
    writeFileSync(csvPath, `${[header, ...byRegion.get(region)!].join('\n')}\n`);
    out[`${prefix}-${region}`] = [{ dataset: file.dataset, csvPath, schemaPath: path.join(dataDir, file.schemaPath) }];
  }
  return out;
}
