/**
 * Writes node/verifier/generated/verifier-descriptor.ts, the JSON descriptor of the evidence and report-exchange
 * messages that the verifier core (Node and browser alike) decodes attestations and access receipt bundles with.
 * Run by `npm run generate` after editing a .proto; commit the result.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { verifierDescriptorModule } from '../node/verifier/evidence-descriptor.ts';

const dir = new URL('../node/verifier/generated/', import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL('verifier-descriptor.ts', dir), verifierDescriptorModule());
console.log('generated node/verifier/generated/verifier-descriptor.ts');
