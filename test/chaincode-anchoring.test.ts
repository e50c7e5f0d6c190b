/**
 * Checkpoint anchoring and the credit-record index through the official client (issue 3): an agency anchors three
 * successive checkpoints of a growing RFC 9162 log with consistency proofs and index entries; forks, shrinks and
 * replays are refused with their own codes; a bank of another organisation looks the records up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { common } from '@hyperledger/fabric-protos';
import { encodeIndexEntries, parseAnchoredEvent, scanIndexEntries } from '../chaincode/src/protocol.ts';
import { LianxinChain } from '../node/ledger/index.ts';
import { RecordLog, testUscc, type IndexEntry } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import { withChainIndex } from './support/follow-chain-index.ts';
import { take } from './support/take.ts';
import {
  AGENCY,
  AGENCY2,
  BANK,
  CHAINCODE_NAME,
  onboardConsortium,
  registerLogNode,
  startLianxinNetwork,
  type LianxinClient,
  type LianxinNetwork,
  type LogNode,
} from './support/chaincode-network.ts';

interface Page<T> {
  items: T[];
  bookmark: string;
}

interface Anchored {
  origin: string;
  mspId: string;
  size: string;
  rootHash: string;
  previousSize: string | null;
  indexCount: number;
  txId: string;
  anchoredAt: string;
}

interface IndexChunk {
  origin: string;
  checkpointSize: string;
  chunk: number;
  chunks: number;
  txId: string;
  entries: IndexEntry[];
}

const SUBJECTS = [testUscc(101), testUscc(102), testUscc(103)] as const;
const [ALPHA] = SUBJECTS;
const KINDS = ['loan', 'guarantee'] as const;

let net: LianxinNetwork;
let node: LogNode;
let agency: LianxinClient;
let log: RecordLog;
const anchors: Anchored[] = [];

/** Record n of the log: subjects and kinds cycle, as an agency's node would append them. */
function appendRecord(
  target: RecordLog,
  n: number,
  record = (subject: string, kind: string) => JSON.stringify({ subject, kind, n }),
): void {
  const subject = SUBJECTS[n % SUBJECTS.length] ?? ALPHA;
  const kind = KINDS[Math.floor(n / SUBJECTS.length) % KINDS.length] ?? 'loan';
  target.append(subject, kind, record(subject, kind));
}

function grow(count: number): void {
  for (let i = 0; i < count; i++) appendRecord(log, log.size);
}

async function anchor(previousSize: number): Promise<Anchored> {
  const proof = previousSize === 0 ? [] : log.consistencyProof(previousSize);
  return agency.submit<Anchored>(
    'AnchorCheckpoint',
    log.checkpoint(node.key),
    JSON.stringify(proof),
    JSON.stringify(log.entries(previousSize)),
  );
}

beforeAll(async () => {
  net = await startLianxinNetwork();
  await onboardConsortium(net);
  node = await registerLogNode(net, AGENCY);
  agency = await net.as(AGENCY);
  log = new RecordLog(node.origin);
});

afterAll(async () => {
  await net.close();
});

