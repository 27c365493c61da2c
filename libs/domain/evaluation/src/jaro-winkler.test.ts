import { describe, expect, it } from 'vitest';
import { jaro, jaroWinkler } from './jaro-winkler';

describe('jaro', () => {
  // The name pairs of Winkler (1990) with their Jaro similarities, as asserted by Elixir's
  // String.jaro_distance tests (elixir-lang/elixir, lib/elixir/test/elixir/string_test.exs).
  it.each([
    ['MARTHA', 'MARHTA', 0.9444444444444445],
    ['MARTHA', 'MARHHA', 0.888888888888889],
    ['DWAYNE', 'DUANE', 0.8222222222222223],
    ['DIXON', 'DICKSONX', 0.7666666666666666],
    ['SHACKLEFORD', 'SHACKELFORD', 0.9696969696969697],
    ['DUNNINGHAM', 'CUNNIGHAM', 0.8962962962962964],
    ['NICHLESON', 'NICHULSON', 0.9259259259259259],
    ['JONES', 'JOHNSON', 0.7904761904761904],
    ['MASSEY', 'MASSIE', 0.888888888888889],
    ['ABROMS', 'ABRAMS', 0.888888888888889],
    ['HARDIN', 'MARTINEZ', 0.7222222222222222],
    ['ITMAN', 'SMITH', 0.4666666666666666],
    ['JERALDINE', 'GERALDINE', 0.9259259259259259],
    ['MICHELLE', 'MICHAEL', 0.8690476190476191],
    ['JULIES', 'JULIUS', 0.888888888888889],
    ['TANYA', 'TONYA', 0.8666666666666667],
    ['SEAN', 'SUSAN', 0.7833333333333333],
    ['JON', 'JOHN', 0.9166666666666666],
    ['JON', 'JAN', 0.7777777777777777],
    ['семена', 'стремя', 0.6666666666666666],
    ['Sunday', 'Saturday', 0.7194444444444444],
  ])('scores %s and %s %f', (a, b, expected) => {
    expect(jaro(a, b)).toBeCloseTo(expected, 12);
    expect(jaro(b, a)).toBeCloseTo(expected, 12);
  });

  it('halves the out-of-order count without rounding it down, unlike strcmp95', () => {
    // Matched x d i o n against d i x o n: three out of order, so t = 1.5. strcmp95 (and Elixir before it
    // fixed this) takes t = 1 and gets 0.785; Elixir's tests now assert 0.7518518518518519.
    expect(jaro('XDICKSONX', 'DIXON')).toBeCloseTo((5 / 9 + 5 / 5 + 3.5 / 5) / 3, 12);
    expect(jaro('XDICKSONX', 'DIXON')).toBeCloseTo(0.7518518518518519, 12);
  });

  it('scores identical strings 1, a string against an empty one 0, and strings with no match 0', () => {
    expect(jaro('', '')).toBe(1);
    expect(jaro('SMITH', 'SMITH')).toBe(1);
    expect(jaro('SMITH', '')).toBe(0);
    expect(jaro('', 'SMITH')).toBe(0);
    expect(jaro('ABC', 'XYZ')).toBe(0);
  });

  it('is case- and accent-sensitive (callers normalise first)', () => {
    expect(jaro('smith', 'SMITH')).toBe(0);
    expect(jaro('cote', 'côte')).toBeCloseTo((3 / 4 + 3 / 4 + 1) / 3, 12);
  });

  it('counts a character outside the Basic Multilingual Plane once', () => {
    expect(jaro('a𝒳b', 'a𝒳c')).toBeCloseTo((2 / 3 + 2 / 3 + 1) / 3, 12);
  });
});

describe('jaroWinkler', () => {
  // Wikipedia ("Jaro–Winkler distance") gives these three to three decimals.
  it.each([
    ['MARTHA', 'MARHTA', 0.961],
    ['DWAYNE', 'DUANE', 0.84],
    ['DIXON', 'DICKSONX', 0.813],
  ])('scores %s and %s %f', (a, b, expected) => {
    expect(jaroWinkler(a, b)).toBeCloseTo(expected, 3);
    expect(jaroWinkler(b, a)).toBeCloseTo(expected, 3);
  });

  // j + ℓ·0.1·(1 − j) from the Jaro values above, worked by hand: ℓ is the common prefix, at most 4.
  it.each([
    ['SHACKLEFORD', 'SHACKELFORD', 0.981818],
    ['DUNNINGHAM', 'CUNNIGHAM', 0.896296],
    ['NICHLESON', 'NICHULSON', 0.955556],
    ['JONES', 'JOHNSON', 0.832381],
    ['MASSEY', 'MASSIE', 0.933333],
    ['ABROMS', 'ABRAMS', 0.922222],
    ['JERALDINE', 'GERALDINE', 0.925926],
    ['MICHELLE', 'MICHAEL', 0.921429],
    ['JULIES', 'JULIUS', 0.933333],
    ['TANYA', 'TONYA', 0.88],
    ['SEAN', 'SUSAN', 0.805],
    ['JON', 'JOHN', 0.933333],
  ])('boosts %s and %s for their common prefix to %f', (a, b, expected) => {
    expect(jaroWinkler(a, b)).toBeCloseTo(expected, 6);
  });

  it('applies the prefix scale it is given', () => {
    expect(jaroWinkler('MARTHA', 'MARHTA', 0.2)).toBeCloseTo(0.944444 + 3 * 0.2 * (1 - 0.944444), 5);
  });

  it('counts at most maxPrefix characters of common prefix', () => {
    const j = jaro('PREFIXED', 'PREFIXES');
    expect(jaroWinkler('PREFIXED', 'PREFIXES')).toBeCloseTo(j + 4 * 0.1 * (1 - j), 12);
    expect(jaroWinkler('PREFIXED', 'PREFIXES', 0.1, 6)).toBeCloseTo(j + 6 * 0.1 * (1 - j), 12);
  });

  it('boosts Jaro similarities below 0.7 too (no boost threshold)', () => {
    expect(jaro('AB', 'AC')).toBeCloseTo(2 / 3, 12);
    expect(jaroWinkler('AB', 'AC')).toBeCloseTo(2 / 3 + 0.1 * (1 / 3), 12);
  });

  it('does not boost strings that differ in the first character', () => {
    expect(jaroWinkler('DUNNINGHAM', 'CUNNIGHAM')).toBe(jaro('DUNNINGHAM', 'CUNNIGHAM'));
  });

  it('scores identical strings 1 and unrelated strings 0', () => {
    expect(jaroWinkler('ROBERT', 'ROBERT')).toBe(1);
    expect(jaroWinkler('ABC', 'XYZ')).toBe(0);
  });
});
