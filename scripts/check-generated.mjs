// Fails when the committed ts-proto output in libs/adapters/proto/src/gen, or the compiled descriptor set
// served by server reflection (fedlab.binpb), differs from what `npm run generate` (`buf generate` and
// `buf build`) produces from proto/ now (STYLE.md: generated code is committed and checked for drift).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const committed = path.join(root, 'libs/adapters/proto/src/gen');
const scratch = mkdtempSync(path.join(tmpdir(), 'fedlab-gen-'));

function files(dir, prefix = '') {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full, path.join(prefix, name)) : [path.join(prefix, name)];
  });
}

try {
  execFileSync(path.join(root, 'node_modules/.bin/buf'), ['lint'], { cwd: root, stdio: 'inherit' });
  execFileSync(path.join(root, 'node_modules/.bin/buf'), ['generate', '--output', scratch], { cwd: root, stdio: 'inherit' });
  const fresh = path.join(scratch, 'libs/adapters/proto/src/gen');
  execFileSync(path.join(root, 'node_modules/.bin/buf'), ['build', '-o', path.join(fresh, 'fedlab.binpb')], { cwd: root, stdio: 'inherit' });
  const a = files(committed).sort();
  const b = files(fresh).sort();
  const drift = [...new Set([...a, ...b])].filter(
    (f) => !a.includes(f) || !b.includes(f) || !readFileSync(path.join(committed, f)).equals(readFileSync(path.join(fresh, f))),
  );
  if (drift.length > 0) {
    console.error(`generated code drifted from proto/: ${drift.join(', ')} — run \`npm run generate\` and commit`);
    process.exit(1);
  }
  console.log(`generated code is up to date (${a.length} files)`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
