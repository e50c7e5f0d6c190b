/**
 * `lianxin bundle export --out trust-bundle.json`: the consortium trust bundle that `lianxin verify` trusts,
 * read from the on-chain registry through the official Fabric client (organisations, every key ever registered,
 * every node's log origin) plus each organisation's CA certificates from the crypto material.
 * The ledger endpoint is given, or derived from the consortium YAML and crypto dir as `npm start` runs it: the
 * operator's peer on 127.0.0.1, its host alias, the operator's TLS CA.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { connectToLedger, type LedgerEndpoint } from '../../../network/client/index.ts';
import { ledgerNode } from '../../../network/consortium-ledger.ts';
import {
  loadOrgRootCerts,
  loadSigningIdentity,
  orgPaths,
  PkiError,
  type OrgRootCerts,
} from '../../../network/pki/index.ts';
import { ChainError, LianxinChain } from '../../ledger/index.ts';
import { buildTrustBundle, ReceiptsError, type TrustBundleJson } from '../../receipts/index.ts';
import { parseCommandLine, type CliIo, type Command } from '../command.ts';
import { checkAddress, consortiumMember, readConsortium, type ConsortiumMember } from '../connection.ts';
import { CliError, fileErrorReason, messageOf } from '../errors.ts';

const USAGE = `
usage: lianxin bundle export --out trust-bundle.json --crypto-dir dir --msp MSP [--user User1]
                             [--ledger host:port] [--ledger-tls-ca file] [--ledger-server-name name]
                             [--consortium file] [--chaincode lianxin]

Exports the consortium trust bundle for offline verification: organisations, registered keys (rotated and
revoked ones included, with their windows) and log origins from the chain's registry, and every
organisation's CA certificates from the crypto dir. Queries the ledger as --user of --msp.
  --out, -o file          where to write the bundle (JSON)
  --crypto-dir dir        consortium crypto material (env LIANXIN_CRYPTO_DIR)
  --msp MSP               the organisation to query as (env LIANXIN_MSP)
  --user name             its user (default User1, env LIANXIN_USER)
  --ledger host:port      the ledger's gateway (env LIANXIN_LEDGER; default: the consortium's ledger peer)
  --ledger-tls-ca file    CA of the ledger's TLS certificate (default: the operator organisation's TLS CA)
  --ledger-server-name n  name in the ledger's TLS certificate (default: the ledger peer's host alias)
  --consortium file       consortium YAML (default network/consortium.yaml, env LIANXIN_CONSORTIUM)
  --chaincode name        the Lianxin chaincode's name on the channel (default lianxin)`;

export const bundleCommand: Command = {
  name: 'bundle',
  summary: 'bundle export: the consortium trust bundle, from the chain',
  async run(args, io) {
    const parsed = parseCommandLine(
      args,
      {
        usage: USAGE,
        options: {
          out: { type: 'string', short: 'o' },
          'crypto-dir': { type: 'string' },
          msp: { type: 'string' },
          user: { type: 'string' },
          consortium: { type: 'string' },
          ledger: { type: 'string' },
          'ledger-tls-ca': { type: 'string' },
          'ledger-server-name': { type: 'string' },
          chaincode: { type: 'string', default: 'lianxin' },
        },
        positionals: [1, 1],
      },
      io,
    );
    if (!parsed) return;
    const { values } = parsed;
    if (parsed.positionals[0] !== 'export') {
      throw new CliError('USAGE', `bundle has one subcommand, export; got ${JSON.stringify(parsed.positionals[0])}`);
    }
    if (values.out === undefined) throw new CliError('USAGE', '--out is required');
    const member = consortiumMember(values, io.env);
    if (member === undefined)
      throw new CliError('USAGE', '--msp and --crypto-dir are required (the identity to query as)');
    const bundle = await exportTrustBundle(io, member, {
      ledger: values.ledger ?? io.env.LIANXIN_LEDGER,
      tlsCa: values['ledger-tls-ca'],
      serverName: values['ledger-server-name'],
      chaincode: values.chaincode,
    });
    try {
      await writeFile(values.out, `${JSON.stringify(bundle, null, 2)}\n`);
    } catch (err) {
      throw new CliError('FILE_ERROR', `cannot write ${values.out}: ${messageOf(err)}`, { cause: err });
    }
    io.stdout.write(
      `exported ${values.out}: ${bundle.organizations.length} organisations, ${bundle.keys.length} keys, ` +
        `${bundle.origins.length} log origins (channel ${bundle.channel})\n`,
    );
  },
};

interface LedgerChoice {
  readonly ledger: string | undefined;
  readonly tlsCa: string | undefined;
  readonly serverName: string | undefined;
  readonly chaincode: string;
}

async function exportTrustBundle(io: CliIo, member: ConsortiumMember, choice: LedgerChoice): Promise<TrustBundleJson> {
  const consortium = await readConsortium(member.consortiumFile);
  const ledger = configured(() => ledgerNode(consortium));
  const address = choice.ledger ?? `127.0.0.1:${ledger.peer.ports.grpc}`;
  checkAddress('--ledger', address);
  const userPaths = orgPaths(member.cryptoDir, member.mspId).user(member.user);
  // One after the other: when several files are missing, the first one is always the one reported.
  const tlsRootCertPem = await readText(choice.tlsCa ?? orgPaths(member.cryptoDir, ledger.org.mspId).tlsca.cert);
  const certPem = await readText(userPaths.tls.cert);
  const keyPem = await readText(userPaths.tls.key);
  const identity = await configuredAsync(() => loadSigningIdentity(userPaths.msp.dir, member.mspId));
  const endpoint: LedgerEndpoint = {
    address,
    tlsRootCertPem,
    hostAlias: choice.serverName ?? ledger.peer.host,
    // Presented in case the ledger requires mutual TLS.
    clientTls: { certPem, keyPem },
  };
  const connection = connectToLedger(endpoint, identity);
  try {
    const chain = new LianxinChain(connection.gateway.getNetwork(consortium.channel), choice.chaincode);
    const registry = await chain.registrySnapshot();
    const certificates = await Promise.all(
      registry.organizations.map((org) => rootCerts(io, member.cryptoDir, org.mspId)),
    );
    return buildTrustBundle({
      channel: consortium.channel,
      exportedAt: new Date(),
      ...registry,
      certificates: certificates.flatMap((c) => (c ? [c] : [])),
    });
  } catch (err) {
    if (err instanceof ChainError) {
      throw new CliError('LEDGER_ERROR', `the ledger at ${address}: ${err.message}`, { cause: err });
    }
    if (err instanceof ReceiptsError) {
      throw new CliError('LEDGER_ERROR', `the registry does not make a valid trust bundle: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  } finally {
    connection.close();
  }
}

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

function configured<T>(get: () => T): T {
  try {
    return get();
  } catch (err) {
    throw configurationError(err);
  }
}

async function configuredAsync<T>(get: () => Promise<T>): Promise<T> {
  try {
    return await get();
  } catch (err) {
    throw configurationError(err);
  }
}

function configurationError(err: unknown): CliError {
  return err instanceof CliError ? err : new CliError('CONFIGURATION', messageOf(err), { cause: err });
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot read ${file}: ${fileErrorReason(err)}`, { cause: err });
  }
}
