import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateSynthetic, type SynthOptions } from '@fedlab/synth';

/** Writes the synthetic population's files under `outDir`; returns their relative paths. */
export function writeSyntheticData(outDir: string, options: SynthOptions): string[] {
  const written: string[] = [];
  for (const file of generateSynthetic(options)) {
    const target = path.join(outDir, file.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, file.content);
    written.push(file.path);
  }
  return written;
}
