import type { ResultTable } from '@fedlab/model';
import * as pb from '@fedlab/proto';
import { describe, expect, it } from 'vitest';
import { resultTableFromProto, resultTableToProto } from './result-codec';

const TABLE: ResultTable = {
  kind: 'mean',
  dataset: 'claims',
  dimensions: ['region', 'year'],
  statistics: ['mean', 'count'],
  cells: [
    { key: ['north', 2023], stats: { mean: 412.75, count: 120 }, suppressed: null },
    { key: ['south', 2023], stats: null, suppressed: { rule: 'threshold', reason: 'fewer than 10 persons' } },
    { key: [null, 2024], stats: { mean: -3.5, count: 0 }, suppressed: null },
    { key: ['', 0], stats: null, suppressed: { rule: 'dominance', reason: 'one person holds more than 90 % of the total' } },
    { key: ['east', null], stats: null, suppressed: { rule: 'secondary', reason: 'protects a suppressed cell in the same margin' } },
  ],
  report: {
    rules: [
      { rule: 'threshold', parameters: { minPersons: 10 } },
      { rule: 'dominance', parameters: { n: 1, k: 0.9 } },
      { rule: 'rounding', parameters: {} },
    ],
    suppressedCells: 3,
    releasedCells: 2,
    notes: ['means of fewer than 10 values are suppressed', 'secondary suppression applied'],
  },
};

function throughBytes(table: ResultTable): ResultTable {
  return resultTableFromProto(pb.ResultTable.decode(pb.ResultTable.encode(resultTableToProto(table)).finish()));
}

describe('resultTableToProto and resultTableFromProto', () => {
  it('round-trip a table with released and suppressed cells exactly through encoded bytes', () => {
    expect(throughBytes(TABLE)).toStrictEqual(TABLE);
  });

  it('round-trip a histogram whose keys end with a numeric bin edge', () => {
    const histogram: ResultTable = {
      kind: 'histogram',
      dataset: 'labs',
      dimensions: ['bin'],
      statistics: ['count'],
      cells: [
        { key: [-1.5], stats: { count: 15 }, suppressed: null },
        { key: [6.5], stats: { count: 40 }, suppressed: null },
      ],
      report: { rules: [], suppressedCells: 0, releasedCells: 2, notes: [] },
    };
    expect(throughBytes(histogram)).toStrictEqual(histogram);
  });

  it('round-trip a table with no cells', () => {
    const empty: ResultTable = {
      kind: 'count',
      dataset: 'patients',
      dimensions: [],
      statistics: ['count'],
      cells: [],
      report: { rules: [], suppressedCells: 0, releasedCells: 0, notes: ['no rows matched'] },
    };
    expect(throughBytes(empty)).toStrictEqual(empty);
  });
});

describe('resultTableToProto', () => {
  it('encodes a null key value as isNull', () => {
    expect(resultTableToProto(TABLE).cells[2]!.key).toStrictEqual([{ kind: { $case: 'isNull', value: true } }, { kind: { $case: 'number', value: 2024 } }]);
  });

  it('encodes a released cell with its statistics and no suppression', () => {
    expect(resultTableToProto(TABLE).cells[0]).toStrictEqual({
      key: [{ kind: { $case: 'text', value: 'north' } }, { kind: { $case: 'number', value: 2023 } }],
      stats: [
        { name: 'mean', value: 412.75 },
        { name: 'count', value: 120 },
      ],
      suppressed: false,
      suppressionRule: '',
      suppressionReason: '',
    });
  });

  it('encodes a suppressed cell with no statistics and its rule and reason', () => {
    expect(resultTableToProto(TABLE).cells[1]).toStrictEqual({
      key: [{ kind: { $case: 'text', value: 'south' } }, { kind: { $case: 'number', value: 2023 } }],
      stats: [],
      suppressed: true,
      suppressionRule: 'threshold',
      suppressionReason: 'fewer than 10 persons',
    });
  });

  it('encodes the disclosure report with rule parameters as named statistics', () => {
    expect(resultTableToProto(TABLE).report).toStrictEqual({
      rules: [
        { rule: 'threshold', parameters: [{ name: 'minPersons', value: 10 }] },
        {
          rule: 'dominance',
          parameters: [
            { name: 'n', value: 1 },
            { name: 'k', value: 0.9 },
          ],
        },
        { rule: 'rounding', parameters: [] },
      ],
      suppressedCells: 3,
      releasedCells: 2,
      notes: ['means of fewer than 10 values are suppressed', 'secondary suppression applied'],
    });
  });
});

describe('resultTableFromProto', () => {
  it('reads a key value with no content as null', () => {
    const table = resultTableFromProto({
      kind: 'count',
      dataset: 'd',
      dimensions: ['region'],
      statistics: ['count'],
      cells: [{ key: [{ kind: undefined }], stats: [{ name: 'count', value: 12 }], suppressed: false, suppressionRule: '', suppressionReason: '' }],
      report: undefined,
      privacy: undefined,
    });
    expect(table.cells).toStrictEqual([{ key: [null], stats: { count: 12 }, suppressed: null }]);
  });

  it('reads a missing report as an empty report', () => {
    const table = resultTableFromProto({ kind: 'count', dataset: 'd', dimensions: [], statistics: [], cells: [], report: undefined, privacy: undefined });
    expect(table.report).toStrictEqual({ rules: [], suppressedCells: 0, releasedCells: 0, notes: [] });
  });

  it('drops any statistics sent alongside a suppressed cell', () => {
    const table = resultTableFromProto({
      kind: 'count',
      dataset: 'd',
      dimensions: ['region'],
      statistics: ['count'],
      cells: [
        {
          key: [{ kind: { $case: 'text', value: 'north' } }],
          stats: [{ name: 'count', value: 3 }],
          suppressed: true,
          suppressionRule: 'threshold',
          suppressionReason: 'fewer than 10 persons',
        },
      ],
      report: undefined,
      privacy: undefined,
    });
    expect(table.cells).toStrictEqual([{ key: ['north'], stats: null, suppressed: { rule: 'threshold', reason: 'fewer than 10 persons' } }]);
  });
});
