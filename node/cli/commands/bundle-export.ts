/**
 * `lianxin bundle export --out trust-bundle.json`: the consortium trust bundle that `lianxin verify` trusts,
 * read from the chain through the official Fabric client: the registry (organisations, every key ever
 * registered, every node's log origin) and each organisation's CA certificates from the channel's newest config
 * block (cscc GetConfigBlock), so a verifier trusts exactly the CAs the channel trusts, not a local folder.
 */
import { subcommand, type CommandDefinition } from '../command.ts';
import { CliError } from '../errors.ts';
import { writeOutFile } from '../replace-file.ts';
import { addLedgerOptions, resolveSettings } from '../settings.ts';

const DESCRIPTION = `Exports the consortium trust bundle for offline verification: organisations, registered keys (rotated and
revoked ones included, with their windows) and log origins from the chain's registry, and every
organisation's CA certificates from the channel's newest config block. Queries the ledger as --user of --msp.`;

export const bundleCommand: CommandDefinition = (parent, io) => {
  const bundle = subcommand(
    parent,
    'bundle',
    'bundle export: the consortium trust bundle, from the chain',
    DESCRIPTION,
  );
  const command = subcommand(bundle, 'export', 'write the trust bundle', DESCRIPTION).requiredOption(
    '-o, --out <file>',
    'where to write the bundle (JSON)',
  );
  addLedgerOptions(command).action(async (values: { out: string } & Record<string, unknown>) => {
    const [
      { ChainError },
      { exportTrustBundle, ReceiptsError },
      { trustBundleFingerprint },
      { nodeCrypto },
      { consortiumMember },
      { withLedger },
    ] = await Promise.all([
      import('../../ledger/index.ts'),
      import('../../receipts/index.ts'),
      import('../../verifier/trust-bundle.ts'),
      import('../../verifier/node-crypto.ts'),
      import('../connection.ts'),
      import('../ledger-connection.ts'),
    ]);
    const settings = await resolveSettings(values, io.env);
    const member = consortiumMember(settings);
    if (member === undefined) {
      throw new CliError('USAGE', '--msp and --crypto-dir are required (the identity to query as)');
    }
    const json = await withLedger(settings, async ({ chain, consortium, address }) => {
      try {
        return await exportTrustBundle(chain, consortium.channel, (mspId) =>
          io.stderr.write(
            `warning: ${mspId} is not a member of channel ${consortium.channel}: its entry has no CA certificates\n`,
          ),
        );
      } catch (err) {
        if (err instanceof ChainError) {
          throw new CliError('LEDGER_ERROR', `the ledger at ${address}: ${err.message}`, { cause: err });
        }
        if (!(err instanceof ReceiptsError)) throw err;
        throw new CliError('LEDGER_ERROR', `the registry does not make a valid trust bundle: ${err.message}`, {
          cause: err,
        });
      }
    });
    await writeOutFile(values.out, `${JSON.stringify(json, null, 2)}\n`);
    io.stdout.write(
      `exported ${values.out}: ${json.organizations.length} organisations, ${json.keys.length} keys, ` +
        `${json.origins.length} log origins (channel ${json.channel}); fingerprint ` +
        `${trustBundleFingerprint(json, nodeCrypto)} (the Verify page shows a fetched bundle's: compare them)\n`,
    );
  });
};
