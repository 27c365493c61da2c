// Makes sure the Debian packages the tests need are present: Chromium, for the browser test of the
// public register (driven by playwright-core, which never downloads a browser of its own).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    console.error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) and run the tests again`);
    process.exit(1);
  }
  console.log('installing Debian chromium for the browser tests …');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
}
