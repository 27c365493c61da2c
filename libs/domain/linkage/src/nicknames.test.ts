import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalGivenName, NICKNAME_GROUPS } from './nicknames';
import { normaliseAscii } from './normalise';

// The generator's nickname table is internal to @fedlab/synth (its index does not export it): load it
// from its module so this test follows the table the synthetic identifiers are drawn from.
async function synthNicknames(): Promise<Readonly<Record<string, readonly string[]>>> {
  const module = (await import(path.resolve(__dirname, '../../synth/src/names.ts'))) as { NICKNAMES: Readonly<Record<string, readonly string[]>> };
  return module.NICKNAMES;
}

describe('canonicalGivenName', () => {
  it('maps nicknames and variants to the canonical name of their group', () => {
    expect(['bill', 'billy', 'will', 'willy', 'william'].map(canonicalGivenName)).toEqual(Array(5).fill('william'));
    expect(['bob', 'rob', 'robbie'].map(canonicalGivenName)).toEqual(['robert', 'robert', 'robert']);
    expect(['liz', 'beth', 'betty', 'eliza'].map(canonicalGivenName)).toEqual(Array(4).fill('elizabeth'));
    expect(['kate', 'katie', 'kathy'].map(canonicalGivenName)).toEqual(['katherine', 'katherine', 'katherine']);
  });

  it('puts names that share a nickname in one group', () => {
    expect(canonicalGivenName('samantha')).toBe(canonicalGivenName('samuel'));
    expect(canonicalGivenName('stephen')).toBe(canonicalGivenName('steven'));
  });

  it('leaves a name in no group as it is', () => {
    expect(canonicalGivenName('priya')).toBe('priya');
  });

  it('lists every name in one group only, in normaliseAscii form', () => {
    const names = Object.entries(NICKNAME_GROUPS).flatMap(([canonical, variants]) => [canonical, ...variants]);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
    expect(names.filter((name) => normaliseAscii(name) !== name)).toEqual([]);
  });

  it('maps every nickname of the synthetic generator to the canonical form of its given name', async () => {
    const nicknames = await synthNicknames();
    const misses = Object.entries(nicknames).flatMap(([given, variants]) =>
      variants
        .filter((nickname) => canonicalGivenName(normaliseAscii(nickname)) !== canonicalGivenName(normaliseAscii(given)))
        .map((nickname) => `${nickname} → ${given}`),
    );
    expect(Object.keys(nicknames).length).toBeGreaterThan(50);
    expect(misses).toEqual([]);
  });
});
