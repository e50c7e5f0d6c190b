/**
 * A channel config update as the consortium's admins make one with Fabric's tools (network/client/channel-config.ts
 * computes and signs it): connections as each organisation's admin from the crypto dir (the operator's first), the
 * channel's newest config, the signatures of a MAJORITY of the admins of the group the update changes (the default
 * `/Channel/Application/Admins` and `/Channel/Orderer/Admins` policies), the broadcast, and the wait for the config
 * block. The local demo holds every admin's key in <data-dir>/crypto; a real consortium collects them one by one.
 * Used by add-org.ts (membership) and batch-settings.ts (how the orderer cuts blocks).
 */
import { readFile } from 'node:fs/promises';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { common } from '@hyperledger/fabric-protos';
import {
  broadcast,
  configUpdateEnvelope,
  connectToLedger,
  fetchConfigBlock,
  statusName,
  type LedgerConnection,
} from '../../network/client/index.ts';
import { ledgerNode } from '../../network/consortium-ledger.ts';
import { readConfigMsps, type ChannelMsp } from '../../network/ledger/block/index.ts';
import { loadSigningIdentity, orgPaths, type Consortium, type SigningIdentity } from '../../network/pki/index.ts';
import { consortiumLedger, type AdminChain } from '../../node/bootstrap/index.ts';
import { LianxinChain } from '../../node/ledger/index.ts';
import { CHAINCODE_NAME } from '../consortium-processes.ts';

const CONFIG_BLOCK_TIMEOUT_MS = 30_000;

/**
 * A channel change that cannot be made as asked — the ledger refused it or does not answer, the admins here cannot
 * sign it, the consortium YAML lacks what it names: printed as one line, exit 1.
 */
export class ChannelChangeError extends Error {
  override readonly name = 'ChannelChangeError';
}

export interface ChannelAdminOptions {
  readonly consortium: Consortium;
  readonly cryptoDir: string;
  /** host:port of the ledger's gateway and orderer. */
  readonly ledgerAddress: string;
}

/** The channel's newest config, as cscc serves it. */
export interface ChannelConfig {
  readonly block: common.Block;
  readonly config: common.Config;
}

export interface AdminSession {
  readonly ledger: ReturnType<typeof consortiumLedger>;
  readonly asAdmin: AdminChain;
  /** The channel's newest config block and config. */
  current(): Promise<ChannelConfig>;
  /**
   * Applies the update `compute` makes of the newest config, signed by a majority of `group`'s admins, unless
   * `done` already holds of that config; returns the new config block's number once `done` holds of it.
   * `read`: the caller's `current()`, when it has just read it, so that it is not fetched again.
   */
  update(
    group: ChannelMsp['group'],
    compute: (config: common.Config) => common.ConfigUpdate,
    done: (now: ChannelConfig) => boolean,
    read?: ChannelConfig,
  ): Promise<number | undefined>;
}

/** Connections as each organisation's admin, closed when `use` settles. */
export async function withAdmins<T>(
  o: Readonly<ChannelAdminOptions>,
  use: (s: AdminSession) => Promise<T>,
): Promise<T> {
  const ledger = consortiumLedger(o.consortium, o.cryptoDir, o.ledgerAddress, CHAINCODE_NAME);
  const endpoint = {
    address: ledger.address,
    tlsRootCertPem: await readFile(ledger.tlsCaFile, 'utf8'),
    hostAlias: ledger.hostAlias,
  };
  const connections = new Map<string, LedgerConnection>();
  const adminOf = (mspId: string): Promise<SigningIdentity> =>
    loadSigningIdentity(orgPaths(o.cryptoDir, mspId).user('Admin').msp.dir, mspId);
  const connect = async (mspId: string): Promise<LedgerConnection> => {
    const known = connections.get(mspId);
    if (known) return known;
    const connection = connectToLedger(endpoint, await adminOf(mspId));
    connections.set(mspId, connection);
    return connection;
  };
  const operatorMsp = ledgerNode(o.consortium).org.mspId;
  const current = async (): Promise<ChannelConfig> => {
    const network = (await connect(operatorMsp)).gateway.getNetwork(o.consortium.channel);
    try {
      return await fetchConfigBlock(network);
    } catch (err) {
      // gRPC UNAVAILABLE or DEADLINE_EXCEEDED: nothing (or nothing that answers) at the address.
      const code = (err as { code?: unknown }).code;
      if (code !== grpcStatus.UNAVAILABLE && code !== grpcStatus.DEADLINE_EXCEEDED) throw err;
      throw new ChannelChangeError(`no answer from the ledger at ${o.ledgerAddress}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  };
  const session: AdminSession = {
    ledger,
    asAdmin: async (mspId) =>
      new LianxinChain((await connect(mspId)).gateway.getNetwork(o.consortium.channel), CHAINCODE_NAME),
    current,
    async update(group, compute, done, read) {
      const before = read ?? (await current());
      if (done(before)) return undefined;
      const members = readConfigMsps(before.config)
        .filter((m) => m.group === group)
        .map((m) => m.mspId);
      const signers = await majorityOfAdmins(group, members, adminOf, o.cryptoDir);
      const envelope = configUpdateEnvelope(compute(before.config), signers, await adminOf(operatorMsp));
      const response = await broadcast((await connect(operatorMsp)).client, envelope);
      if (statusName(response) !== 'SUCCESS') {
        throw new ChannelChangeError(
          `the orderer refused the config update: ${statusName(response)} -- ${response.getInfo()}`,
        );
      }
      const after = before.block.getHeader()?.getNumber() ?? 0;
      const deadline = Date.now() + CONFIG_BLOCK_TIMEOUT_MS;
      for (;;) {
        const newest = await current();
        const number = newest.block.getHeader()?.getNumber() ?? 0;
        if (number > after && done(newest)) return number;
        if (Date.now() > deadline) {
          throw new ChannelChangeError(
            `no config block applying the update within ${String(CONFIG_BLOCK_TIMEOUT_MS / 1000)} s`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  try {
    return await use(session);
  } finally {
    for (const c of connections.values()) c.close();
  }
}

/**
 * Admins of floor(n/2)+1 of the group's n organisations (implicitmeta.go MAJORITY), taken from the crypto dir in
 * the channel's order.
 */
async function majorityOfAdmins(
  group: ChannelMsp['group'],
  members: readonly string[],
  adminOf: (mspId: string) => Promise<SigningIdentity>,
  cryptoDir: string,
): Promise<SigningIdentity[]> {
  const needed = Math.floor(members.length / 2) + 1;
  const signers: SigningIdentity[] = [];
  for (const mspId of members) {
    if (signers.length === needed) break;
    try {
      signers.push(await adminOf(mspId));
    } catch {
      // Not held here: another member's admin signs instead.
    }
  }
  if (signers.length < needed) {
    throw new ChannelChangeError(
      `MAJORITY of ${String(members.length)} ${group} admins is ${String(needed)}, but only ${String(signers.length)} admins' keys are in ${cryptoDir}`,
    );
  }
  return signers;
}
