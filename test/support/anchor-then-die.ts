/**
 * Test helper run as a child process on an institution node's config (`anchor-then-die.ts <node.yaml> <from>
 * <count>`): with the node's own store, keys and ledger identity, it ingests `count` records (subjects from
 * testUscc(from)), signs a checkpoint and anchors it through the node's anchorer, and SIGKILLs itself as soon as
 * the AnchorCheckpoint transaction has committed: the node's process dies before it records the anchor, the crash
 * window in which the chain holds an anchor the node does not know. Prints `committed <txid> <block>` first.
 */
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectToLedger } from '../../network/client/index.ts';
import { loadSigningIdentity } from '../../network/pki/index.ts';
import { CheckpointAnchorer } from '../../node/anchor/index.ts';
import { loadNodeConfig } from '../../node/config/index.ts';
import { LianxinChain } from '../../node/ledger/index.ts';
import { openTransparencyLog, p256LogSigner } from '../../node/log/index.ts';
import { createLogger } from '../../node/logging/index.ts';
import { RecordStore } from '../../node/records/index.ts';
import { openNodeDatabase } from '../../node/store/index.ts';
import { testUscc } from './chaincode-log.ts';

const [configFile, fromArg, countArg] = process.argv.slice(2);
if (configFile === undefined) throw new Error('usage: anchor-then-die.ts <node.yaml> <from> <count>');
const config = await loadNodeConfig(configFile, process.env);
const db = await openNodeDatabase(join(config.dataDir, 'db'));
const log = await openTransparencyLog({
  db: db.log,
  origin: `lianxin/${config.mspId}/${config.shard}`,
  signer: p256LogSigner(createPrivateKey(await readFile(config.keys.log))),
  checkpointIntervalMs: 3_600_000,
  checkpointLeaves: 1_000_000,
});
const records = new RecordStore({
  db: db.records,
  write: db.write,
  log,
  mspId: config.mspId,
  maxBatchRecords: config.ingest.maxBatchRecords,
  maxRecordBytes: config.ingest.maxRecordBytes,
  usccMode: config.ingest.usccMode,
  backlog: () => ({ pending: 0, limit: Number.MAX_SAFE_INTEGER, retryAfterMs: 1_000 }),
});
const from = Number(fromArg ?? 0);
await records.ingest({
  requestId: `before-crash-${from}`,
  records: Array.from({ length: Number(countArg ?? 1) }, (_, i) => ({
    subject: testUscc(from + i),
    kind: 'loan',
    version: 1,
    contentType: 'application/json',
    content: Buffer.from(JSON.stringify({ n: from + i })),
  })),
});
const checkpoint = await log.checkpoint();
if (checkpoint === undefined) throw new Error('nothing to anchor');

const { ledger } = config;
const connection = connectToLedger(
  {
    address: ledger.address,
    tlsRootCertPem: await readFile(ledger.tlsCa, 'utf8'),
    ...(ledger.hostAlias ? { hostAlias: ledger.hostAlias } : {}),
    ...(ledger.mutualTls
      ? {
          clientTls: {
            certPem: await readFile(config.tls.cert, 'utf8'),
            keyPem: await readFile(config.tls.key, 'utf8'),
          },
        }
      : {}),
  },
  await loadSigningIdentity(config.identity.mspDir, config.mspId),
);
const chain = new LianxinChain(connection.gateway.getNetwork(ledger.channel), ledger.chaincode);
const anchorer = await CheckpointAnchorer.open({
  db: db.anchor,
  write: db.write,
  log,
  chain: {
    getCheckpoint: (origin) => chain.getCheckpoint(origin),
    blockNumberOf: (transactionId) => chain.blockNumberOf(transactionId),
    async anchorCheckpoint(...args) {
      const committed = await chain.anchorCheckpoint(...args);
      process.stdout.write(`committed ${committed.transactionId} ${committed.blockNumber}\n`, () => {
        process.kill(process.pid, 'SIGKILL');
      });
      return new Promise(() => undefined);
    },
  },
  logger: createLogger({ level: 'warn', destination: process.stderr }),
  retryInitialMs: config.outbox.retryInitialMs,
  retryMaxMs: config.outbox.retryMaxMs,
});
await anchorer.enqueue(checkpoint);
anchorer.start();
