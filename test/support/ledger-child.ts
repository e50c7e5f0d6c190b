/**
 * The demo consortium's embedded ledger in its own process, for crash tests and benchmarks:
 * `node --import tsx ledger-child.ts <cryptoDir> <dataDir> [basic|lianxin] [port]` starts it on a free port (or
 * `port`, to restart it where its clients expect it) with the asset-transfer fixture (`basic`, default) or the
 * Lianxin chaincode, prints `listening <host:port>` and stops cleanly on SIGTERM.
 */
import { consortiumLedgerOptions } from '../../network/consortium-ledger.ts';
import { createLedger } from '../../network/ledger/index.ts';
import { loadConsortium } from '../../network/pki/index.ts';
import { IN_PROCESS_CHAINCODE, quietChaincodeLogs } from './chaincode-network.ts';
import { CONSORTIUM_FILE } from './test-consortium.ts';
import { ASSET_CHAINCODE } from './test-ledger.ts';

const [cryptoDir, dataDir, chaincode = 'basic', port = '0'] = process.argv.slice(2);
if (
  cryptoDir === undefined ||
  dataDir === undefined ||
  !['basic', 'lianxin'].includes(chaincode) ||
  !/^\d{1,5}$/.test(port)
) {
  throw new Error('usage: ledger-child.ts <cryptoDir> <dataDir> [basic|lianxin] [port]');
}
if (chaincode === 'lianxin') quietChaincodeLogs();

const ledger = await createLedger(
  await consortiumLedgerOptions({
    consortium: await loadConsortium(CONSORTIUM_FILE),
    cryptoDir,
    dataDir,
    chaincodes: [chaincode === 'lianxin' ? IN_PROCESS_CHAINCODE : ASSET_CHAINCODE],
    port: Number(port),
  }),
);
process.once('SIGTERM', () => {
  void ledger.stop().then(() => process.exit(0));
});
process.stdout.write(`listening ${ledger.address}\n`);
