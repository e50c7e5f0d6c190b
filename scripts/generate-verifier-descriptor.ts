/**
 * Writes node/verifier/generated/evidence-descriptor.ts, the JSON descriptor of the evidence messages that the
 * verifier core (Node and browser alike) decodes attestations with. Run by `npm run generate` after editing a
 * .proto; commit the result.
 */
import { writeFileSync } from 'node:fs';
import { evidenceDescriptorModule } from '../node/verifier/evidence-descriptor.ts';

const target = new URL('../node/verifier/generated/evidence-descriptor.ts', import.meta.url);
writeFileSync(target, evidenceDescriptorModule());
console.log('generated node/verifier/generated/evidence-descriptor.ts');
