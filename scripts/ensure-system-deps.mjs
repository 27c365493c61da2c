// Makes sure the Debian packages the tests need are present: Chromium, for the browser test of the
// public register (driven by playwright-core, which never downloads a browser of its own), OpenSSL,
// whose command line makes the certificates of the TLS tests, and libsodium, which the native
// ristretto255 addon of the private intersection-sum loads (its tests require it), and PostgreSQL, whose
// servers the PostgreSQL engine's tests start (startPostgres in @fedlab/testing runs initdb and postgres
// from the newest /usr/lib/postgresql/<major>/bin).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';

let sharedLibraries;
const hasSharedLibrary = (name) => {
  try {
    sharedLibraries ??= execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim().split(' ')[0]);
  } catch {
    sharedLibraries = [];
  }
  return sharedLibraries.includes(name);
};
const hasPostgresServer = () => {
  try {
    return readdirSync('/usr/lib/postgresql').some((major) => existsSync(`/usr/lib/postgresql/${major}/bin/initdb`));
  } catch {
    return false;
  }
};
const PACKAGES = [
  { file: '/usr/bin/chromium', name: 'chromium', use: 'the browser tests' },
  { file: '/usr/bin/openssl', name: 'openssl', use: 'the TLS tests' },
  {
    file: 'libsodium.so.23',
    name: 'libsodium23',
    use: 'the native private intersection-sum',
    present: () => hasSharedLibrary('libsodium.so.23') || hasSharedLibrary('libsodium.so.26'),
  },
  { file: '/usr/lib/postgresql/*/bin/initdb', name: 'postgresql', use: 'the PostgreSQL engine tests', present: hasPostgresServer },
];
const missing = PACKAGES.filter((p) => !(p.present ? p.present() : existsSync(p.file)));
if (missing.length > 0) {
  const names = missing.map((p) => p.name);
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    console.error(
      `${missing.map((p) => p.file).join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing: install Debian's ${names.join(' and ')} (apt-get install ${names.join(' ')}) and run the tests again`,
    );
    process.exit(1);
  }
  console.log(`installing Debian ${names.join(' and ')} for ${missing.map((p) => p.use).join(' and ')} …`);
  if (names.includes('postgresql')) {
    // The tests make their own clusters: the package's own (main, on port 5432, started at install) is not wanted.
    mkdirSync('/etc/postgresql-common/createcluster.d', { recursive: true });
    writeFileSync('/etc/postgresql-common/createcluster.d/fedlab-tests.conf', 'create_main_cluster = false\n');
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...names], { stdio: 'inherit', env });
}
