/**
 * Entry point of the installed release (`npm run build:release` bundles it as fedlab.cjs): answers
 * `fedlab --version` before loading any command, then runs the CLI.
 */
declare const __FEDLAB_VERSION__: string;

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${__FEDLAB_VERSION__}\n`);
} else {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when a command runs
  require('./main');
}
