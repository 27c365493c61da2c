// Makes sure the Debian packages the tests need are present: Chromium, for the browser test of the
// public register (driven by playwright-core, which never downloads a browser of its own), OpenSSL,
// whose command line makes the certificates of the TLS tests, and libsodium, which the native
// ristretto255 addon of the private intersection-sum loads (its tests require it).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

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
const PACKAGES = [
  { file: '/usr/bin/chromium', name: 'chromium', use: 'the browser tests' },
  { file: '/usr/bin/openssl', name: 'openssl', use: 'the TLS tests' },
  {
    file: 'libsodium.so.23',
    name: 'libsodium23',
    use: 'the native private intersection-sum',
    present: () => hasSharedLibrary('libsodium.so.23') || hasSharedLibrary('libsodium.so.26'),
  },
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
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...names], { stdio: 'inherit', env });
}
