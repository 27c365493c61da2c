import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createLocalNetwork } from '@fedlab/devnet';
import { createTempDir } from '@fedlab/testing';
import { integerOption } from './options';

const ROOT = path.resolve(__dirname, '../..');
const RELEASE = path.join(ROOT, 'dist/fedlab/fedlab.cjs');
const SOURCE = path.join(ROOT, 'bin/fedlab.js');

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (value: number) => `${value.toFixed(0)} ms`;

function timeCommand(args: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    execFileSync(process.execPath, args, { stdio: 'ignore' });
    times.push(performance.now() - started);
  }
  return median(times);
}

/**
 * Starts a daemon, and resolves with the time from spawn until `probe` on its admin endpoint answers 200
 * (a coordinator's /readyz needs an attached node, so it is measured to /healthz after its gRPC server
 * listens), and the process.
 */
async function timeToReady(args: string[], probe: '/readyz' | '/healthz'): Promise<{ ms: number; child: ChildProcess }> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const adminUrl = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^admin at (http:\S+)$/.exec(line);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
    const ready = await fetch(`${adminUrl}${probe}`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return { ms: performance.now() - started, child };
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/**
 * `npm run bench -- startup [--runs N]`: how fast the installed release starts, against `node -e 0`
 * measured in the same run — `fedlab --version`, a coordinator from spawn until it listens (/healthz
 * 200), and a node daemon from spawn until its /readyz answers 200 (attached to the coordinator). The source checkout's command
 * (TypeScript through tsx) is measured beside it for comparison.
 */
export async function startup(args: string[]): Promise<void> {
  const runs = integerOption(args, 'runs', 9);
  console.log('building the release (node scripts/build-release.mjs --no-pack) …');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-release.mjs'), '--no-pack'], { stdio: 'ignore' });

  const baseline = timeCommand(['-e', '0'], runs);
  const version = timeCommand([RELEASE, '--version'], runs);
  const help = timeCommand([RELEASE, '--help'], runs);
  const sourceVersion = timeCommand([SOURCE, '--version'], Math.min(runs, 5));

  const tmp = createTempDir();
  try {
    const net = await createLocalNetwork({ dir: tmp.path, nodes: ['health'], persons: 2000, seed: 3, logLevel: 'warn' });
    // Fix the coordinator's port (the first start picks one and writes it into every config), then measure.
    await net.startCoordinator();
    await net.stopCoordinator();
    const coordinatorTimes: number[] = [];
    let coordinator: ChildProcess | undefined;
    for (let i = 0; i < runs; i++) {
      const r = await timeToReady([RELEASE, 'coordinator', 'serve', '--config', net.coordinatorConfig], '/healthz');
      coordinatorTimes.push(r.ms);
      if (i < runs - 1) await stop(r.child);
      else coordinator = r.child;
    }
    const nodeTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await timeToReady([RELEASE, 'node', 'serve', '--config', net.nodeConfigs.health!], '/readyz');
      nodeTimes.push(r.ms);
      await stop(r.child);
    }
    await stop(coordinator!);

    const rows: Array<[string, number]> = [
      ['node -e 0 (baseline)', baseline],
      ['fedlab --version (release)', version],
      ['fedlab --help (release: loads every command)', help],
      ['fedlab --version (source checkout, tsx)', sourceVersion],
      ['coordinator serve → listening, /healthz 200 (release)', median(coordinatorTimes)],
      ['node serve → /readyz 200, attached (release)', median(nodeTimes)],
    ];
    console.log(`\nmedian of ${runs} runs (source --version: ${Math.min(runs, 5)})\n`);
    console.log('| | median | × node -e 0 |');
    console.log('|---|---|---|');
    for (const [name, value] of rows) console.log(`| ${name} | ${ms(value)} | ${(value / baseline).toFixed(1)} |`);
  } finally {
    tmp.cleanup();
  }
}
