import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evidenceDescriptorModule, exchangeDescriptorModule } from './evidence-descriptor.ts';

describe('the committed protobuf descriptors', () => {
  it('evidence: is what proto/ generates today (run `npm run generate` after editing a .proto)', () => {
    const committed = readFileSync(new URL('generated/evidence-descriptor.ts', import.meta.url), 'utf8');
    expect(committed).toBe(evidenceDescriptorModule());
  });

  it('exchange: is what proto/ generates today (run `npm run generate` after editing a .proto)', () => {
    const committed = readFileSync(new URL('generated/exchange-descriptor.ts', import.meta.url), 'utf8');
    expect(committed).toBe(exchangeDescriptorModule());
  });
});
