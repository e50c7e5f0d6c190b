/**
 * Operator command: issue the consortium's crypto material (DESIGN §8).
 *
 *   npm run crypto -- [--config network/consortium.yaml] [--out .data/crypto] [--force] [--regenerate-cas]
 *
 * Re-running keeps what exists and creates what is missing: append an institution to the YAML and run it again
 * to add that institution. An expired leaf certificate is reissued from its kept CA for its kept key. `--force`
 * reissues every leaf (users', nodes') from the kept CAs, each for its kept key (a leaf whose key file was removed
 * gets a new key); `--regenerate-cas` also replaces the CAs: new roots that the channel's MSP configuration and
 * every trust bundle handed out must then be given.
 */
import { parseArgs } from 'node:util';
import { describeGeneration, generateCryptoMaterial, loadConsortium, PkiError } from '../network/pki/index.ts';
import { isParseArgsError, USAGE_EXIT_CODE } from './usage-exit.ts';

const USAGE =
  'usage: npm run crypto -- [--config network/consortium.yaml] [--out .data/crypto] [--force] [--regenerate-cas]';

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', default: 'network/consortium.yaml' },
      out: { type: 'string', default: '.data/crypto' },
      force: { type: 'boolean', default: false },
      'regenerate-cas': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const consortium = await loadConsortium(values.config);
  const regenerateCas = values['regenerate-cas'];
  const report = await generateCryptoMaterial(consortium, values.out, { force: values.force, regenerateCas });
  for (const file of report.created) console.log(`created  ${file}`);
  for (const file of report.reissued) console.log(`reissued ${file} (its key kept)`);
  for (const file of report.kept) console.log(`kept     ${file}`);
  if (regenerateCas) {
    console.log(
      'NEW CAs: every organisation has new roots. The channel MSP configuration, the consortium TLS CA bundle and ' +
        'every copy of the old CAs handed out must be replaced with them, or nothing issued now is accepted.',
    );
  }
  const orgs = consortium.organizations.map((o) => o.mspId).join(', ');
  console.log(`${values.out}: ${describeGeneration(report)}, channel ${consortium.channel}, organizations ${orgs}`);
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
