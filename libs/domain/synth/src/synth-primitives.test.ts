import { describe, expect, it } from 'vitest';
import { addMonths, addYears, ageOn, civilFromDays, daysFromCivil, formatDay, parseDay } from './civil-date';
import { CsvBuilder, csvField, csvLine } from './csv';
import { asciiFold, healthNumberTypo, recordIdentity, swapDayMonth, typo } from './identifier-noise';
import { createRng, WeightedChoice } from './prng';

describe('createRng', () => {
  it('repeats the same sequence for the same seed, stream and index', () => {
    const draw = (rng: ReturnType<typeof createRng>): number[] => Array.from({ length: 5 }, () => rng.nextUint32());
    expect(draw(createRng(7, 'health', 3))).toEqual(draw(createRng(7, 'health', 3)));
  });

  it('gives unrelated sequences for a different seed, stream or index', () => {
    const first = (seed: number, stream: string, index: number): number => createRng(seed, stream, index).nextUint32();
    const values = [first(7, 'health', 3), first(8, 'health', 3), first(7, 'justice', 3), first(7, 'health', 4), first(7 + 2 ** 32, 'health', 3)];
    expect(new Set(values).size).toBe(values.length);
  });

  it('draws integers in range with roughly uniform frequencies', () => {
    const rng = createRng(1, 'uniform');
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i += 1) counts[rng.int(4)] += 1;
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(400);
  });

  it('samples weighted choices in proportion to their weights', () => {
    const choice = new WeightedChoice(['a', 'b'], [1, 3]);
    const rng = createRng(2, 'weights');
    let b = 0;
    for (let i = 0; i < 40_000; i += 1) if (choice.sample(rng) === 'b') b += 1;
    expect(Math.abs(b / 40_000 - 0.75)).toBeLessThan(0.01);
  });
});

describe('civil dates', () => {
  it('agree with the JavaScript Date for every day from 1900 to 2100', () => {
    const start = daysFromCivil(1900, 1, 1);
    const end = daysFromCivil(2100, 12, 31);
    for (let day = start; day <= end; day += 1) {
      const expected = new Date(day * 86_400_000).toISOString().slice(0, 10);
      expect(formatDay(day)).toBe(expected);
    }
    expect(civilFromDays(0)).toEqual({ year: 1970, month: 1, day: 1 });
  });

  it('parses only real YYYY-MM-DD dates', () => {
    expect(parseDay('2024-02-29')).toBe(daysFromCivil(2024, 2, 29));
    expect(parseDay('2023-02-29')).toBeUndefined();
    expect(parseDay('2023-2-28')).toBeUndefined();
  });

  it('adds years and months, clamping to the end of shorter months', () => {
    expect(formatDay(addYears(daysFromCivil(2020, 2, 29), 1))).toBe('2021-02-28');
    expect(formatDay(addMonths(daysFromCivil(2021, 1, 31), 1))).toBe('2021-02-28');
    expect(formatDay(addMonths(daysFromCivil(2021, 11, 15), 3))).toBe('2022-02-15');
  });

  it('computes ages in completed years', () => {
    const birth = daysFromCivil(2000, 6, 15);
    expect(ageOn(birth, daysFromCivil(2018, 6, 14))).toBe(17);
    expect(ageOn(birth, daysFromCivil(2018, 6, 15))).toBe(18);
  });
});

describe('csv', () => {
  it('quotes cells with commas, quotes or line breaks per RFC 4180', () => {
    expect(csvField('Van der Berg')).toBe('Van der Berg');
    expect(csvField('Smith, Jr.')).toBe('"Smith, Jr."');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
  });

  it('writes NULL as an empty cell and booleans as true/false', () => {
    expect(csvLine(['a', null, undefined, true, false, 1.5, 0])).toBe('a,,,true,false,1.5,0\n');
  });

  it('builds a file from a header and records', () => {
    const builder = new CsvBuilder(['x', 'y']);
    for (let i = 0; i < 5_000; i += 1) builder.add([i, `v${i}`]);
    const content = builder.toString();
    expect(builder.rows).toBe(5_000);
    expect(content.startsWith('x,y\n0,v0\n1,v1\n')).toBe(true);
    expect(content.endsWith('4999,v4999\n')).toBe(true);
  });
});

describe('identifier noise', () => {
  it('always changes a name with a typo and keeps its first letter', () => {
    const rng = createRng(5, 'typos');
    for (const name of ['Li', 'Roy', 'Tremblay', 'Anna', 'Bob']) {
      for (let i = 0; i < 200; i += 1) {
        const mistyped = typo(rng, name);
        expect(mistyped).not.toBe(name);
        expect(mistyped[0]).toBe(name[0]);
      }
    }
  });

  it('always changes a health number with a typo', () => {
    const rng = createRng(5, 'numbers');
    for (let i = 0; i < 500; i += 1) expect(healthNumberTypo(rng, '1122334455')).not.toBe('1122334455');
  });

  it('drops accents', () => {
    expect(asciiFold('Côté')).toBe('Cote');
    expect(asciiFold('Wiśniewski')).toBe('Wisniewski');
    expect(asciiFold("O'Brien")).toBe("O'Brien");
  });

  it('swaps day and month only when the result is a different valid date', () => {
    expect(formatDay(swapDayMonth(daysFromCivil(1990, 3, 7)) as number)).toBe('1990-07-03');
    expect(swapDayMonth(daysFromCivil(1990, 3, 13))).toBeUndefined();
    expect(swapDayMonth(daysFromCivil(1990, 4, 4))).toBeUndefined();
  });

  it('returns the clean identity when every rate is zero, and never invents a health number', () => {
    const clean = { surname: 'Côté', givenName: 'William', birthDay: daysFromCivil(1990, 3, 7), healthNumber: null };
    const zero = { nickname: 0, givenNameTypo: 0, surnameTypo: 0, asciiFold: 0, dayMonthSwap: 0, healthNumberMissing: 0, healthNumberTypo: 0 };
    const one = { nickname: 1, givenNameTypo: 0, surnameTypo: 0, asciiFold: 1, dayMonthSwap: 1, healthNumberMissing: 0, healthNumberTypo: 1 };
    expect(recordIdentity(createRng(1, 'id'), clean, zero)).toEqual(clean);
    const noisy = recordIdentity(createRng(1, 'id'), clean, one);
    expect(noisy.surname).toBe('Cote');
    expect(['Bill', 'Will', 'Billy']).toContain(noisy.givenName);
    expect(formatDay(noisy.birthDay)).toBe('1990-07-03');
    expect(noisy.healthNumber).toBeNull();
  });
});
