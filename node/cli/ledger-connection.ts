/**
 * How the CLI reaches the ledger (a Fabric Gateway: the embedded ledger or a Fabric 2.5 peer) through the
 * official client, for `bundle export` and `ledger info`. The endpoint is given (--ledger, or CORE_PEER_ADDRESS
 * as `peer` takes it), or derived from the consortium YAML as `npm start` runs it: the operator's peer on
 * 127.0.0.1, its host alias, the operator's TLS CA. The identity is the member's user in the crypto dir, or an
 * MSP folder (--msp-dir, CORE_PEER_MSPCONFIGPATH).
 */
import { readFile } from 'node:fs/promises';
import type { Network } from '@hyperledger/fabric-gateway';
import { connectToLedger, type LedgerEndpoint } from '../../network/client/index.ts';
import { ledgerNode } from '../../network/consortium-ledger.ts';
import { loadSigningIdentity, orgPaths, type Consortium } from '../../network/pki/index.ts';
import { DEFAULT_CHAINCODE } from '../config/constants.ts';
import { ChainError, LianxinChain } from '../ledger/index.ts';
import { checkAddress, consortiumMember, memberConsortium, readTlsClientPair } from './connection.ts';
import { CliError, fileErrorReason, messageOf } from './errors.ts';
import { DEFAULT_CONSORTIUM_FILE, sourceNote, type Settings } from './settings.ts';

export interface LedgerSession {
  readonly chain: LianxinChain;
  readonly network: Network;
  readonly consortium: Consortium;
  /** host:port dialled. */
  readonly address: string;
}

/**
 * Connects, runs `use`, closes. A chain error becomes CliError `LEDGER_ERROR` naming the address.
 * @throws CliError `USAGE` when no identity is named, `FILE_ERROR`/`CONFIGURATION` when material is missing.
 */
export async function withLedger<T>(settings: Settings, use: (session: LedgerSession) => Promise<T>): Promise<T> {
  const mspDir = settings['msp-dir']?.value;
  const msp = settings.msp;
  if (msp === undefined) {
    throw new CliError('USAGE', '--msp is required (the organisation to query as), with --crypto-dir or --msp-dir');
  }
  // An MSP folder is an identity of its own (a shell set up for `peer`): no crypto dir needed then.
  const member = mspDir !== undefined && settings['crypto-dir'] === undefined ? undefined : consortiumMember(settings);
  const consortiumFile = member?.consortiumFile ?? settings.consortium?.value ?? DEFAULT_CONSORTIUM_FILE;
  const consortium = await memberConsortium({ consortiumFile, mspId: msp.value, mspSource: msp });
  const ledger = configured(() => ledgerNode(consortium));
  const address = settings.ledger?.value ?? `127.0.0.1:${ledger.peer.ports.grpc}`;
  checkAddress(`--ledger${settings.ledger ? sourceNote(settings.ledger) : ''}`, address);
  const userPaths = member && orgPaths(member.cryptoDir, member.mspId).user(member.user);
  const tlsCaFile =
    settings['ledger-tls-ca']?.value ?? (member && orgPaths(member.cryptoDir, ledger.org.mspId).tlsca.cert);
  if (tlsCaFile === undefined) throw new CliError('USAGE', 'no TLS CA for the ledger: give --ledger-tls-ca');
  // One after the other: when several files are missing, the first one is always the one reported.
  const tlsRootCertPem = await readText(tlsCaFile);
  // Presented in case the ledger requires mutual TLS.
  const clientTls = userPaths && (await readTlsClientPair(userPaths.tls));
  const mspId = settings.msp?.value ?? '';
  const identity = await configuredAsync(() => loadSigningIdentity(mspDir ?? userPaths?.msp.dir ?? '', mspId));
  const endpoint: LedgerEndpoint = {
    address,
    tlsRootCertPem,
    hostAlias: settings['ledger-server-name']?.value ?? ledger.peer.host,
    ...(clientTls === undefined ? {} : { clientTls }),
  };
  const connection = connectToLedger(endpoint, identity);
  try {
    const network = connection.gateway.getNetwork(consortium.channel);
    const chain = new LianxinChain(network, settings.chaincode?.value ?? DEFAULT_CHAINCODE);
    return await use({ chain, network, consortium, address });
  } catch (err) {
    if (err instanceof ChainError) {
      throw new CliError('LEDGER_ERROR', `the ledger at ${address}: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    connection.close();
  }
}

export function configured<T>(get: () => T): T {
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

export function configurationError(err: unknown): CliError {
  return err instanceof CliError ? err : new CliError('CONFIGURATION', messageOf(err), { cause: err });
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot read ${file}: ${fileErrorReason(err)}`, { cause: err });
  }
}
