/**
 * The demo consortium's ledger with the Lianxin chaincode in its own process, for benchmarks that keep the load
 * generator off the ledger's event loop (bench/server-process.ts): `node --import tsx chaincode-ledger-child.ts
 * <cryptoDir> <dataDir>` prints `listening <host:port>` and stops cleanly on SIGTERM.
 */
import { consortiumLedgerOptions } from '../../network/consortium-ledger.ts';
import { createLedger } from '../../network/ledger/index.ts';
import { loadConsortium } from '../../network/pki/index.ts';
import { IN_PROCESS_CHAINCODE, quietChaincodeLogs } from './chaincode-network.ts';
import { CONSORTIUM_FILE } from './test-consortium.ts';

const [cryptoDir, dataDir] = process.argv.slice(2);
if (cryptoDir === undefined || dataDir === undefined)
  throw new Error('usage: chaincode-ledger-child.ts <cryptoDir> <dataDir>');

quietChaincodeLogs();
const ledger = await createLedger(
  await consortiumLedgerOptions({
    consortium: await loadConsortium(CONSORTIUM_FILE),
    cryptoDir,
    dataDir,
    chaincodes: [IN_PROCESS_CHAINCODE],
    port: 0,
  }),
);
process.once('SIGTERM', () => {
  void ledger.stop().then(() => process.exit(0));
});
process.stdout.write(`listening ${ledger.address}\n`);
