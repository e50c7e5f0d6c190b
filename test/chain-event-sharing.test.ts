/**
 * A node follows the chain's chaincode events for three purposes (the chain index: `Anchored`; the consent view:
 * `ConsentChanged`; the registry follower: `RegistryChanged`) over ONE ChaincodeEvents stream to the ledger (issue
 * 13: Fabric cannot filter chaincode events by name, so three streams received every anchor's ≈2 MB event three
 * times). Each follower still starts where it needs to (the index from block 0 here, the others at the chain's
 * height), gets each of its events once, and notices when the stream ends.
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainIndex, ChainIndexFollower, newestAnchorBlock } from '../node/chain-index/index.ts';
import { ChaincodeEventHub } from '../node/ledger/chaincode-event-hub.ts';
import { LianxinChain } from '../node/ledger/index.ts';
import { createLogger } from '../node/logging/index.ts';
import { ConsentView } from '../node/p2p/consent-view.ts';
import { RegistryFollower } from '../node/p2p/registry-follower.ts';
import { openNodeDatabase, type NodeDatabase } from '../node/store/index.ts';
import { newLogKey, RecordLog, sha256Hex, testUscc } from './support/chaincode-log.ts';
import {
  AGENCY,
  BANK,
  CHAINCODE_NAME,
  onboardConsortium,
  registerLogNode,
  startLianxinNetwork,
  type LianxinClient,
  type LianxinNetwork,
  type LogNode,
} from './support/chaincode-network.ts';
import { eventually } from './support/eventually.ts';

const SUBJECT = testUscc(201);
const DAY = 86_400_000;

let net: LianxinNetwork;
let node: LogNode;
let agency: LianxinClient;
let bank: LianxinClient;
let log: RecordLog;
let anchoredSize = 0;
let db: NodeDatabase;
let chain: LianxinChain;
let index: ChainIndex;
let indexFollower: ChainIndexFollower;
let consents: ConsentView;
let registry: RegistryFollower;
let registryReads = 0;

/** Appends `count` records of SUBJECT/loan and anchors them; the anchoring transaction's ID. */
async function anchorRecords(count: number): Promise<string> {
  for (let i = 0; i < count; i++) log.append(SUBJECT, 'loan', JSON.stringify({ n: log.size }));
  const proof = anchoredSize === 0 ? [] : log.consistencyProof(anchoredSize);
  const anchored = await agency.submit<{ txId: string }>(
    'AnchorCheckpoint',
    log.checkpoint(node.key),
    JSON.stringify(proof),
    JSON.stringify(log.entries(anchoredSize)),
  );
  anchoredSize = log.size;
  return anchored.txId;
}

beforeAll(async () => {
  net = await startLianxinNetwork();
  await onboardConsortium(net);
  node = await registerLogNode(net, AGENCY);
  agency = await net.as(AGENCY);
  bank = await net.as(BANK);
  log = new RecordLog(node.origin);
  db = await openNodeDatabase(await mkdtemp(join(net.members.dir, 'chain-index-')));
  chain = new LianxinChain(bank.network, CHAINCODE_NAME);
});

afterAll(async () => {
  await indexFollower.stop();
  await consents.stop();
  await registry.stop();
  await db.close();
  await net.close();
});

