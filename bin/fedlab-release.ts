/**
 * Entry point of the installed release (`npm run build:release` bundles it, with the three apps, as
 * fedlab.cjs). The same dispatch as bin/fedlab.js: `node serve` and `coordinator serve` are the daemon
 * apps, everything else the CLI; `fedlab --version` answers before any of them loads.
 */
declare const __FEDLAB_VERSION__: string;

const [first, second, ...rest] = process.argv.slice(2);
if (first !== undefined && second === undefined && rest.length === 0 && (first === '--version' || first === '-V')) {
  process.stdout.write(`${__FEDLAB_VERSION__}\n`);
} else if (first === 'node' && second === 'serve') {
  require('../apps/node/src/main');
} else if (first === 'coordinator' && second === 'serve') {
  require('../apps/coordinator/src/main');
} else {
  require('../apps/cli/src/main');
}