describe('anchoring a growing log', () => {
  it('anchors three successive checkpoints, each proved consistent with the last, indexing the leaves each adds', async () => {
    // 4 → 7 → 12: the first size is a power of two (its root is a node of the larger tree), the second is not.
    let previous = 0;
    for (const size of [4, 7, 12]) {
      grow(size - log.size);
      const anchored = await anchor(previous);
      expect(anchored).toMatchObject({
        origin: node.origin,
        mspId: AGENCY,
        size: String(size),
        rootHash: Buffer.from(log.root()).toString('base64'),
        previousSize: previous === 0 ? null : String(previous),
        indexCount: size - previous,
      });
      anchors.push(anchored);
      previous = size;
    }
    const bank = await net.as(BANK);
    expect(await bank.evaluate('GetCheckpoint', node.origin)).toMatchObject({ size: '12', txId: anchors[2]?.txId });
    const history = await bank.evaluate<Page<Anchored>>('ListCheckpoints', node.origin, '', '');
    expect(history.items.map((cp) => cp.size)).toEqual(['4', '7', '12']);
  });

  it('emits an Anchored event for each anchor carrying its identifiers, time and entries as the chain stores them', async () => {
    const bank = await net.as(BANK);
    // Onboarding and registration emit RegistryChanged (nodes follow the registry by it); the anchors follow.
    const events = await take(
      await bank.network.getChaincodeEvents(CHAINCODE_NAME, { startBlock: 0n }),
      anchors.length,
      (e) => e.eventName === 'Anchored',
    );
    const stored = await Promise.all(
      anchors.map((a) => bank.evaluate<{ entries: string }>('GetIndexEntries', a.origin, a.size)),
    );
    expect(
      events.map((e) => {
        const { header, entries } = parseAnchoredEvent(e.payload);
        return {
          name: e.eventName,
          txId: e.transactionId,
          header,
          entries: Buffer.from(entries ?? []).toString('base64'),
        };
      }),
    ).toEqual(
      anchors.map((a, i) => ({
        name: 'Anchored',
        txId: a.txId,
        header: { anchoredAt: a.anchoredAt, origin: a.origin, size: a.size, txId: a.txId, indexCount: a.indexCount },
        entries: stored[i]?.entries,
      })),
    );
  });

  it('refuses a fork at the anchored size with CHECKPOINT_FORK', async () => {
    const fork = forkedLog(log.size);
    const refusal = await agency.refusedSubmit('AnchorCheckpoint', fork.checkpoint(node.key), '[]', '[]');
    expect(refusal).toMatchObject({ code: 'CHECKPOINT_FORK' });
  });

  it('refuses a larger checkpoint whose consistency proof starts from another history with CHECKPOINT_FORK', async () => {
    const fork = forkedLog(log.size + 3);
    const refusal = await agency.refusedSubmit(
      'AnchorCheckpoint',
      fork.checkpoint(node.key),
      JSON.stringify(fork.consistencyProof(log.size)),
      JSON.stringify(fork.entries(log.size)),
    );
    expect(refusal).toMatchObject({ code: 'CHECKPOINT_FORK' });
    expect(refusal.detail).toContain('not consistent');
  });

  it('refuses a checkpoint smaller than the anchored one with CHECKPOINT_SHRINK', async () => {
    const refusal = await agency.refusedSubmit('AnchorCheckpoint', log.checkpoint(node.key, 7), '[]', '[]');
    expect(refusal).toMatchObject({ code: 'CHECKPOINT_SHRINK' });
  });

  it('refuses the anchored checkpoint again with CHECKPOINT_STALE', async () => {
    const refusal = await agency.refusedSubmit('AnchorCheckpoint', log.checkpoint(node.key), '[]', '[]');
    expect(refusal).toMatchObject({ code: 'CHECKPOINT_STALE' });
  });

  it('refuses index entries for leaves an earlier checkpoint already covered', async () => {
    const previous = log.size;
    grow(2);
    const refusal = await agency.refusedSubmit(
      'AnchorCheckpoint',
      log.checkpoint(node.key),
      JSON.stringify(log.consistencyProof(previous)),
      JSON.stringify(log.entries(previous - 1)),
    );
    expect(refusal).toMatchObject({ code: 'INDEX_LEAF_OUT_OF_RANGE' });
    // Nothing of the refused anchors was written.
    expect(await agency.evaluate('GetCheckpoint', node.origin)).toMatchObject({ size: String(previous) });
  });
});

