/**
 * Test helper run as a child process: commits blocks to the store in `argv[2]` forever, printing `acked <n>` once
 * each commitBlock resolves, so a test can SIGKILL it at an arbitrary point and check what survived.
 */
import { randomBytes } from 'node:crypto';
import { buildBlock, setTransactionsFilter } from '../block/index.ts';
import { openLedgerStore } from './level-ledger-store.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: test-crash-writer.ts <dir>');
const store = await openLedgerStore(dir);
const signer = { mspId: 'X', serializedIdentity: new Uint8Array(), sign: () => new Uint8Array() };
for (;;) {
  const info = store.blockchainInfo();
  const n = info.getHeight();
  const block = buildBlock({
    number: n,
    previousHash: info.getCurrentblockhash_asU8(),
    envelopes: [randomBytes(64)],
    ordererSigner: signer,
    lastConfigIndex: 0,
  });
  setTransactionsFilter(block, [0]);
  const updates = Array.from({ length: 20 }, (_, i) => ({
    namespace: 'cc',
    key: `k${String(i)}`,
    value: Buffer.from(String(n)),
    version: { blockNum: n, txNum: 0 },
  }));
  await store.commitBlock(block, updates);
  process.stdout.write(`acked ${String(n)}\n`);
}
