// Builds the native ristretto255 addon (libs/adapters/crypto/native) with node-gyp: the private
// intersection-sum's batch group operations and every Ed25519 signature on the system's libsodium, about
// twice as fast as its WebAssembly build. Runs after `npm ci` (postinstall) and before the tests.
//
//   node scripts/build-native.mjs             build if missing or out of date; a failure is a warning
//                                             (fedlab then runs the WebAssembly libsodium)
//   node scripts/build-native.mjs --required  the same, but a failure stops with exit code 1
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const required = process.argv.includes('--required');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'libs/adapters/crypto/native');
const output = path.join(dir, 'build/Release/fedlab_ristretto.node');
const sources = ['ristretto.c', 'noise.c', 'noise.h', 'napi-args.h', 'binding.gyp'].map((f) => path.join(dir, f));

const upToDate = existsSync(output) && sources.every((f) => statSync(f).mtimeMs <= statSync(output).mtimeMs);
if (!upToDate) {
  // npm sets npm_config_node_gyp in its scripts; otherwise use the node-gyp that ships with npm.
  const nodeGyp = process.env.npm_config_node_gyp ?? findNpmNodeGyp();
  // Build against the installed Node's own headers where they are (Debian's /usr/include/node),
  // never a download.
  const nodedir = process.env.npm_config_nodedir ?? (existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined);
  const args = [nodeGyp, 'rebuild', '--release', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  try {
    execFileSync(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const detail = String(error.stderr ?? error.message)
      .trim()
      .split('\n')
      .slice(-5)
      .join('\n');
    fail(`the native ristretto255 addon did not build (node-gyp needs python3, make and a C compiler):\n${detail}`);
  }
}

// Load it once, so a missing libsodium is reported here rather than at the first linkage query.
try {
  const addon = createRequire(import.meta.url)(output);
  if (!upToDate) console.log(`built the native ristretto255 addon (libsodium ${addon.version()})`);
} catch (error) {
  fail(`the native ristretto255 addon was built but does not load: ${error.message}`);
}

/** Stops with exit code 1 under --required; otherwise warns that the WebAssembly build will be used, and exits 0. */
function fail(message) {
  if (required) {
    console.error(message);
    process.exit(1);
  }
  console.warn(`${message}\nfedlab will run the private intersection-sum and Ed25519 signatures on the WebAssembly libsodium (about half the speed).`);
  process.exit(0);
}

function findNpmNodeGyp() {
  const candidates = [
    path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  ];
  const found = candidates.find((f) => existsSync(f));
  if (!found) {
    console.error('node-gyp was not found (it ships with npm); run this script through npm');
    process.exit(required ? 1 : 0);
  }
  return found;
}
