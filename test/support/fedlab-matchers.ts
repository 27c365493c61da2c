import { expect } from 'vitest';
import { FedlabError, type ErrorCode } from '@fedlab/model';

/*
 * The test kit's one way to expect a refusal (issue 17): a FedlabError with this code and this exact
 * message (or matching this pattern). Registered for every test file by vitest.config.mts.
 *
 *   expect(() => parse(doc)).toThrowFedlabError('INVALID_QUERY', 'analysis.kind: unknown kind');
 *   await expect(client.submit(doc)).rejects.toThrowFedlabError('BUDGET_EXHAUSTED', /has rho 0 left/);
 */
interface FedlabErrorMatchers {
  toThrowFedlabError(code: ErrorCode, message: string | RegExp): void;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-explicit-any, @typescript-eslint/no-unused-vars
  interface Assertion<T = any> extends FedlabErrorMatchers {}
}

expect.extend({
  toThrowFedlabError(received: unknown, code: ErrorCode, message: string | RegExp) {
    let error: unknown = received;
    // A function is called (a sync throw); under `.rejects` the received value is already the rejection.
    if (typeof received === 'function') {
      error = undefined;
      try {
        (received as () => unknown)();
      } catch (thrown) {
        error = thrown;
      }
    }
    const describe = (e: unknown) => (e instanceof FedlabError ? `FedlabError ${e.code}: ${e.message}` : e === undefined ? 'nothing thrown' : String(e));
    const messageMatches = (m: string) => (typeof message === 'string' ? m === message : message.test(m));
    const pass = error instanceof FedlabError && error.code === code && messageMatches(error.message);
    return {
      pass,
      message: () => `expected ${pass ? 'not ' : ''}FedlabError ${code}: ${String(message)}\n     got ${describe(error)}`,
      actual: describe(error),
      expected: `FedlabError ${code}: ${String(message)}`,
    };
  },
});
