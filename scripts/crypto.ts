/**
 * Operator command: issue the consortium's crypto material (DESIGN §8).
 *
 *   npm run crypto -- [--config network/consortium.yaml] [--out .data/crypto] [--force]
 *
 * Re-running keeps what exists and creates what is missing: append an institution to the YAML and run it again
 * to add that institution. `--force` regenerates every key and certificate.
 */
import { parseArgs } from 'node:util';
import { generateCryptoMaterial, loadConsortium, PkiError } from '../network/pki/index.ts';
import { isParseArgsError, USAGE_EXIT_CODE } from './usage-exit.ts';

const USAGE = 'usage: npm run crypto -- [--config network/consortium.yaml] [--out .data/crypto] [--force]';

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', default: 'network/consortium.yaml' },
      out: { type: 'string', default: '.data/crypto' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const consortium = await loadConsortium(values.config);
  const report = await generateCryptoMaterial(consortium, values.out, { force: values.force });
  for (const file of report.created) console.log(`created  ${file}`);
  for (const file of report.kept) console.log(`kept     ${file}`);
  const orgs = consortium.organizations.map((o) => o.mspId).join(', ');
  console.log(
    `${values.out}: ${report.created.length} files created, ${report.kept.length} kept, ` +
      `channel ${consortium.channel}, organizations ${orgs}`,
  );
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof PkiError) {
    console.error(`crypto: ${err.message}`);
  } else if (isParseArgsError(err)) {
    console.error(`crypto: ${err.message}\n${USAGE}`);
  } else {
    console.error(err);
  }
  process.exitCode = isParseArgsError(err) ? USAGE_EXIT_CODE : 1;
});
