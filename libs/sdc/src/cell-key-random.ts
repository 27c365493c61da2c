import { createHmac } from 'node:crypto';
import type { AggregateAnalysis } from '@fedlab/model';
import type { RoundingDraw } from './disclosure-control';

/**
 * Random-rounding draws as a keyed function of the cell (the "cell key" method): HMAC-SHA-256 under
 * a node secret over the dataset, analysis kind, dimensions, cell key, which count, and its true
 * value. The same cell always rounds the same way, so repeating a query, or asking variants that
 * leave a cell unchanged, cannot average the rounding away.
 */
export function cellKeyRandom(roundingKey: Uint8Array, analysis: AggregateAnalysis, dimensions: string[]): (draw: RoundingDraw) => number {
  return (draw) => {
    const mac = createHmac('sha256', roundingKey)
      .update(JSON.stringify([analysis.dataset, analysis.kind, 'column' in analysis ? analysis.column : '', dimensions, draw.key, draw.field, draw.value]))
      .digest();
    return mac.readUIntBE(0, 6) / 2 ** 48;
  };
}
