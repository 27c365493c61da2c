import { describe, expect, it } from 'vitest';
import { normaliseAscii, normaliseText, onlyDigits, parseCivilDate, plainValue, valueText } from './normalise';

describe('normaliseText', () => {
  it.each([
    ["  Côté-O'Brien ", 'côtéobrien'],
    ['MacKenzie', 'mackenzie'],
    ['Van der  Berg', 'vanderberg'],
    ['St-Pierre', 'stpierre'],
    ['Ji-woo', 'jiwoo'],
    ['Straße', 'strasse'],
    ['ΟΔΥΣΣΕΥΣ', 'οδυσσευσ'],
    ['Ｊｏｈｎ　Ｓｍｉｔｈ', 'johnsmith'],
    ['ﬁnn', 'finn'],
    ['a\u00a0b\tc\nd', 'abcd'],
    ['#1 (Jr.)', '1jr'],
  ])('normalises %j to %j', (input, expected) => {
    expect(normaliseText(input)).toBe(expected);
  });

  it('gives the same text for composed and decomposed accents', () => {
    expect(normaliseText('Cote\u0301')).toBe(normaliseText('Coté'));
  });
});

describe('normaliseAscii', () => {
  it.each([
    ["  Côté-O'Brien ", 'coteobrien'],
    ['Bélanger', 'belanger'],
    ['Müller', 'muller'],
    ['Wiśniewski', 'wisniewski'],
    ['Kovač', 'kovac'],
    ['Łódź', 'lodz'],
    ['Ærø', 'aero'],
    ['Œuvre', 'oeuvre'],
    ['Zoë', 'zoe'],
    ['Þór', 'thor'],
  ])('folds %j to %j', (input, expected) => {
    expect(normaliseAscii(input)).toBe(expected);
  });

  it('keeps letters of scripts without an ASCII spelling', () => {
    expect(normaliseAscii('李 伟')).toBe('李伟');
  });
});

describe('onlyDigits', () => {
  it('keeps the digits, full-width ones included', () => {
    expect(onlyDigits(' 1234-567 890 ')).toBe('1234567890');
    expect(onlyDigits('１２３')).toBe('123');
    expect(onlyDigits('n/a')).toBe('');
  });
});

describe('plainValue', () => {
  it('trims and removes control characters only', () => {
    expect(plainValue('  F \u001f')).toBe('F');
    expect(plainValue(' Mixed Case ')).toBe('Mixed Case');
  });
});

describe('valueText', () => {
  it('reads strings, finite numbers, bigints and booleans, and nothing else', () => {
    expect([valueText('x'), valueText(19850312), valueText(12n), valueText(false)]).toEqual(['x', '19850312', '12', 'false']);
    expect([valueText(null), valueText(undefined), valueText(Number.NaN), valueText({}), valueText(new Date(0))]).toEqual([null, null, null, null, null]);
  });
});

describe('parseCivilDate', () => {
  it('reads ISO and compact dates', () => {
    expect(parseCivilDate('1985-03-12')).toEqual({ year: 1985, month: 3, day: 12 });
    expect(parseCivilDate(' 19850312 ')).toEqual({ year: 1985, month: 3, day: 12 });
  });

  it('accepts 29 February only in leap years', () => {
    expect(parseCivilDate('20000229')).toEqual({ year: 2000, month: 2, day: 29 });
    expect(parseCivilDate('1900-02-29')).toBeNull();
  });

  it.each(['', '1985-3-12', '12/03/1985', '1985-13-01', '1985-04-31', '0000-01-01', '198503120', '1985-03-12T00:00'])('rejects %j', (text) => {
    expect(parseCivilDate(text)).toBeNull();
  });
});
