/**
 * What the node's operator commands (`keys`, `node backup`, `node restore`) share: the node's own configuration
 * read as the node reads it, the chain as the organisation's admin (its MSP folder, over the ledger endpoint the
 * node's configuration names), and the node's and rotation's errors as CLI errors.
 */
import { readFile } from 'node:fs/promises';
import { connectToLedger } from '../../network/client/index.ts';
import { LevelDbBindingError } from '../../network/leveldb/binding-cpu.ts';
import { loadSigningIdentity } from '../../network/pki/index.ts';
import { AdminError } from '../admin/index.ts';
import { BackupError } from '../backup/index.ts';
import { loadNodeConfig, NodeConfigError, type NodeConfig } from '../config/index.ts';
import { KeyRotationError, type KeyRotationErrorCode } from '../keys/index.ts';
import { nodeTlsFiles, readTlsKeyPair } from '../node-certificates.ts';
import { ChainError, LianxinChain } from '../ledger/index.ts';
import type { CliIo } from './command.ts';
import { CliError, messageOf, type CliErrorCode } from './errors.ts';

/** @throws CliError `CONFIGURATION` naming the bad fields. */
export async function readNodeConfig(file: string, io: CliIo): Promise<NodeConfig> {
  try {
    return await loadNodeConfig(file, io.env);
  } catch (err) {
    if (err instanceof NodeConfigError) throw new CliError('CONFIGURATION', err.message, { cause: err });
    throw err;
  }
}

/** The chain as the organisation's admin (RotateKey, RevokeKey and UpdateNode take an admin's signature). */
export async function withAdminChain<T>(
  config: NodeConfig,
  adminMspDir: string,
  use: (chain: LianxinChain) => Promise<T>,
): Promise<T> {
  let connection;
  try {
    const [identity, tlsRootCertPem] = await Promise.all([
      loadSigningIdentity(adminMspDir, config.mspId),
      readFile(config.ledger.tlsCa, 'utf8'),
    ]);
    const clientTls = config.ledger.mutualTls ? await readTlsKeyPair(nodeTlsFiles(config.tls)) : undefined;
    connection = connectToLedger(
      {
        address: config.ledger.address,
        tlsRootCertPem,
        ...(config.ledger.hostAlias ? { hostAlias: config.ledger.hostAlias } : {}),
        ...(clientTls ? { clientTls } : {}),
      },
      identity,
    );
  } catch (err) {
    throw new CliError('CONFIGURATION', `cannot connect as the admin of ${config.mspId}: ${messageOf(err)}`, {
      cause: err,
    });
  }
  try {
    return await use(new LianxinChain(connection.gateway.getNetwork(config.ledger.channel), config.ledger.chaincode));
  } catch (err) {
    if (err instanceof ChainError) {
      throw new CliError('LEDGER_ERROR', `the ledger at ${config.ledger.address}: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    connection.close();
  }
}

/** Rotation, backup and admin-socket failures as one CLI line each. */
/** Where a rotation failed: a key file, the chain's registry, or the running node that did not reload. */
const KEY_ROTATION_CLI_CODE: Readonly<Record<KeyRotationErrorCode, CliErrorCode>> = {
  KEY_INVALID: 'FILE_ERROR',
  FILE_ERROR: 'FILE_ERROR',
  KEY_NOT_REGISTERED: 'LEDGER_ERROR',
  NODE_NOT_REGISTERED: 'LEDGER_ERROR',
  // The chain answered; what it holds and the key files disagree: the operator's to settle.
  REGISTRY_CONFLICT: 'CONFIGURATION',
  NODE_NOT_SWITCHED: 'NODE_ERROR',
};

export function operatorError(err: unknown): unknown {
  if (err instanceof AdminError) {
    return new CliError(err.code === 'BAD_REQUEST' ? 'USAGE' : 'NODE_ERROR', err.message, { cause: err });
  }
  if (err instanceof BackupError) {
    const code = err.code === 'FILE_ERROR' ? 'FILE_ERROR' : err.code === 'TARGET_NOT_EMPTY' ? 'USAGE' : 'INVALID_INPUT';
    return new CliError(code, err.message, { cause: err });
  }
  // This host's CPU cannot run the installed LevelDB build: an installation to redo here, said in one line.
  if (err instanceof LevelDbBindingError) return new CliError('CONFIGURATION', err.message, { cause: err });
  if (err instanceof KeyRotationError) {
    return new CliError(KEY_ROTATION_CLI_CODE[err.code], err.message, { cause: err });
  }
  return err;
}
