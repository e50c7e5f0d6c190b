/**
 * Crash safety of the institution node (DESIGN §6, issue 4): the node runs in a child process that is killed with
 * SIGKILL while batches of records stream in and its checkpoints are being anchored; it restarts on the same data
 * dir and the client re-sends what was never acknowledged, as any client would. In the end every acknowledged
 * record keeps the leaf index it was acknowledged with and is anchored exactly once, every leaf index is used once,
 * the chain's anchors for the node's origin grow strictly with one Anchored event each, and the log is consistent
 * from every checkpoint anchored before a crash to the final one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { parseAnchoredEvent, verifyConsistency } from '../chaincode/src/protocol.ts';
import type { ConsistencyProof__Output } from '../node/api/generated/lianxin/v1/ConsistencyProof.ts';
import type { IngestAck__Output } from '../node/api/generated/lianxin/v1/IngestAck.ts';
import type { RecordBatch } from '../node/api/generated/lianxin/v1/RecordBatch.ts';
import type { LogServiceClient } from '../node/api/generated/lianxin/v1/LogService.ts';
import type { RecordServiceClient } from '../node/api/generated/lianxin/v1/RecordService.ts';
import type { RecordStatus__Output } from '../node/api/generated/lianxin/v1/RecordStatus.ts';
import type { SignedCheckpoint__Output } from '../node/api/generated/lianxin/v1/SignedCheckpoint.ts';
import type { LianxinChain } from '../node/ledger/index.ts';
import { anchorHistory } from './support/anchor-history.ts';
import { CHAINCODE_NAME } from './support/chaincode-network.ts';
import { eventually } from './support/eventually.ts';
import { withChainIndex } from './support/follow-chain-index.ts';
import { testUscc } from './support/chaincode-log.ts';
import { unary } from './support/grpc-unary.ts';
import type { ListeningChild } from './support/listening-child.ts';
import { startNodeProcess, writeNodeProcessConfig, type NodeProcessConfig } from './support/node-process.ts';
import { take } from './support/take.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';

const BATCH_RECORDS = 100;
/** Batches written on the stream and not yet acknowledged. */
const IN_FLIGHT = 8;
/** Batches acknowledged before each kill; the kill lands while the next ones are being written and anchored. */
const ACKED_PER_ROUND = 30;
/** Kills: even rounds at a random point, odd ones right after an anchor commits. */
const ROUNDS = 6;
/** Up to a few batch writes: the kill lands at a random point of ingest → checkpoint → anchor. */
const KILL_JITTER_MS = 60;
/** Bound on waiting for an anchor (one of 10,000 index entries takes a few seconds on a busy machine). */
const ANCHOR_DEADLINE_MS = 20_000;
const POLL_MS = 100;
/** Concurrent GetRecordStatus calls while checking every record. */
const STATUS_CONCURRENCY = 200;

const SETTINGS = {
  checkpoint: { intervalSeconds: 1, leaves: 300 },
  ingest: { maxBatchRecords: BATCH_RECORDS },
  // Back-pressure is not under test: nothing is refused for a backlog.
  outbox: { maxPendingRecords: 1_000_000 },
};

let net: TestNetwork;
let config: NodeProcessConfig;
let bank: LianxinChain;
let credentials: grpc.ChannelCredentials;
let running: ListeningChild | undefined;

const requestIdOf = (batch: number) => `bulk-${String(batch)}`;
const recordNumber = (batch: number, offset: number) => batch * BATCH_RECORDS + offset;

const batchOf = (batch: number): RecordBatch => ({
  requestId: requestIdOf(batch),
  records: Array.from({ length: BATCH_RECORDS }, (_, i) => {
    const n = recordNumber(batch, i);
    return {
      subject: testUscc(n),
      kind: 'loan',
      version: 1,
      contentType: 'application/json',
      content: Buffer.from(JSON.stringify({ n, balance: n * 100 })),
    };
  }),
});

/** What the client knows: acknowledgements by request ID, and the batches it sent that were never acknowledged. */
interface ClientState {
  readonly acks: Map<string, IngestAck__Output>;
  readonly unacked: Set<number>;
  nextBatch: number;
}

beforeAll(async () => {
  net = await startTestNetwork();
  config = await writeNodeProcessConfig(net, AGENCY, SETTINGS);
  bank = await net.chain(BANK);
  credentials = await net.credentials(AGENCY);
});

afterAll(async () => {
  await running?.kill();
  await net[Symbol.asyncDispose]();
});

