// Builds the installable release (docs/deployment.md): one bundled file, fedlab.cjs, with the assets
// it locates beside itself, and the runtime dependencies it requires, packed by `npm pack` into
// dist/fedlab-<version>.tgz. The tarball bundles every dependency (bundleDependencies), so a ministry
// installs it on a machine without access to a registry:
//
//   npm install --global --offline dist/fedlab-0.1.0.tgz     (or --prefix /opt/fedlab)
//
//   node scripts/build-release.mjs            build dist/fedlab/ and pack it
//   node scripts/build-release.mjs --no-pack  build dist/fedlab/ only
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist/fedlab');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// 1. Our code, apps and libraries, in one CommonJS file; npm packages stay external (they are shipped below).
const result = buildSync({
  entryPoints: [path.join(root, 'bin/fedlab-release.ts')],
  outfile: path.join(out, 'fedlab.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  tsconfig: path.join(root, 'tsconfig.json'),
  define: { __FEDLAB_BUNDLED__: 'true', __FEDLAB_VERSION__: JSON.stringify(pkg.version) },
  banner: { js: '#!/usr/bin/env node' },
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
chmodSync(path.join(out, 'fedlab.cjs'), 0o755);

// 2. Files the code finds next to itself (libs/domain/model runtime-layout.ts: RUNNING_FROM_RELEASE).
copyFileSync(path.join(root, 'libs/adapters/crypto/src/ristretto-worker.js'), path.join(out, 'ristretto-worker.js'));
copyFileSync(path.join(root, 'libs/adapters/proto/src/gen/fedlab.binpb'), path.join(out, 'fedlab.binpb'));
cpSync(path.join(root, 'proto/fedlab'), path.join(out, 'proto/fedlab'), { recursive: true });
const addon = path.join(root, 'libs/adapters/crypto/native/build/Release/fedlab_ristretto.node');
if (existsSync(addon)) {
  mkdirSync(path.join(out, 'native'));
  copyFileSync(addon, path.join(out, 'native/fedlab_ristretto.node'));
} else {
  console.warn('build-release: the native ristretto addon is not built; the release runs the WebAssembly libsodium');
}
for (const doc of ['README.md']) copyFileSync(path.join(root, doc), path.join(out, doc));
if (existsSync(path.join(root, 'deploy'))) cpSync(path.join(root, 'deploy'), path.join(out, 'deploy'), { recursive: true });

// 3. The npm packages the bundle (and the ristretto worker) require, with everything they depend on.
const packageName = (specifier) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
const required = new Set(['libsodium-wrappers-sumo']); // the worker's own require
for (const output of Object.values(result.metafile.outputs)) {
  for (const imported of output.imports) if (imported.external && !imported.path.startsWith('node:')) required.add(packageName(imported.path));
}
const builtins = new Set([
  'fs',
  'path',
  'os',
  'crypto',
  'child_process',
  'worker_threads',
  'util',
  'stream',
  'events',
  'net',
  'http',
  'https',
  'zlib',
  'url',
  'tls',
  'http2',
  'dns',
  'readline',
  'module',
  'assert',
  'buffer',
  'v8',
]);
const topLevel = [...required].filter((name) => !builtins.has(name)).sort();
for (const name of topLevel) {
  if (!pkg.dependencies[name]) throw new Error(`build-release: the bundle requires "${name}", which is not in package.json dependencies`);
}

/** The directory Node would load `name` from, starting in `fromDir` (a package directory). */
function resolvePackage(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === root || dir === path.dirname(dir)) return undefined;
  }
}
const copied = new Set();
const skip = new Set(['obj.target', '.deps', 'test', 'tests', 'docs']);
function copyPackage(dir) {
  if (copied.has(dir)) return;
  copied.add(dir);
  const meta = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const isSqlite = meta.name === 'better-sqlite3';
  cpSync(dir, path.join(out, path.relative(root, dir)), {
    recursive: true,
    filter: (source) => {
      const rel = path.relative(dir, source);
      const first = rel.split(path.sep)[0];
      if (first === 'node_modules') return false; // nested packages are copied as dependencies below
      // The addon's sources and build files: it is already built, and npm would rebuild any package with a binding.gyp.
      if (isSqlite && (first === 'deps' || first === 'src' || first === 'binding.gyp')) return false;
      if (isSqlite && first === 'build') return ['build', path.join('build', 'Release'), path.join('build', 'Release', 'better_sqlite3.node')].includes(rel);
      return !skip.has(path.basename(source)) || rel === '';
    },
  });
  // Installing the tarball runs the bundled packages' install scripts: there is nothing left to build
  // or download (better-sqlite3's addon ships built for this Node ABI), so they are removed, and
  // better-sqlite3 is told to pack its built addon.
  const copiedMeta = path.join(out, path.relative(root, dir), 'package.json');
  const patched = JSON.parse(readFileSync(copiedMeta, 'utf8'));
  for (const script of ['preinstall', 'install', 'postinstall']) delete patched.scripts?.[script];
  if (isSqlite) {
    patched.files = [...(patched.files ?? []).filter((f) => f !== 'binding.gyp'), 'build/Release/better_sqlite3.node'];
    patched.gypfile = false;
  }
  writeFileSync(copiedMeta, `${JSON.stringify(patched, null, 2)}\n`);
  for (const dep of Object.keys({ ...meta.dependencies, ...meta.optionalDependencies })) {
    const found = resolvePackage(dep, dir);
    if (found) copyPackage(found);
    else if (!meta.optionalDependencies?.[dep]) throw new Error(`build-release: ${meta.name} needs ${dep}, which is not installed`);
  }
}
for (const name of topLevel) copyPackage(resolvePackage(name, root));

// 4. The release's package.json: no scripts, every dependency bundled.
const release = {
  name: pkg.name,
  version: pkg.version,
  description: pkg.description,
  license: pkg.license,
  engines: pkg.engines,
  bin: { fedlab: 'fedlab.cjs' },
  dependencies: Object.fromEntries(topLevel.map((name) => [name, pkg.dependencies[name]])),
  bundleDependencies: topLevel,
};
writeFileSync(path.join(out, 'package.json'), `${JSON.stringify(release, null, 2)}\n`);
console.log(`build-release: dist/fedlab (fedlab.cjs, ${copied.size} packages: ${topLevel.join(', ')})`);

if (!process.argv.includes('--no-pack')) {
  const tarball = execFileSync('npm', ['pack', '--pack-destination', path.join(root, 'dist'), '--silent'], { cwd: out, encoding: 'utf8' })
    .trim()
    .split('\n')
    .at(-1);
  console.log(`build-release: dist/${tarball}`);
}
