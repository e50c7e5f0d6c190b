/**
 * `lianxin bundle export --out trust-bundle.json`: the consortium trust bundle that `lianxin verify` trusts,
 * read from the on-chain registry through the official Fabric client (organisations, every key ever registered,
 * every node's log origin) plus each organisation's CA certificates from the crypto material.
 */
import { writeFile } from 'node:fs/promises';
import { loadOrgRootCerts, PkiError, type OrgRootCerts } from '../../../network/pki/index.ts';
import { buildTrustBundle, ReceiptsError } from '../../receipts/index.ts';
import { subcommand, type CliIo, type CommandDefinition } from '../command.ts';
import { consortiumMember } from '../connection.ts';
import { CliError, messageOf } from '../errors.ts';
import { configurationError, withLedger } from '../ledger-connection.ts';
import { addLedgerOptions, resolveSettings } from '../settings.ts';

const DESCRIPTION = `Exports the consortium trust bundle for offline verification: organisations, registered keys (rotated and
revoked ones included, with their windows) and log origins from the chain's registry, and every
organisation's CA certificates from the crypto dir. Queries the ledger as --user of --msp.`;

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
    const settings = await resolveSettings(values, io.env);
    const member = consortiumMember(settings);
    if (member === undefined) {
      throw new CliError('USAGE', '--msp and --crypto-dir are required (the identity to query as)');
    }
    const json = await withLedger(settings, async ({ chain, consortium }) => {
      const registry = await chain.registrySnapshot();
      const certificates = await Promise.all(
        registry.organizations.map((org) => rootCerts(io, member.cryptoDir, org.mspId)),
      );
      try {
        return buildTrustBundle({
          channel: consortium.channel,
          exportedAt: new Date(),
          ...registry,
          certificates: certificates.flatMap((c) => (c ? [c] : [])),
        });
      } catch (err) {
        if (!(err instanceof ReceiptsError)) throw err;
        throw new CliError('LEDGER_ERROR', `the registry does not make a valid trust bundle: ${err.message}`, {
          cause: err,
        });
      }
    });
    try {
      await writeFile(values.out, `${JSON.stringify(json, null, 2)}\n`);
    } catch (err) {
      throw new CliError('FILE_ERROR', `cannot write ${values.out}: ${messageOf(err)}`, { cause: err });
    }
    io.stdout.write(
      `exported ${values.out}: ${json.organizations.length} organisations, ${json.keys.length} keys, ` +
        `${json.origins.length} log origins (channel ${json.channel})\n`,
    );
  });
};

/** An organisation registered on chain whose material is not in this crypto dir gets no CA certificates. */
async function rootCerts(io: CliIo, cryptoDir: string, mspId: string): Promise<OrgRootCerts | undefined> {
  try {
    return await loadOrgRootCerts(cryptoDir, mspId);
  } catch (err) {
    if (!(err instanceof PkiError) || err.code !== 'MATERIAL_MISSING') throw configurationError(err);
    io.stderr.write(`warning: no CA certificates for ${mspId} in ${cryptoDir}: its entry has none\n`);
    return undefined;
  }
}
