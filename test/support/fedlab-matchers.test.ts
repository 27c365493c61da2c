import { describe, expect, it } from 'vitest';
import { FedlabError } from '@fedlab/model';

const refuse = () => {
  throw new FedlabError('BUDGET_EXHAUSTED', 'project "p" has rho 0 left of 1');
};

describe('toThrowFedlabError', () => {
  it('passes on the same code and exact message, or a matching pattern, thrown or rejected', async () => {
    expect(refuse).toThrowFedlabError('BUDGET_EXHAUSTED', 'project "p" has rho 0 left of 1');
    expect(refuse).toThrowFedlabError('BUDGET_EXHAUSTED', /has rho 0 left/);
    await expect(Promise.reject(new FedlabError('NOT_FOUND', 'query q-1 not found'))).rejects.toThrowFedlabError('NOT_FOUND', 'query q-1 not found');
  });

  it('fails on another code, another message, another error type, or nothing thrown', () => {
    expect(() => expect(refuse).toThrowFedlabError('BUDGET_INVALID', 'project "p" has rho 0 left of 1')).toThrow(
      'expected FedlabError BUDGET_INVALID: project "p" has rho 0 left of 1\n     got FedlabError BUDGET_EXHAUSTED: project "p" has rho 0 left of 1',
    );
    expect(() => expect(refuse).toThrowFedlabError('BUDGET_EXHAUSTED', 'project "p" has rho 1 left of 1')).toThrow(/got FedlabError BUDGET_EXHAUSTED/);
    expect(() =>
      expect(() => {
        throw new Error('plain');
      }).toThrowFedlabError('INTERNAL', 'plain'),
    ).toThrow('got Error: plain');
    expect(() => expect(() => 1).toThrowFedlabError('INTERNAL', 'x')).toThrow('got nothing thrown');
    expect(refuse).not.toThrowFedlabError('NOT_FOUND', 'x');
  });
});
