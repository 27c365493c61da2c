// Makes sure the Debian packages the tests need are present: Chromium, for the browser test of the
// public register (driven by playwright-core, which never downloads a browser of its own), and
// OpenSSL, whose command line makes the certificates of the TLS tests.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PACKAGES = [
  { file: '/usr/bin/chromium', name: 'chromium', use: 'the browser tests' },
  { file: '/usr/bin/openssl', name: 'openssl', use: 'the TLS tests' },
];
const missing = PACKAGES.filter((p) => !existsSync(p.file));
if (missing.length > 0) {
  const names = missing.map((p) => p.name);
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    console.error(`${missing.map((p) => p.file).join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing: install Debian's ${names.join(' and ')} (apt-get install ${names.join(' ')}) and run the tests again`);
    process.exit(1);
  }
  console.log(`installing Debian ${names.join(' and ')} for ${missing.map((p) => p.use).join(' and ')} …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...names], { stdio: 'inherit', env });
}
