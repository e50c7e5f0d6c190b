/**
 * Writes node/verifier/generated/evidence-descriptor.ts and exchange-descriptor.ts, the JSON descriptors of the
 * evidence and report-exchange messages that the verifier core (Node and browser alike) decodes attestations and
 * access receipt bundles with. Run by `npm run generate` after editing a .proto; commit the result.
 */
import { writeFileSync } from 'node:fs';
import { evidenceDescriptorModule, exchangeDescriptorModule } from '../node/verifier/evidence-descriptor.ts';

for (const [file, text] of [
  ['evidence-descriptor.ts', evidenceDescriptorModule()],
  ['exchange-descriptor.ts', exchangeDescriptorModule()],
] as const) {
  writeFileSync(new URL(`../node/verifier/generated/${file}`, import.meta.url), text);
  console.log(`generated node/verifier/generated/${file}`);
}
