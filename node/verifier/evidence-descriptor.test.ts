import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { verifierDescriptorModule } from './evidence-descriptor.ts';

describe('the committed protobuf descriptor', () => {
  it('is what proto/ generates today (run `npm run generate` after editing a .proto)', () => {
    const committed = readFileSync(new URL('generated/verifier-descriptor.ts', import.meta.url), 'utf8');
    expect(committed).toBe(verifierDescriptorModule());
  });
});
