import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { stringify } from 'yaml';
import type { AggregateAnalysis } from '@fedlab/model';
import { compileAnalysis } from '@fedlab/query';
import { importCsv, openDatabase, NODE_MIGRATIONS, runQuery } from '@fedlab/store';
import { createLocalNetwork, startLocalNetwork } from '@fedlab/devnet';
import { parseQueryDocument } from '@fedlab/query';
import { createTempDir } from '@fedlab/testing';
import { seededRandom } from '@fedlab/synth';
import { VISITS_FILTERED_COUNT, VISITS_POLICY, VISITS_SCHEMA } from './visits';

const SCHEMA = VISITS_SCHEMA;
const DIAGNOSES = ['J06.9', 'F32.9', 'E11.9', 'I10', 'S52.5', 'Z00.0', 'Q86.0', 'M54.5'];
const REGIONS = ['north', 'south', 'east', 'west', 'central'];

/** The benchmarked query: a filtered group-by count, at most 4 visits per person, under DP (ρ = 0.05 at each node). */
const QUERY = { project: 'bench', purpose: 'research', privacy: { rho: 0.05 }, analysis: VISITS_FILTERED_COUNT };

async function writeCsv(file: string, rows: number, seed: number): Promise<void> {
  const next = seededRandom(seed);
  const out = createWriteStream(file);
  out.write('person_id,sex,region,birth_year,diagnosis,cost\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const person = Math.floor(i / 4);
    chunk += `S${seed}P${person},${person % 2 ? 'F' : 'M'},${REGIONS[person % 5]},${1930 + (person % 90)},${DIAGNOSES[Math.floor(next() * DIAGNOSES.length)]},${(20 + next() * 500).toFixed(2)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/**
 * Four node processes with `rowsPerNode` rows each against one SQLite file with all rows; the same
 * filtered group-by count. Reports the median ratio of federated end-to-end latency (signing, gRPC,
 * disclosure control, verification) to the central query, and each node's peak RSS.
 */
export async function federatedVsCentral(args: string[]): Promise<void> {
  const rowsPerNode = Number(args.find((a) => a.startsWith('--rows='))?.slice(7) ?? 1_000_000);
  const iterations = Number(args.find((a) => a.startsWith('--iterations='))?.slice(13) ?? 15);
  const nodes = ['node1', 'node2', 'node3', 'node4'];
  const tmp = createTempDir('fedlab-bench-');
  try {
    const dataDir = path.join(tmp.path, 'data');
    mkdirSync(dataDir);
    const schemaPath = path.join(dataDir, 'visits.schema.yaml');
    writeFileSync(schemaPath, stringify(SCHEMA));
    console.log(`generating ${nodes.length} × ${rowsPerNode.toLocaleString('en-CA')} rows …`);
    for (const [i, id] of nodes.entries()) await writeCsv(path.join(dataDir, `${id}.csv`), rowsPerNode, i + 1);

    console.log('building the central database (all rows in one SQLite file) …');
    const central = openDatabase(path.join(tmp.path, 'central.db'), NODE_MIGRATIONS);
    const allCsv = path.join(dataDir, 'all.csv');
    writeFileSync(allCsv, 'person_id,sex,region,birth_year,diagnosis,cost\n');
    for (const id of nodes)
      writeFileSync(
        allCsv,
        readFileSync(path.join(dataDir, `${id}.csv`), 'utf8')
          .split('\n')
          .slice(1)
          .join('\n'),
        { flag: 'a' },
      );
    await importCsv(central, { csvPath: allCsv, schema: SCHEMA });

    console.log('starting a coordinator and four node processes …');
    const net = await createLocalNetwork({
      dir: path.join(tmp.path, 'net'),
      nodes,
      persons: 0,
      seed: 0,
      logLevel: 'warn',
      datasets: (id) => [{ dataset: 'visits', csvPath: path.join(dataDir, `${id}.csv`), schemaPath }],
      projects: [{ id: 'bench', purpose: 'research', title: 'Benchmark', privacy: { visits: { rho: 1_000 } } }],
    });
    // The demo policy names synthetic datasets; allow the benchmark dataset instead.
    for (const config of Object.values(net.nodeConfigs)) {
      const policy = path.join(path.dirname(config), 'policy.yaml');
      writeFileSync(policy, stringify(VISITS_POLICY));
    }
    await startLocalNetwork(net);
    const client = await net.client('alice');
    const doc = parseQueryDocument({ ...QUERY, nodes });
    const analysis = doc.analysis as AggregateAnalysis;
    const compiled = compileAnalysis(analysis, SCHEMA);

    const centralOnce = () => {
      const t = process.hrtime.bigint();
      const rows = runQuery(central, compiled.sql, compiled.params);
      compiled.decode(rows);
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const federatedOnce = async () => {
      const t = process.hrtime.bigint();
      const { queryId } = await client.submit(doc);
      await client.watch(queryId);
      const result = await client.result(queryId);
      if (result.answers.length !== nodes.length || result.answers.some((a) => !a.table)) throw new Error('a node did not answer');
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    for (let i = 0; i < 2; i++) {
      centralOnce();
      await federatedOnce();
    }
    const centralMs: number[] = [];
    const federatedMs: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const c = centralOnce();
      const f = await federatedOnce();
      centralMs.push(c);
      federatedMs.push(f);
      ratios.push(f / c);
    }
    const rss = Object.entries(net.nodePids()).map(([id, pid]) => `${id} ${peakRssMiB(pid).toFixed(0)} MiB`);
    client.close();
    await net.stop();
    central.close();
    console.log(
      `\nfederated-vs-central: ${nodes.length} nodes × ${rowsPerNode.toLocaleString('en-CA')} rows vs 1 file × ${(nodes.length * rowsPerNode).toLocaleString('en-CA')} rows, ${iterations} iterations`,
    );
    console.log(`  central median   ${median(centralMs).toFixed(1)} ms`);
    console.log(`  federated median ${median(federatedMs).toFixed(1)} ms (end to end: sign, gRPC, 4 nodes, SDC, verify)`);
    console.log(`  median ratio federated/central: ${median(ratios).toFixed(2)} (target ≤ 1.5)`);
    console.log(`  peak RSS per node: ${rss.join(', ')}`);
  } finally {
    tmp.cleanup();
  }
}
