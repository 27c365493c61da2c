import type { Command } from 'commander';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import {
  createSignedRosterFile,
  governanceFingerprint,
  initCrypto,
  loadGovernanceFile,
  loadRosterFile,
  parseRoster,
  parseRosterText,
  signRosterFile,
  type SignedRosterFile,
  writeRosterFile,
} from '@fedlab/crypto';
import { parseGovernance, type RosterEntryJson } from '@fedlab/governance';
import { json, tlsOptions } from '../cli-common';
import { GovernanceClient } from '@fedlab/client';
import { FedlabError } from '@fedlab/model';
import { credentialsFromFlags, readKey, type ResearcherFlags } from '../researcher-context';

/** Registers the `fedlab` commands for governance stewards and rosters. */
export function registerGovernanceCommands(program: Command): void {
  // ── governance & roster ───────────────────────────────────────────────────────
  const governance = program.command('governance').description('the governance stewards whose signatures make a roster valid');
  governance
    .command('new')
    .description('write a governance file pinning stewards (public entries from `fedlab keys new --role steward`) and a threshold')
    .requiredOption('--out <file>', 'governance file to write')
    .option('--threshold <m>', 'signatures required (default 2)', (v) => Number.parseInt(v, 10), 2)
    .argument('<stewards...>', 'steward public entry files (*.pub.json)')
    .action(async (files: string[], o: { out: string; threshold: number }) => {
      await initCrypto();
      const stewards = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as RosterEntryJson).map((e) => ({ id: e.id, sign_public_key: e.sign_public_key }));
      const doc = { threshold: o.threshold, stewards };
      const parsed = parseGovernance(doc, o.out);
      writeFileSync(o.out, `${json(doc)}\n`, { flag: 'wx' });
      console.log(`${o.out}: ${o.threshold} of ${stewards.length} stewards; fingerprint ${governanceFingerprint(parsed)} (publish it: nodes pin it)`);
    });

  const roster = program.command('roster').description('the list of participants and their public keys, signed by governance stewards');
  roster
    .command('new')
    .description('start a roster file from public entries (*.pub.json); stewards then sign it')
    .requiredOption('--out <file>', 'signed roster file to write')
    .option('--roster-version <n>', 'roster version: higher than the one nodes hold', (v) => Number.parseInt(v, 10), 1)
    .argument('<entries...>', 'public entry files')
    .action(async (files: string[], o: { out: string; rosterVersion: number }) => {
      await initCrypto();
      const entries = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as RosterEntryJson);
      const file = createSignedRosterFile(entries, o.rosterVersion, new Date().toISOString());
      writeFileSync(o.out, `${json(file)}\n`);
      console.log(`${o.out}: roster version ${o.rosterVersion} with ${entries.length} participants, awaiting steward signatures`);
    });
  roster
    .command('sign')
    .description("add a governance steward's signature to a roster file")
    .requiredOption('--key <file>', "the steward's key file")
    .option('--passphrase-file <file>', "file holding the key file's passphrase (default: $FEDLAB_KEY_PASSPHRASE_FILE or $FEDLAB_KEY_PASSPHRASE, else asked)")
    .argument('<roster>', 'signed roster file (updated in place)')
    .action(async (file: string, o: { key: string; passphraseFile?: string }) => {
      await initCrypto();
      const signed = signRosterFile(JSON.parse(readFileSync(file, 'utf8')) as SignedRosterFile, await readKey(o.key, o));
      writeFileSync(file, `${json(signed)}\n`);
      console.log(`${file}: ${signed.signatures.length} signature(s)`);
    });
  roster
    .command('show')
    .description('print a roster; with --governance, verify its signatures first')
    .argument('<roster>', 'roster file')
    .option('--governance <file>', 'pinned governance file')
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: { governance?: string; json?: boolean }) => {
      await initCrypto();
      const r = loadRosterFile(file, o.governance ? { governance: loadGovernanceFile(o.governance) } : {}).toJson();
      if (o.json) return console.log(json(r));
      console.log(`roster version ${r.version}${o.governance ? ' (signatures verified)' : ''}`);
      for (const p of r.participants) console.log(`  ${p.role.padEnd(12)} ${p.id.padEnd(20)} ${p.display_name}`);
    });
  tlsOptions(
    roster
      .command('publish')
      .description(
        'verify a roster against the governance threshold, then publish it to the coordinator (which takes it without a restart) or write it to a file',
      )
      .argument('<roster>', 'signed roster file')
      .requiredOption('--governance <file>', 'pinned governance file')
      .option('--coordinator <host:port>', 'publish it to this coordinator (GovernanceService.PublishRoster)')
      .option('--out <file>', 'write it here instead (or as well)'),
  ).action(async (file: string, o: ResearcherFlags & { governance: string; out?: string }) => {
    await initCrypto();
    if (!o.coordinator && !o.out)
      throw new FedlabError('INVALID_ARGUMENT', 'pass --coordinator HOST:PORT to publish the roster to the coordinator, or --out FILE');
    const r = loadRosterFile(file, { governance: loadGovernanceFile(o.governance) });
    if (o.out) {
      copyFileSync(file, o.out);
      console.log(`published roster version ${r.version} (${r.all().length} participants) to ${o.out}`);
    }
    if (o.coordinator) {
      const gov = new GovernanceClient({ address: o.coordinator, credentials: credentialsFromFlags(o, o.coordinator) });
      try {
        const published = await gov.publishRoster(readFileSync(file, 'utf8'));
        console.log(`published roster version ${published.version} (${published.participants} participants) to the coordinator at ${o.coordinator}`);
      } finally {
        gov.close();
      }
    }
  });
  tlsOptions(
    roster
      .command('fetch')
      .description("fetch the coordinator's signed roster, verify it against the pinned governance, and write it (never an older version than the file holds)")
      .requiredOption('--coordinator <host:port>', 'coordinator address')
      .requiredOption('--governance <file>', 'pinned governance file')
      .requiredOption('--out <file>', "roster file to write (a node's roster_file, or a researcher's --roster)"),
  ).action(async (o: ResearcherFlags & { coordinator: string; governance: string; out: string }) => {
    await initCrypto();
    const governance = loadGovernanceFile(o.governance);
    const held = existsSync(o.out) ? loadRosterFile(o.out, { governance }).version : 0;
    const gov = new GovernanceClient({ address: o.coordinator, credentials: credentialsFromFlags(o, o.coordinator) });
    try {
      const { signedRoster } = await gov.fetchRoster();
      const r = parseRosterText(signedRoster, "the coordinator's roster", { governance, minVersion: held });
      writeRosterFile(o.out, signedRoster);
      console.log(`fetched roster version ${r.version} (${r.all().length} participants) into ${o.out}`);
    } finally {
      gov.close();
    }
  });
  roster
    .command('add')
    .description('development only: add public entries to an unsigned roster file (refused by nodes that pin governance)')
    .requiredOption('--roster <file>', 'unsigned roster file')
    .argument('<entries...>', 'public entry files')
    .action(async (entries: string[], o: { roster: string }) => {
      await initCrypto();
      const current = existsSync(o.roster) ? loadRosterFile(o.roster).toJson() : { version: 1, participants: [] as RosterEntryJson[] };
      for (const file of entries) {
        const entry = JSON.parse(readFileSync(file, 'utf8')) as RosterEntryJson;
        current.participants = current.participants.filter((p) => p.id !== entry.id).concat(entry);
      }
      parseRoster(current, o.roster);
      writeFileSync(o.roster, json(current));
      console.log(`${o.roster}: ${current.participants.length} participants`);
    });
}