describe('the index, as another organisation reads it', () => {
  let bank: LianxinClient;

  beforeAll(async () => {
    bank = await net.as(BANK);
  });

  it("reads each anchor's entries back, in leaf order, with the anchoring transaction", async () => {
    for (const anchored of anchors) {
      const chunk = await bank.evaluate<IndexChunk>('GetIndexChunk', node.origin, anchored.size, '0');
      expect(chunk).toMatchObject({ origin: node.origin, checkpointSize: anchored.size, chunk: 0, chunks: 1 });
      expect(chunk.txId).toBe(anchored.txId);
      expect(chunk.entries).toEqual(log.entries(Number(anchored.previousSize ?? 0), Number(anchored.size)));
    }
    expect(await bank.refusedEvaluate('GetIndexChunk', node.origin, '12', '1')).toMatchObject({
      code: 'INDEX_NOT_FOUND',
    });
    expect(await bank.refusedEvaluate('GetIndexChunk', node.origin, '13', '0')).toMatchObject({
      code: 'CHECKPOINT_NOT_FOUND',
    });
  });

  it('closes an event stream nobody has read yet without an unheard error', async () => {
    const chain = new LianxinChain(bank.network, CHAINCODE_NAME);
    const unheard: unknown[] = [];
    const onUncaught = (err: unknown) => unheard.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      for (const open of [() => chain.registryChanges(0n), () => chain.consentChanges(0n)]) {
        const events = await open();
        events.close();
      }
      // grpc-js delivers the cancellation on a later turn: give it several.
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(unheard).toEqual([]);
  });

  it('gives every node the same latest record of a subject and kind, versioned in chain order', async () => {
    const chain = new LianxinChain(bank.network, CHAINCODE_NAME);
    const entries = log.entries(0, 12);
    await withChainIndex(chain, net.members.dir, async (index) => {
      // Every anchor applied, not just the first that names a subject.
      await eventually(() => Promise.resolve(index.position?.transactionId === anchors.at(-1)?.txId || undefined));
      for (const subject of SUBJECTS) {
        for (const kind of KINDS) {
          const versions = entries.filter((e) => e.subject === subject && e.kind === kind);
          const expected = versions.at(-1);
          const anchoredBy = anchors.find(
            (a) =>
              Number(a.size) > (expected?.leafIndex ?? 0) && Number(a.previousSize ?? 0) <= (expected?.leafIndex ?? 0),
          );
          const record = await index.getIndexRecord(subject, kind);
          expect(record).toMatchObject({
            ...expected,
            origin: node.origin,
            version: versions.length,
            checkpointSize: Number(anchoredBy?.size),
            txId: anchoredBy?.txId,
          });
        }
      }
      expect(await index.getIndexRecord(testUscc(999), 'loan')).toBeUndefined();
    });
  });
});

describe('an anchor as nodes send it: entries in the binary encoding, on chain once', () => {
  it('carries them in the Anchored event only, keeps their SHA-256, and names that event to GetIndexEntries', async () => {
    const hefei = await registerLogNode(net, AGENCY2);
    const hefeiLog = new RecordLog(hefei.origin);
    for (let n = 0; n < 500; n++) hefeiLog.append(testUscc(200 + (n % 50)), 'loan', `hefei-${n}`);
    const bytes = encodeIndexEntries(hefeiLog.entries(0));
    const agency2 = await net.as(AGENCY2);
    const chain = new LianxinChain(agency2.network, CHAINCODE_NAME);
    const committed = await chain.anchorCheckpoint(
      hefeiLog.checkpoint(hefei.key),
      [],
      scanIndexEntries(bytes, 'strict'),
    );
    const indexSha256 = createHash('sha256').update(bytes).digest('hex');
    expect(committed.result).toMatchObject({ indexCount: 500, indexSha256 });

    // The block holds the entries once: its one envelope is not twice their size.
    const block = common.Block.deserializeBinary(
      await agency.network
        .getContract('qscc')
        .evaluateTransaction('GetBlockByNumber', agency.network.getName(), String(committed.blockNumber)),
    );
    const envelope = block
      .getData()
      ?.getDataList_asU8()
      .find((e) => Buffer.from(e).includes(bytes));
    expect(envelope?.length).toBeLessThan(bytes.length * 1.5);

    const bank = await net.as(BANK);
    const refusal = await bank.refusedEvaluate('GetIndexEntries', hefei.origin, '500');
    expect(refusal).toMatchObject({ code: 'INDEX_IN_EVENT' });
    expect(refusal.detail).toContain(`Anchored event of transaction ${committed.transactionId}`);
    expect(await bank.refusedEvaluate('GetIndexChunk', hefei.origin, '500', '0')).toMatchObject({
      code: 'INDEX_IN_EVENT',
    });

    // A chain with anchors of both kinds (the JSON ones above keep their chunks): a chain index applies them all.
    await withChainIndex(new LianxinChain(bank.network, CHAINCODE_NAME), net.members.dir, async (index) => {
      await eventually(() => Promise.resolve(index.position?.transactionId === committed.transactionId || undefined));
      expect(await index.getIndexRecord(testUscc(249), 'loan')).toMatchObject({
        origin: hefei.origin,
        leafIndex: 499,
        version: 10,
        txId: committed.transactionId,
      });
      expect(await index.getIndexRecord(ALPHA, 'loan')).toMatchObject({ origin: node.origin });
    });
  });
});

/** A log sharing the anchored log's first 4 leaves, then diverging, grown to `size`. */
function forkedLog(size: number): RecordLog {
  const fork = new RecordLog(log.origin);
  for (let n = 0; n < size; n++) {
    if (n < 4) appendRecord(fork, n);
    else appendRecord(fork, n, () => `forged-${n}`);
  }
  return fork;
}
