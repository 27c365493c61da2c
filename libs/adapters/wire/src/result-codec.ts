import type { CellKey, DisclosureReport, ReleasePrivacy, ResultTable, SdcRule, AggregateKind } from '@fedlab/model';
import * as pb from '@fedlab/proto';

function keyToProto(key: CellKey): pb.CellValue[] {
  return key.map((v) =>
    v === null
      ? { kind: { $case: 'isNull', value: true } }
      : typeof v === 'number'
        ? { kind: { $case: 'number', value: v } }
        : { kind: { $case: 'text', value: v } },
  );
}

function keyFromProto(values: pb.CellValue[]): CellKey {
  return values.map((v) => (!v.kind || v.kind.$case === 'isNull' ? null : v.kind.value));
}

const toStats = (record: Record<string, number>): pb.Statistic[] => Object.entries(record).map(([name, value]) => ({ name, value }));
const fromStats = (stats: pb.Statistic[]): Record<string, number> => Object.fromEntries(stats.map((s) => [s.name, s.value]));

/** Converts a released result table to its wire form. */
export function resultTableToProto(table: ResultTable): pb.ResultTable {
  return {
    kind: table.kind,
    dataset: table.dataset,
    dimensions: table.dimensions,
    statistics: table.statistics,
    cells: table.cells.map((c) => ({
      key: keyToProto(c.key),
      stats: c.stats ? toStats(c.stats) : [],
      suppressed: c.suppressed !== null,
      suppressionRule: c.suppressed?.rule ?? '',
      suppressionReason: c.suppressed?.reason ?? '',
    })),
    report: {
      rules: table.report.rules.map((r) => ({ rule: r.rule, parameters: toStats(r.parameters) })),
      suppressedCells: table.report.suppressedCells,
      releasedCells: table.report.releasedCells,
      notes: table.report.notes,
    },
    privacy: table.privacy ? releasePrivacyToProto(table.privacy) : undefined,
  };
}

function releasePrivacyToProto(p: ReleasePrivacy): pb.ReleasePrivacy {
  return {
    rho: p.rho,
    epsilon: p.epsilon,
    delta: p.delta,
    maxRecordsPerPerson: p.maxRecordsPerPerson,
    noise: p.noise.map((n) => ({ statistic: n.statistic, sd: n.sd })),
  };
}

function releasePrivacyFromProto(p: pb.ReleasePrivacy): ReleasePrivacy {
  return {
    rho: p.rho,
    epsilon: p.epsilon,
    delta: p.delta,
    maxRecordsPerPerson: p.maxRecordsPerPerson,
    noise: p.noise.map((n) => ({ statistic: n.statistic, sd: n.sd })),
  };
}

/** Converts a wire result table back into the domain form. */
export function resultTableFromProto(table: pb.ResultTable): ResultTable {
  const report: DisclosureReport = {
    rules: (table.report?.rules ?? []).map((r) => ({ rule: r.rule as SdcRule, parameters: fromStats(r.parameters) })),
    suppressedCells: table.report?.suppressedCells ?? 0,
    releasedCells: table.report?.releasedCells ?? 0,
    notes: table.report?.notes ?? [],
  };
  return {
    kind: table.kind as AggregateKind,
    dataset: table.dataset,
    dimensions: table.dimensions,
    statistics: table.statistics,
    cells: table.cells.map((c) => ({
      key: keyFromProto(c.key),
      stats: c.suppressed ? null : fromStats(c.stats),
      suppressed: c.suppressed ? { rule: c.suppressionRule as SdcRule, reason: c.suppressionReason } : null,
    })),
    report,
    ...(table.privacy ? { privacy: releasePrivacyFromProto(table.privacy) } : {}),
  };
}
