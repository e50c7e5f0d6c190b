/**
 * What `network status` asks the ledger, through the official Fabric client as every reader does: the channel's
 * height (qscc GetChainInfo) and each institution's latest anchored checkpoint (its registered log origin, then
 * GetCheckpoint). It asks as the operator organisation's User1 — a client identity, no admin rights needed.
 */
import { readFile } from 'node:fs/promises';
import { connectToLedger } from '../../network/client/index.ts';
import { ledgerNode } from '../../network/consortium-ledger.ts';
import { loadSigningIdentity, orgPaths, type Consortium } from '../../network/pki/index.ts';
import { consortiumLedger } from '../../node/bootstrap/index.ts';
import { LianxinChain } from '../../node/ledger/index.ts';
import { CHAINCODE_NAME } from '../consortium-processes.ts';

export interface AnchoredState {
  /** Tree size of the latest anchored checkpoint. */
  readonly size: number;
  readonly anchoredAt: string;
}

export interface LedgerState {
  readonly height: bigint;
  /** By MSP ID: its node's latest anchored checkpoint, null when it anchored nothing yet or has no log registered. */
  readonly anchored: ReadonlyMap<string, AnchoredState | null>;
}

export async function queryLedger(
  o: Readonly<{ consortium: Consortium; cryptoDir: string; address: string; mspIds: readonly string[] }>,
): Promise<LedgerState> {
  const local = consortiumLedger(o.consortium, o.cryptoDir, o.address, CHAINCODE_NAME);
  const operator = ledgerNode(o.consortium).org;
  const identity = await loadSigningIdentity(
    orgPaths(o.cryptoDir, operator.mspId).user('User1').msp.dir,
    operator.mspId,
  );
  const endpoint = {
    address: local.address,
    tlsRootCertPem: await readFile(local.tlsCaFile, 'utf8'),
    hostAlias: local.hostAlias,
  };
  const connection = connectToLedger(endpoint, identity);
  try {
    const chain = new LianxinChain(connection.gateway.getNetwork(o.consortium.channel), CHAINCODE_NAME);
    const [info, anchored] = await Promise.all([
      chain.chainInfo(),
      Promise.all(
        o.mspIds.map(async (mspId): Promise<[string, AnchoredState | null]> => {
          const origin = (await chain.listNodes(mspId)).find((n) => n.origin !== '')?.origin;
          const checkpoint = origin === undefined ? undefined : await chain.getCheckpoint(origin);
          return [
            mspId,
            checkpoint === undefined ? null : { size: Number(checkpoint.size), anchoredAt: checkpoint.anchoredAt },
          ];
        }),
      ),
    ]);
    return { height: info.height, anchored: new Map(anchored) };
  } finally {
    connection.close();
  }
}
