import { join } from 'node:path';
import { consortiumLedgerOptions } from '../../network/consortium-ledger.ts';
import { createLedger, type BatchOptions, type ChaincodeDeployment, type Ledger } from '../../network/ledger/index.ts';
import type { TestConsortium } from './test-consortium.ts';

export const ASSET_CONTRACT_DIR = new URL('../fixtures/asset-transfer', import.meta.url).pathname;

export const ASSET_CHAINCODE: ChaincodeDeployment = {
  kind: 'in-process',
  name: 'basic',
  contracts: ASSET_CONTRACT_DIR,
};

/** Starts the consortium's embedded ledger on a loopback port with its data under `dataDir`. */
export async function startTestLedger(
  members: TestConsortium,
  options: {
    dataDir?: string;
    chaincodes?: readonly ChaincodeDeployment[];
    batch?: Partial<BatchOptions>;
    mutualTls?: boolean;
    /** 0 (the default) picks a free port; a restart passes the port it had. */
    port?: number;
    /** The ledger's warnings for its operator (why a creator was refused). */
    onWarning?: (message: string) => void;
  } = {},
): Promise<Ledger> {
  return createLedger(
    await consortiumLedgerOptions({
      consortium: members.consortium,
      cryptoDir: members.cryptoDir,
      dataDir: options.dataDir ?? join(members.dir, 'ledger'),
      chaincodes: options.chaincodes ?? [ASSET_CHAINCODE],
      port: options.port ?? 0,
      ...(options.batch ? { batch: options.batch } : {}),
      ...(options.mutualTls ? { mutualTls: true } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    }),
  );
}
