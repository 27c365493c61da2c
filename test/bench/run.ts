import os from 'node:os';
import { dp } from './dp';
import { evaluation } from './evaluation';
import { federatedVsCentral } from './federated-vs-central';
import { glmConverge } from './glm-converge';
import { glmDp } from './glm-dp';
import { glmNode } from './glm-node';
import { importBench } from './import';
import { linkageQuality } from './linkage-quality';
import { load } from './load';
import { pgImport } from './pg-import';
import { psi } from './psi';
import { scale } from './scale';
import { secagg } from './secagg';
import { startup } from './startup';
import { transparencyLog } from './transparency-log';

/** `npm run bench -- NAME`: runs one benchmark and prints machine info first. */
const BENCHMARKS: Record<string, (args: string[]) => Promise<void>> = {
  dp,
  evaluation,
  'federated-vs-central': federatedVsCentral,
  'glm-converge': glmConverge,
  'glm-dp': glmDp,
  'glm-node': glmNode,
  import: importBench,
  'linkage-quality': linkageQuality,
  load,
  'pg-import': pgImport,
  psi,
  scale,
  secagg,
  startup,
  'transparency-log': transparencyLog,
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  if (!name || !BENCHMARKS[name]) {
    console.error(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}> [options]`);
    process.exit(2);
  }
  console.log(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  await BENCHMARKS[name](args);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