async function start(): Promise<ListeningChild> {
  running = await startNodeProcess(config);
  return running;
}

/**
 * Streams batches (first those never acknowledged, then new ones) with IN_FLIGHT unacknowledged until `target`
 * acknowledgements came back, then SIGKILLs the node at the round's kill point. Resolves with the errors seen
 * before the kill (there must be none).
 */
async function streamUntilKilled(
  node: ListeningChild,
  state: ClientState,
  target: number,
  killPoint: KillPoint,
): Promise<unknown[]> {
  const client: RecordServiceClient = new net.v1.RecordService(node.address, credentials);
  const stream = client.IngestRecords();
  const kill = await killPoint(node);
  const retries = [...state.unacked];
  /** Batches written on this stream, in order: acknowledgements come back in the same order. */
  const written: number[] = [];
  const errorsBeforeKill: unknown[] = [];
  let killed = false;
  let acked = 0;
  let reachTarget: () => void = () => undefined;
  const targetReached = new Promise<void>((resolve) => (reachTarget = resolve));
  const send = () => {
    const batch = retries.shift() ?? state.nextBatch++;
    state.unacked.add(batch);
    written.push(batch);
    stream.write(batchOf(batch));
  };
  stream.on('data', (ack: IngestAck__Output) => {
    const batch = written.shift();
    if (batch === undefined || ack.requestId !== requestIdOf(batch)) {
      errorsBeforeKill.push(new Error(`acknowledgement ${ack.requestId} out of order`));
      reachTarget();
      return;
    }
    state.unacked.delete(batch);
    state.acks.set(ack.requestId, ack);
    // Past the target no new batch goes out: those in flight are still being written when the kill comes.
    if (++acked < target) send();
    else reachTarget();
  });
  stream.on('error', (err) => {
    if (killed) return;
    errorsBeforeKill.push(err);
    reachTarget();
  });
  for (let i = 0; i < IN_FLIGHT; i++) send();
  try {
    await targetReached;
    await kill();
  } finally {
    killed = true;
    await node.kill();
    client.close();
  }
  return errorsBeforeKill;
}

/** The node's last error-level log line (pino level 50), to say why a wait failed. */
const lastErrorLog = (node: ListeningChild) =>
  node
    .stderr()
    .split('\n')
    .findLast((line) => line.includes('"level":50'))
    ?.slice(0, 1_000) ?? 'none';

/**
 * When a round's kill comes: prepared as the round starts, the returned function resolves at the kill point
 * counted from its call (once the round's acknowledgements are in).
 */
type KillPoint = (node: ListeningChild) => Promise<() => Promise<void>>;

/** A random point of ingest → checkpoint → anchor. */
const afterJitter: KillPoint = () => Promise.resolve(() => sleep(Math.random() * KILL_JITTER_MS));

/**
 * As soon as the chain commits the node's next anchor (its next `Anchored` chaincode event): the node is then
 * between its commit status and recording the anchor in its own store, the window in which a crash must neither
 * lose nor repeat the anchor. The event stream is open from the start of the round, so the kill follows the
 * commit as closely as the delivery service allows.
 */
const onNextAnchor: KillPoint = async (node) => {
  const connection = await net.members.connect(net.ledger.address, BANK);
  const events = await connection.gateway.getNetwork(net.members.consortium.channel).getChaincodeEvents(CHAINCODE_NAME);
  const trigger = { armed: false };
  const nextAnchor = (async () => {
    for await (const event of events) if (trigger.armed && event.eventName === 'Anchored') return event;
    return undefined;
  })().catch(() => undefined);
  return async () => {
    trigger.armed = true;
    const giveUp = setTimeout(() => {
      events.close();
    }, ANCHOR_DEADLINE_MS);
    try {
      if (!(await nextAnchor)) throw new Error(`the node anchored nothing more; last error: ${lastErrorLog(node)}`);
    } finally {
      clearTimeout(giveUp);
      events.close();
      connection.close();
    }
  };
};

/** Polls `done` until it holds; past ANCHOR_DEADLINE_MS fails with `explain()`. */
async function waitUntil(done: () => Promise<boolean>, explain: () => string): Promise<void> {
  const deadline = Date.now() + ANCHOR_DEADLINE_MS;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(explain());
    await sleep(POLL_MS);
  }
}

