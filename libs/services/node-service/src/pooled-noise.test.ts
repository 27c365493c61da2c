import { describe, expect, it } from 'vitest';
import { DEFAULT_PRIVACY_POLICY, FedlabError } from '@fedlab/model';
import { noiseSharing } from './pooled-noise';

describe('noiseSharing', () => {
  it('by default assumes as many colluders as the threshold tolerates, at least one', () => {
    const rows = [2, 3, 4, 5, 6, 7, 10].map((n) => {
      const s = noiseSharing(n, DEFAULT_PRIVACY_POLICY);
      return [n, s.threshold, s.colluding, s.honest];
    });
    expect(rows).toEqual([
      [2, 2, 1, 1],
      [3, 3, 1, 2],
      [4, 3, 1, 2],
      [5, 4, 1, 3],
      [6, 5, 1, 4],
      [7, 5, 2, 3],
      [10, 7, 3, 4],
    ]);
  });

  it("takes the steward's colluding_nodes as it is", () => {
    expect(noiseSharing(5, { ...DEFAULT_PRIVACY_POLICY, colludingNodes: 0 }).honest).toBe(4);
    expect(noiseSharing(5, { ...DEFAULT_PRIVACY_POLICY, colludingNodes: 3 }).honest).toBe(1);
  });

  it('refuses with NOISE_UNREACHABLE, naming the nodes needed, when no honest node is left', () => {
    expect(() => noiseSharing(2, { ...DEFAULT_PRIVACY_POLICY, colludingNodes: 2 })).toThrow(
      new FedlabError(
        'NOISE_UNREACHABLE',
        'a pooled result over 2 nodes is released once 2 of them take part, and this node assumes up to 2 may collude with the coordinator, ' +
          "so no honest node's share of the noise is certain to be in it; ask at least 3 nodes",
        { nodes: 2, threshold: 2, colluding: 2, needed: 3 },
      ),
    );
  });
});
