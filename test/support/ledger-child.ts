/**
 * A ledger process for crash tests: `node --import tsx ledger-child.ts <cryptoDir> <dataDir>` starts the demo
 * consortium's embedded ledger on a free port, prints `listening <host:port>` and stops cleanly on SIGTERM.
 */
import { consortiumLedgerOptions } from '../../network/consortium-ledger.ts';
import { createLedger } from '../../network/ledger/index.ts';
import { loadConsortium } from '../../network/pki/index.ts';
import { CONSORTIUM_FILE } from './test-consortium.ts';
import { ASSET_CHAINCODE } from './test-ledger.ts';

const [cryptoDir, dataDir] = process.argv.slice(2);
if (cryptoDir === undefined || dataDir === undefined) throw new Error('usage: ledger-child.ts <cryptoDir> <dataDir>');

const ledger = await createLedger(
  await consortiumLedgerOptions({
    consortium: await loadConsortium(CONSORTIUM_FILE),
    cryptoDir,
    dataDir,
    chaincodes: [ASSET_CHAINCODE],
    port: 0,
  }),
);
process.once('SIGTERM', () => {
  void ledger.stop().then(() => process.exit(0));
});
process.stdout.write(`listening ${ledger.address}\n`);