/** The channel's first `count` anchors' chaincode events (`Anchored`), from block 0. */
async function chaincodeEvents(count: number) {
  const connection = await net.members.connect(net.ledger.address, BANK);
  try {
    const network = connection.gateway.getNetwork(net.members.consortium.channel);
    const events = await take(
      await network.getChaincodeEvents(CHAINCODE_NAME, { startBlock: 0n }),
      count,
      (e) => e.eventName === 'Anchored',
    );
    return events.map((e) => ({
      name: e.eventName,
      txId: e.transactionId,
      blockNumber: Number(e.blockNumber),
      payload: parseAnchoredEvent(e.payload).header,
    }));
  } finally {
    connection.close();
  }
}

/** Runs `check` over `items` with at most STATUS_CONCURRENCY calls at a time. */
async function inChunks<T, R>(items: readonly T[], check: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += STATUS_CONCURRENCY) {
    results.push(...(await Promise.all(items.slice(i, i + STATUS_CONCURRENCY).map(check))));
  }
  return results;
}

/** Three kill-and-restart rounds of a real node process plus a full check: ~30 s alone, 50-90 s on 2 loaded cores. */
const CRASH_TEST_TIMEOUT_MS = 240_000;

describe('kill -9 of the node process during bulk ingest', () => {
  it(
    'anchors every acknowledged record exactly once, at its acknowledged leaf, consistently with every anchor',
    async () => {
      const state: ClientState = { acks: new Map(), unacked: new Set(), nextBatch: 0 };
      /** The chain's anchored size for the origin right after each kill. */
      const anchoredAtKill: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const node = await start();
        const killPoint = round % 2 === 0 ? afterJitter : onNextAnchor;
        expect(await streamUntilKilled(node, state, ACKED_PER_ROUND, killPoint)).toEqual([]);
        anchoredAtKill.push(Number((await bank.getCheckpoint(config.origin))?.size ?? 0));
      }

      const node = await start();
      const records: RecordServiceClient = new net.v1.RecordService(node.address, credentials);
      const log: LogServiceClient = new net.v1.LogService(node.address, credentials);
      const ingestBatch = (batch: RecordBatch) =>
        unary<RecordBatch, IngestAck__Output>((req, cb) => records.IngestBatch(req, cb), batch);
      try {
        // The client re-sends what it never heard back about; then every batch it sent is acknowledged once.
        for (const batch of [...state.unacked]) {
          const ack = await ingestBatch(batchOf(batch));
          state.acks.set(ack.requestId, ack);
          state.unacked.delete(batch);
        }
        const batches = Array.from({ length: state.nextBatch }, (_, b) => b);
        const total = state.nextBatch * BATCH_RECORDS;
        expect([...state.acks.keys()].sort()).toEqual(batches.map(requestIdOf).sort());
        const acks = batches.map((b) => state.acks.get(requestIdOf(b)));
        expect(acks.flatMap((a) => a?.results.map((r) => r.outcome))).toEqual(Array(total).fill('OUTCOME_ACCEPTED'));
        // No leaf index twice, none skipped: nothing was appended twice, nothing acknowledged was lost.
        const leafIndexes = acks.flatMap((a) => a?.results.map((r) => r.leafIndex) ?? []);
        expect(leafIndexes.toSorted((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));

        // Re-sending an acknowledged batch is answered with its first acknowledgement, replayed, before and after the
        // crashes.
        const resent = await Promise.all(batches.map((b) => ingestBatch(batchOf(b))));
        expect(resent).toEqual(acks.map((ack) => ({ ...ack, replayed: true })));

        // The node anchors the rest once restarted; it records an anchor only once the chain holds it.
        const status = (subject: string) =>
          unary<{ subject: string; kind: string; version: number }, RecordStatus__Output>(
            (req, cb) => records.GetRecordStatus(req, cb),
            { subject, kind: 'loan', version: 1 },
          );
        const lastBatch = state.nextBatch - 1;
        await waitUntil(
          async () =>
            (await status(testUscc(recordNumber(lastBatch, BATCH_RECORDS - 1)))).state === 'EVIDENCE_STATE_ANCHORED',
          () => `the restarted node did not anchor batch ${requestIdOf(lastBatch)}; last error: ${lastErrorLog(node)}`,
        );
        const final = await bank.getCheckpoint(config.origin);
        expect(Number(final?.size)).toBe(total);

        // The chain's anchors: strictly growing, each linked to the one before, one Anchored event each.
        const history = await anchorHistory(net.members, net.ledger.address, config.origin);
        expect(history.at(-1)).toEqual(final);
        const sizes = history.map((cp) => Number(cp.size));
        expect(sizes.every((size, i) => i === 0 || size > (sizes[i - 1] ?? 0))).toBe(true);
        expect(history.map((cp) => cp.previousSize)).toEqual([null, ...history.slice(0, -1).map((cp) => cp.size)]);
        expect(history.map((cp) => cp.indexCount)).toEqual(sizes.map((size, i) => size - (sizes[i - 1] ?? 0)));
        // Registration emits no events: the channel's chaincode events are the anchors, each exactly once.
        const events = await chaincodeEvents(history.length);
        expect(events.map(({ blockNumber: _, ...event }) => event)).toEqual(
          history.map((cp) => ({
            name: 'Anchored',
            txId: cp.txId,
            payload: {
              anchoredAt: cp.anchoredAt,
              origin: config.origin,
              size: cp.size,
              txId: cp.txId,
              indexCount: cp.indexCount,
            },
          })),
        );
        const blockOf = new Map(events.map((e) => [e.txId, e.blockNumber]));

        // The node's log: its latest checkpoint is the anchored one, and every size anchored before a crash is
        // consistent with it (RFC 9162 §2.1.4.2).
        const checkpoint = await unary<object, SignedCheckpoint__Output>((req, cb) => log.GetCheckpoint(req, cb), {});
        expect({ size: checkpoint.size, root: checkpoint.rootHash.toString('base64') }).toEqual({
          size: total,
          root: final?.rootHash,
        });
        const rootAt = new Map(history.map((cp) => [Number(cp.size), Buffer.from(cp.rootHash, 'base64')]));
        const earlier = anchoredAtKill.filter((size) => size > 0 && size < total);
        expect(earlier.length).toBeGreaterThan(0);
        for (const size1 of earlier) {
          const proof = await unary<{ size1: number; size2: number }, ConsistencyProof__Output>(
            (req, cb) => log.GetConsistencyProof(req, cb),
            { size1, size2: total },
          );
          const root1 = rootAt.get(size1);
          expect(root1).toBeDefined();
          expect(() => {
            verifyConsistency(
              BigInt(size1),
              BigInt(total),
              root1 ?? Buffer.alloc(0),
              checkpoint.rootHash,
              proof.hashes,
            );
          }).not.toThrow();
        }

        // Every acknowledged record: anchored at its acknowledged leaf, by the first anchor that covers the leaf, in
        // that anchor's block (also when the node learnt the anchor from the chain after a kill).
        const anchorOf = (leafIndex: number) => history.find((cp) => Number(cp.size) > leafIndex)?.txId;
        const expected = batches.flatMap((b, i) =>
          (acks[i]?.results ?? []).map((r, offset) => ({
            subject: testUscc(recordNumber(b, offset)),
            leafIndex: r.leafIndex,
            recordDigest: r.recordDigest,
            transactionId: anchorOf(r.leafIndex),
            blockNumber: blockOf.get(anchorOf(r.leafIndex) ?? ''),
          })),
        );
        const statuses = await inChunks(expected, (e) => status(e.subject));
        expect(
          statuses.map((s) => ({
            subject: s.record?.subject,
            state: s.state,
            leafIndex: s.leafIndex,
            recordDigest: s.recordDigest,
            transactionId: s.anchor?.transactionId,
            blockNumber: s.anchor?.blockNumber,
          })),
        ).toEqual(expected.map((e) => ({ ...e, state: 'EVIDENCE_STATE_ANCHORED' })));

        // The chain's index, as another institution's node applies it from the chain: one record of each batch,
        // each indexed once (version 1) by the anchor that first covered it.
        const sample = batches.map((b, i) => {
          const offset = Math.floor(Math.random() * BATCH_RECORDS);
          return { subject: testUscc(recordNumber(b, offset)), result: acks[i]?.results[offset] };
        });
        const indexed = await withChainIndex(bank, net.members.dir, async (index) =>
          Promise.all(sample.map((s) => eventually(() => index.getIndexRecord(s.subject, 'loan')))),
        );
        expect(
          indexed.map((r) => ({
            origin: r.origin,
            version: r.version,
            leafIndex: r.leafIndex,
            recordDigest: r.recordDigest,
            txId: r.txId,
          })),
        ).toEqual(
          sample.map((s) => ({
            origin: config.origin,
            version: 1,
            leafIndex: s.result?.leafIndex,
            recordDigest: s.result?.recordDigest.toString('hex'),
            txId: anchorOf(s.result?.leafIndex ?? -1),
          })),
        );
        expect(node.stderr()).not.toMatch(/"level":(50|60)/);
      } finally {
        records.close();
        log.close();
      }
    },
    CRASH_TEST_TIMEOUT_MS,
  );
});
