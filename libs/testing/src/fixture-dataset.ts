import type { DatasetSchema } from '@fedlab/model';

/** A small clinic dataset with known contents, for integration tests. */
export const CLINIC_SCHEMA: DatasetSchema = {
  dataset: 'clinic_visits',
  description: 'Test fixture: clinic visits',
  person: 'patient_id',
  maxRecordsPerPerson: 2,
  columns: [
    { name: 'patient_id', type: 'text', role: 'identifier', nullable: false },
    { name: 'surname', type: 'text', role: 'identifier', nullable: false },
    { name: 'sex', type: 'text', role: 'quasi_identifier', nullable: false, values: ['F', 'M'] },
    { name: 'region', type: 'text', role: 'quasi_identifier', nullable: false, values: ['north', 'south', 'east'] },
    { name: 'birth_year', type: 'integer', role: 'quasi_identifier', nullable: false, bounds: [1950, 2009] },
    { name: 'visit_date', type: 'date', role: 'date', nullable: false },
    { name: 'diagnosis', type: 'text', role: 'attribute', nullable: false },
    { name: 'cost', type: 'real', role: 'attribute', nullable: false, bounds: [0, 200] },
  ],
};

export interface ClinicRow {
  patient_id: string;
  surname: string;
  sex: 'F' | 'M';
  region: 'north' | 'south' | 'east';
  birth_year: number;
  visit_date: string;
  diagnosis: string;
  cost: number;
}

/**
 * Deterministic rows: 200 patients with two visits each in north and south (100 F / 100 M),
 * and 6 patients in east (a small cell) with one visit each. Diagnosis "rare" occurs for 4 patients.
 */
export function clinicRows(): ClinicRow[] {
  const rows: ClinicRow[] = [];
  for (let i = 0; i < 200; i++) {
    for (let v = 0; v < 2; v++) {
      rows.push({
        patient_id: `P${String(i).padStart(4, '0')}`,
        surname: `Surname${i}`,
        sex: i % 2 === 0 ? 'F' : 'M',
        region: i < 120 ? 'north' : 'south',
        birth_year: 1960 + (i % 40),
        visit_date: `2024-0${1 + v * 3}-1${i % 10}`,
        diagnosis: i < 4 ? 'rare' : i % 3 === 0 ? 'flu' : 'checkup',
        cost: 50 + (i % 10) * 10 + v * 5,
      });
    }
  }
  for (let i = 0; i < 6; i++) {
    rows.push({ patient_id: `E${i}`, surname: `East${i}`, sex: 'F', region: 'east', birth_year: 1980, visit_date: '2024-05-05', diagnosis: 'flu', cost: 100 });
  }
  return rows;
}

/** The fixture as CSV text with a header row. */
export function clinicCsv(rows: ClinicRow[] = clinicRows()): string {
  const header = CLINIC_SCHEMA.columns.map((c) => c.name);
  return [header.join(','), ...rows.map((r) => header.map((h) => String(r[h as keyof ClinicRow])).join(','))].join('\n') + '\n';
}
