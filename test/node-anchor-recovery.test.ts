/**
 * An anchor the node learns from the chain after a crash (issue 8): the node died after its AnchorCheckpoint
 * committed and before it recorded the anchor, so on restart the anchorer takes the chain's record of it, which
 * keeps the transaction ID but not the block. A signed attestation names the block of its anchor: it must be the
 * real one, found again on the chain (qscc GetBlockByTxID), never a stand-in such as 0.
 *
 * Real parts: the embedded ledger with the Lianxin chaincode, the node's registered log key, LevelDB on disk. The
 * crash is the anchorer's process stopping for good right after the commit (its chain call never returns, so its
 * own record is never written); the restart is a new anchorer on the same store.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointAnchorer } from '../node/anchor/index.ts';
import { loadNodeConfig } from '../node/config/index.ts';
import type { Committed, AnchoredCheckpoint as ChainCheckpoint, LianxinChain } from '../node/ledger/index.ts';
import { openTransparencyLog, p256LogSigner, type TransparencyLog } from '../node/log/index.ts';
import { createLogger } from '../node/logging/index.ts';
import { RecordStore } from '../node/records/index.ts';
import { createAttestationBuilder } from '../node/services/attestation-builder.ts';
import { generateTestKey } from '../node/receipts/test-fixtures.ts';
import { openNodeDatabase, type NodeDatabase } from '../node/store/index.ts';
import { testUscc } from './support/chaincode-log.ts';
import { writeNodeProcessConfig } from './support/node-process.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';

let net: TestNetwork;
let dir: string;
let db: NodeDatabase;
let log: TransparencyLog;
let chain: LianxinChain;
let origin: string;

beforeAll(async () => {
  net = await startTestNetwork();
  // Registers the agency's node and its log key on the chain, as npm start does.
  const config = await writeNodeProcessConfig(net, AGENCY);
  origin = config.origin;
  const { keys } = await loadNodeConfig(config.configFile);
  dir = await mkdtemp(join(tmpdir(), 'anchor-recovery-'));
  db = await openNodeDatabase(join(dir, 'db'));
  log = await openTransparencyLog({
    db: db.log,
    origin,
    signer: p256LogSigner(createPrivateKey(await readFile(keys.log))),
    checkpointIntervalMs: 3_600_000,
    checkpointLeaves: 1_000_000,
  });
  chain = await net.chain(AGENCY);
});

afterAll(async () => {
  await log.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
  await net[Symbol.asyncDispose]();
});

const anchorerOn = (anchorChain: Pick<LianxinChain, 'anchorCheckpoint' | 'getCheckpoint' | 'blockNumberOf'>) =>
  CheckpointAnchorer.open({
    db: db.anchor,
    write: db.write,
    log,
    chain: anchorChain,
    logger: createLogger({ level: 'silent' }),
    retryInitialMs: 10,
    retryMaxMs: 100,
  });

describe('an anchor recovered from the chain after a crash', () => {
  it('carries the block number of its transaction into signed attestations, and keeps it', async () => {
    // Ledger traffic before the anchor: its block is not the first after genesis.
    await chain.listOrganizations();
    const records = new RecordStore({
      db: db.records,
      write: db.write,
      log,
      mspId: AGENCY,
      maxBatchRecords: 100,
      maxRecordBytes: 1024,
      usccMode: 'strict',
      backlog: () => ({ pending: 0, limit: 1_000, retryAfterMs: 1_000 }),
    });
    await records.ingest({
      requestId: 'r1',
      records: Array.from({ length: 5 }, (_, n) => ({
        subject: testUscc(n),
        kind: 'loan',
        version: 1,
        contentType: 'application/json',
        content: Buffer.from(JSON.stringify({ n })),
      })),
    });
    const checkpoint = await log.checkpoint();
    if (!checkpoint) throw new Error('no checkpoint');

    // The process that anchors it dies right after the commit: the anchorer never hears back, records nothing.
    let committed: (c: Committed<ChainCheckpoint>) => void = () => undefined;
    const commit = new Promise<Committed<ChainCheckpoint>>((resolve) => (committed = resolve));
    const dying = await anchorerOn({
      getCheckpoint: (o) => chain.getCheckpoint(o),
      blockNumberOf: (txId) => chain.blockNumberOf(txId),
      anchorCheckpoint: async (...args) => {
        committed(await chain.anchorCheckpoint(...args));
        return new Promise(() => undefined);
      },
    });
    await dying.enqueue(checkpoint);
    dying.start();
    const { transactionId, blockNumber } = await commit;
    expect(blockNumber).toBeGreaterThan(0n);

    // Restarted on the same store: nothing recorded, the chain ahead.
    const restarted = await anchorerOn(chain);
    expect(restarted.anchoredSize).toBe(0);
    await restarted.enqueue(checkpoint);
    restarted.start();
    await restarted.whenAnchored(checkpoint.size);
    await restarted.stop();

    const builder = createAttestationBuilder({
      log,
      anchorer: restarted,
      receiptKey: generateTestKey(),
      mspId: AGENCY,
      channel: net.members.consortium.channel,
      chaincode: 'lianxin',
      uncheckpointedRetryAfterMs: 1_000,
    });
    const attestation = await builder.attest(3);
    expect(attestation).toMatchObject({ state: 'EVIDENCE_STATE_ANCHORED' });
    expect(attestation.anchor).toMatchObject({ transactionId, blockNumber: Number(blockNumber) });

    // Recorded with its block number: read again without the chain, it is the same.
    const offline = await anchorerOn({
      getCheckpoint: () => Promise.reject(new Error('offline')),
      blockNumberOf: () => Promise.reject(new Error('offline')),
      anchorCheckpoint: () => Promise.reject(new Error('offline')),
    });
    expect(await offline.anchorCovering(3)).toMatchObject({ transactionId, blockNumber: Number(blockNumber) });
  });
});
