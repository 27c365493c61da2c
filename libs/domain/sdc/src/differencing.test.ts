import { describe, expect, it } from 'vitest';
import { tooCloseToEarlierGroup } from './differencing';

const group = (...members: string[]) => new Set(members);
const many = (n: number, prefix = 'p') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('tooCloseToEarlierGroup: the differencing rule', () => {
  it('allows the same group again, and a group that differs by at least the minimum', () => {
    const earlier = [group(...many(20))];
    expect(tooCloseToEarlierGroup(group(...many(20)), earlier, 10)).toBeUndefined();
    expect(tooCloseToEarlierGroup(group(...many(30)), earlier, 10)).toBeUndefined();
    expect(tooCloseToEarlierGroup(group(...many(10), ...many(10, 'q')), earlier, 10)).toBeUndefined();
  });

  it('refuses a group that differs by 1 to min − 1 members from any earlier one, in either direction', () => {
    const earlier = [group(...many(50, 'x')), group(...many(20))];
    expect(tooCloseToEarlierGroup(group(...many(21)), earlier, 10)).toBe(1);
    expect(tooCloseToEarlierGroup(group(...many(16)), earlier, 10)).toBe(4);
    // One person swapped for another: two members differ.
    expect(tooCloseToEarlierGroup(group(...many(19), 'someone-else'), earlier, 10)).toBe(2);
  });

  it('compares with nothing when there is no earlier group', () => {
    expect(tooCloseToEarlierGroup(group('a'), [], 10)).toBeUndefined();
  });
});
