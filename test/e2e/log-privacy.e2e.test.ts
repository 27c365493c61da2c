import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseCsv } from 'csv-parse/sync';
import { describe, expect } from 'vitest';
import { FEDLAB_BIN } from '@fedlab/devnet';
import { CLIENT_LIST_PATH, TRUTH_PERSONS_PATH } from '@fedlab/synth';
import { it } from '@fedlab/test-kit';

const run = promisify(execFile);

describe('the demo with debug logging', () => {
  it('writes no identifier of the synthetic population to any log line', { timeout: 300_000 }, async ({ tempDir }) => {
    const dir = path.join(tempDir, 'demo');
    const { stdout } = await run(process.execPath, [FEDLAB_BIN, 'demo', '--persons', '5000', '--seed', '4', '--log-level', 'debug', '--dir', dir], {
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(stdout).toContain('12. The public transparency log');
    const logsDir = path.join(dir, 'logs');
    const logs = readdirSync(logsDir).map((file) => ({ file, text: readFileSync(path.join(logsDir, file), 'utf8') }));
    // Debug logging really was on, and the daemons logged JSON lines with their query and node ids.
    const lines = logs.flatMap((l) =>
      l.text
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    );
    expect(lines.some((line) => line.level === 20)).toBe(true);
    expect(lines.filter((line) => typeof line.queryId === 'string').length).toBeGreaterThan(20);

    const persons = parseCsv(readFileSync(path.join(dir, 'data', TRUTH_PERSONS_PATH), 'utf8'), { columns: true }) as Array<Record<string, string>>;
    const clients = parseCsv(readFileSync(path.join(dir, 'data', CLIENT_LIST_PATH), 'utf8'), { columns: true }) as Array<Record<string, string>>;
    const identifiers = new Set<string>();
    for (const p of persons) {
      for (const column of ['health_number', 'student_id', 'client_id', 'offender_id']) if (p[column]) identifiers.add(p[column]!);
      identifiers.add(`${p.given_name} ${p.surname}`);
      identifiers.add(`"${p.surname}"`);
      identifiers.add(p.birth_date!);
    }
    for (const c of clients) {
      identifiers.add(`"${c.surname}"`);
      identifiers.add(c.date_of_birth!);
    }
    expect(identifiers.size).toBeGreaterThan(10_000);
    const found = logs.flatMap(({ file, text }) => [...identifiers].filter((value) => text.includes(value)).map((value) => `${file}: ${value}`));
    expect(found).toEqual([]);
  });
});
