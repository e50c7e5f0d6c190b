/**
 * The node's chain index (node/chain-index) against the embedded ledger with the Lianxin chaincode: it follows
 * the Anchored events of every origin, numbers versions in chain order, and resumes after a stop from its stored
 * position without applying an anchor twice.
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainIndex } from '../node/chain-index/index.ts';
import { LianxinChain } from '../node/ledger/index.ts';
import { openNodeDatabase, type NodeDatabase } from '../node/store/index.ts';
import { RecordLog, testUscc } from './support/chaincode-log.ts';
import {
  AGENCY,
  AGENCY2,
  BANK,
  CHAINCODE_NAME,
  onboardConsortium,
  registerLogNode,
  startLianxinNetwork,
  type LianxinNetwork,
  type LogNode,
} from './support/chaincode-network.ts';
import { eventually } from './support/eventually.ts';
import { followChainIndex } from './support/follow-chain-index.ts';

const SHARED = testUscc(1);

let net: LianxinNetwork;
let chain: LianxinChain;
let dbDir: string;

/** An institution's log and how far it is anchored. */
class Institution {
  readonly log: RecordLog;
  #anchored = 0;

  constructor(
    readonly mspId: string,
    readonly node: LogNode,
  ) {
    this.log = new RecordLog(node.origin);
  }

  /** Appends records for `subjects` (kind loan) and anchors them; returns the anchoring txid. */
  async anchor(subjects: readonly string[]): Promise<string> {
    const previous = this.#anchored;
    for (const subject of subjects) this.log.append(subject, 'loan', `${this.mspId}/${subject}/${this.log.size}`);
    const client = await net.as(this.mspId);
    const anchored = await client.submit<{ txId: string }>(
      'AnchorCheckpoint',
      this.log.checkpoint(this.node.key),
      JSON.stringify(previous === 0 ? [] : this.log.consistencyProof(previous)),
      JSON.stringify(this.log.entries(previous)),
    );
    this.#anchored = this.log.size;
    return anchored.txId;
  }
}

const follow = <T>(db: NodeDatabase, use: (index: ChainIndex) => Promise<T>) => followChainIndex(chain, db, use);

const versionOf = (index: ChainIndex, subject: string, version: number) =>
  eventually(async () => {
    const record = await index.getIndexRecord(subject, 'loan');
    return record && record.version >= version ? record : undefined;
  });

beforeAll(async () => {
  net = await startLianxinNetwork();
  await onboardConsortium(net);
  chain = new LianxinChain((await net.as(BANK)).network, CHAINCODE_NAME);
  dbDir = await mkdtemp(join(net.members.dir, 'chain-index-'));
});

afterAll(async () => {
  await net.close();
});

describe('the chain index a node keeps', () => {
  it('versions a subject across institutions in chain order and resumes after a stop without re-applying', async () => {
    const hangzhou = new Institution(AGENCY, await registerLogNode(net, AGENCY));
    const hefei = new Institution(AGENCY2, await registerLogNode(net, AGENCY2));
    const db = await openNodeDatabase(dbDir);
    try {
      await hangzhou.anchor([SHARED, testUscc(2)]);
      const second = await hefei.anchor([testUscc(3), SHARED]);
      const latest = await follow(db, (index) => versionOf(index, SHARED, 2));
      expect(latest).toMatchObject({ version: 2, origin: hefei.node.origin, leafIndex: 1, txId: second });
      expect(latest.checkpointSize).toBe(2);
      expect(latest.anchoredAt).toMatch(/^\d{4}-\d\d-\d\dT/);

      // Anchored while no follower runs: the next one starts from the stored position.
      const third = await hangzhou.anchor([SHARED, SHARED]);
      const resumed = await follow(db, async (index) => {
        expect(index.position?.transactionId).toBe(second);
        return versionOf(index, SHARED, 4);
      });
      expect(resumed).toMatchObject({ version: 4, origin: hangzhou.node.origin, leafIndex: 3, txId: third });
      expect(resumed.recordDigest).toBe(hangzhou.log.entries(3)[0]?.recordDigest);

      // Reopened again with nothing new: still version 4, each anchor applied once.
      const again = await follow(db, async (index) => {
        expect(index.position?.transactionId).toBe(third);
        return index.getIndexRecord(SHARED, 'loan');
      });
      expect(again?.version).toBe(4);
      expect(await (await ChainIndex.open(db.chainIndex)).getIndexRecord(testUscc(2), 'loan')).toMatchObject({
        version: 1,
        origin: hangzhou.node.origin,
      });
    } finally {
      await db.close();
    }
  });
});