describe("a node's chaincode events", () => {
  it('reach all three followers over one ChaincodeEvents stream, each event once, each from its own start', async () => {
    // Anchors the index must replay from block 0 while the other two follow the chain's present.
    await anchorRecords(3);
    const newest = await anchorRecords(2);
    consents = new ConsentView({ chain }, { retryInitialMs: 20, retryMaxMs: 200 });
    registry = new RegistryFollower(
      {
        chain,
        refresh: () => {
          registryReads++;
          return Promise.resolve();
        },
      },
      { retryInitialMs: 20, retryMaxMs: 200 },
    );
    consents.start();
    registry.start();
    await eventually(() => Promise.resolve((consents.following && registry.following) || undefined));
    index = await ChainIndex.open(db.chainIndex);
    const logger = createLogger({ level: 'warn', destination: process.stderr });
    indexFollower = new ChainIndexFollower({
      index,
      chain,
      newestAnchorBlock: () => newestAnchorBlock(chain, logger),
      logger,
      retryInitialMs: 20,
      retryMaxMs: 200,
    });
    // The newest of every registered origin's anchors (and none of the origins without one).
    expect(await newestAnchorBlock(chain, logger)).toBe(await chain.blockNumberOf(newest));
    expect(indexFollower.catchingUp).toBeDefined();
    indexFollower.start();
    await eventually(() => Promise.resolve(indexFollower.catchingUp === undefined || undefined), {
      what: 'the chain index catching up',
    });
    expect(index.position?.transactionId).toBe(newest);

    const anchorTx = await anchorRecords(4);
    const now = Date.now();
    const consent = await bank.submit<{ consentId: string; txId: string }>(
      'GrantConsent',
      SUBJECT,
      BANK,
      'LOAN_APPROVAL',
      '["loan"]',
      new Date(now - DAY).toISOString(),
      new Date(now + DAY).toISOString(),
      sha256Hex('authorization'),
    );
    const bankAdmin = await net.as(BANK, 'Admin');
    // RegisterKey answers the key record, which names no transaction: the registry change is known by its kind.
    await bankAdmin.submit('RegisterKey', newLogKey().spkiBase64, 'log', 'ecdsa-p256-sha256', '', '');

    await eventually(() => Promise.resolve(index.position?.transactionId === anchorTx || undefined), {
      what: 'the chain index applying the last anchor',
    });
    await eventually(() => Promise.resolve(consents.lastChange?.transactionId === consent.txId || undefined), {
      what: 'the consent view hearing of the consent',
    });
    const keyRegistered = () => registry.lastChange?.kind === 'key' && registry.lastChange.mspId === BANK;
    await eventually(() => Promise.resolve(keyRegistered() || undefined), {
      what: 'the registry follower hearing of the key',
    });
    // Every anchor applied exactly once: the latest version of SUBJECT/loan is the number of its records.
    expect(await index.getIndexRecord(SUBJECT, 'loan')).toMatchObject({ version: 9, leafIndex: 8, txId: anchorTx });
    expect(consents.lastChange).toMatchObject({ consentId: consent.consentId, action: 'granted' });
    expect(registry.lastChange).toMatchObject({ mspId: BANK, kind: 'key' });
    // Once when its stream opened, once for the key.
    expect(registryReads).toBe(2);
    // The ledger's count of the event streams it serves: the bank node's one (a merged stream's call ends on the
    // ledger a moment after the node closes it).
    await eventually(() => Promise.resolve(net.ledger.streams.active === 1 || undefined), {
      what: 'one event stream at the ledger',
    });
    expect(chain.eventStreams.open).toBe(1);
    expect(indexFollower.failure).toBeUndefined();
  });

  it('does not hold a follower up behind one that has fallen behind: that one goes on on its own stream, then rejoins', async () => {
    // A queue of one event: the anchors' reader, which reads nothing for now, is behind from its second anchor.
    const hub = new ChaincodeEventHub((startBlock) => bank.network.getChaincodeEvents(CHAINCODE_NAME, { startBlock }), {
      maxQueuedEvents: 1,
    });
    const from = { block: BigInt(net.ledger.height) };
    const anchors = await hub.subscribe('Anchored', from);
    const consentsSeen = await hub.subscribe('ConsentChanged', from);
    expect(hub.openStreams).toBe(1);
    const anchored = [await anchorRecords(1), await anchorRecords(1), await anchorRecords(1)];
    const now = Date.now();
    const consent = await bank.submit<{ txId: string }>(
      'GrantConsent',
      testUscc(202),
      BANK,
      'LOAN_APPROVAL',
      '["loan"]',
      new Date(now - DAY).toISOString(),
      new Date(now + DAY).toISOString(),
      sha256Hex('authorization 2'),
    );
    const consentReader = consentsSeen[Symbol.asyncIterator]();
    const heard = await consentReader.next();
    expect(heard.done ? undefined : heard.value.transactionId).toBe(consent.txId);
    // The one behind still gets every anchor, once, in order; then it catches up and shares the stream again.
    expect(hub.openStreams).toBe(2);
    const reader = anchors[Symbol.asyncIterator]();
    const read = async () => {
      const next = await reader.next();
      return next.done ? undefined : next.value.transactionId;
    };
    expect([await read(), await read(), await read()]).toEqual(anchored);
    const next = await anchorRecords(1);
    expect(await read()).toBe(next);
    await eventually(() => Promise.resolve(hub.openStreams === 1 || undefined), { what: 'the streams merged' });
    const after = await anchorRecords(1);
    expect(await read()).toBe(after);
    anchors.close();
    consentsSeen.close();
    expect(hub.openStreams).toBe(0);
  });

  it("counts a subscription's progress by every event the stream passed it, not only those of its name", async () => {
    // A follower whose stream broke resumes where the stream was, not at its last event (the consent view's
    // last change may be days of anchors back).
    const hub = new ChaincodeEventHub((startBlock) => bank.network.getChaincodeEvents(CHAINCODE_NAME, { startBlock }));
    const from = { block: BigInt(net.ledger.height) };
    const consentsSeen = await hub.subscribe('ConsentChanged', from);
    // On the same stream: once it has an anchor, the stream has handed that anchor out to both.
    const anchors = (await hub.subscribe('Anchored', from))[Symbol.asyncIterator]();
    const handedOut = async (transactionId: string) => {
      for (let next = await anchors.next(); !next.done; next = await anchors.next()) {
        if (next.value.transactionId === transactionId) return;
      }
    };
    const lastBlock = () => BigInt(net.ledger.height) - 1n;
    expect(consentsSeen.passedBlock).toBeUndefined();
    await anchorRecords(1);
    const anchoredAt = lastBlock();
    await eventually(() => Promise.resolve(consentsSeen.passedBlock === anchoredAt || undefined), {
      what: 'the anchor passed',
    });
    // An event of its name not yet taken holds it back, whatever passes meanwhile.
    const now = Date.now();
    await bank.submit(
      'GrantConsent',
      testUscc(203),
      BANK,
      'LOAN_APPROVAL',
      '["loan"]',
      new Date(now - DAY).toISOString(),
      new Date(now + DAY).toISOString(),
      sha256Hex('authorization 3'),
    );
    const grantedAt = lastBlock();
    await handedOut(await anchorRecords(1));
    expect(consentsSeen.passedBlock).toBe(anchoredAt);
    const heard = await consentsSeen[Symbol.asyncIterator]().next();
    expect(heard.done).toBe(false);
    expect(consentsSeen.passedBlock).toBe(grantedAt);
    await anchorRecords(1);
    const later = lastBlock();
    await eventually(() => Promise.resolve(consentsSeen.passedBlock === later || undefined), {
      what: 'the next anchor passed',
    });
    consentsSeen.close();
    await anchors.return?.();
  });

  it('tells each follower sharing the stream when it ends', async () => {
    await net.ledger.stop();
    await eventually(
      () => Promise.resolve((!consents.following && !registry.following && indexFollower.failure) || undefined),
      { what: 'every follower noticing the ledger gone' },
    );
  });
});
