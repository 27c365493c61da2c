import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A fresh folder under the OS temp dir, removed by `cleanup()`: for code that runs outside vitest (the
 * benchmarks). Tests take the `tempDir` or `fileTempDir` fixture of test/support/fixtures.ts instead.
 */
export function createTempDir(prefix = 'fedlab-test-'): { path: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { path: dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
