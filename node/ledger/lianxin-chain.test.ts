import type { ChaincodeEvent, Network } from '@hyperledger/fabric-gateway';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  encodeAnchoredEvent,
  encodeIndexEntries,
  INDEX_ENTRIES_TRANSIENT_KEY,
  scanIndexEntries,
  type IndexEntriesView,
} from '../../chaincode/src/protocol.ts';
import { testUscc } from '../../test/support/chaincode-log.ts';
import { LianxinChain, type AnchoredEvent } from './lianxin-chain.ts';

const ORIGIN = 'lianxin.example/log';
const ANCHORED_AT = '2026-12-07T00:00:00Z';

function entriesView(count: number, firstLeaf: number): IndexEntriesView {
  const entries = Array.from({ length: count }, (_, i) => ({
    leafIndex: firstLeaf + i,
    leafHash: randomBytes(32).toString('hex'),
    subject: testUscc(i + 1),
    kind: 'loan',
    recordDigest: randomBytes(32).toString('hex'),
  }));
  return scanIndexEntries(encodeIndexEntries(entries), 'strict');
}

function anchoredEvent(transactionId: string, entries: Uint8Array, indexCount: number): ChaincodeEvent {
  const header = { origin: ORIGIN, size: '100', txId: transactionId, indexCount, anchoredAt: ANCHORED_AT };
  return {
    blockNumber: 3n,
    chaincodeName: 'lianxin',
    eventName: 'Anchored',
    transactionId,
    payload: encodeAnchoredEvent(header, entries),
  };
}

/**
 * A chain whose gateway endorses its submissions as transactions `transactionIds`, in turn, and whose event stream
 * brings the events last given to `emit` and then ends.
 */
function fakeChain(...transactionIds: string[]) {
  const sent: Uint8Array[] = [];
  let events: ChaincodeEvent[] = [];
  const contract = {
    submitAsync: (_name: string, proposal: { transientData?: Record<string, Uint8Array> }) => {
      const transient = proposal.transientData?.[INDEX_ENTRIES_TRANSIENT_KEY];
      if (transient !== undefined) sent.push(transient);
      const transactionId = transactionIds[sent.length - 1] ?? 'tx-unnamed';
      const result = Buffer.from(JSON.stringify({ origin: ORIGIN, size: '100', anchoredAt: ANCHORED_AT }));
      return Promise.resolve({
        getTransactionId: () => transactionId,
        getResult: () => result,
        getStatus: () => Promise.resolve({ successful: true, code: 0, blockNumber: 3n, transactionId }),
      });
    },
  };
  const network = {
    getName: () => 'lianxin',
    getContract: () => contract,
    getChaincodeEvents: () => {
      const queued = events;
      async function* stream() {
        await Promise.resolve();
        yield* queued;
      }
      const iterable = stream();
      return Promise.resolve({
        [Symbol.asyncIterator]: () => iterable,
        close: () => undefined,
      });
    },
  } as unknown as Network;
  return {
    chain: new LianxinChain(network, 'lianxin'),
    sent,
    emit: (...next: ChaincodeEvent[]) => (events = next),
  };
}

async function allAnchored(chain: LianxinChain): Promise<AnchoredEvent[]> {
  const out: AnchoredEvent[] = [];
  for await (const event of await chain.anchoredEvents()) out.push(event);
  return out;
}

describe('LianxinChain: the Anchored events of its own anchors', () => {
  it('takes its own entries, already validated, for an event bringing the same bytes back', async () => {
    const { chain, sent, emit } = fakeChain('tx-own');
    const own = entriesView(40, 7);
    await chain.anchorCheckpoint('note', [], own);
    expect(sent).toEqual([own.bytes]);
    // The event's bytes are the chain's copy, equal to what was sent, not the same buffer.
    emit(anchoredEvent('tx-own', Buffer.from(own.bytes), own.count));
    const [event] = await allAnchored(chain);
    expect(event?.carried?.entries).toBe(own);
    expect(event?.carried?.anchoredAt).toBe(ANCHORED_AT);
  });

  it("scans an event's entries that differ from its own, and refuses ones the decoder refuses", async () => {
    const { chain, emit } = fakeChain('tx-own', 'tx-own-2');
    const own = entriesView(40, 7);
    await chain.anchorCheckpoint('note', [], own);
    const other = entriesView(40, 7);
    emit(anchoredEvent('tx-own', other.bytes, other.count));
    const [event] = await allAnchored(chain);
    expect(event?.carried?.entries).not.toBe(own);
    expect(event?.carried?.entries.bytes).toEqual(other.bytes);

    await chain.anchorCheckpoint('note', [], own);
    // The same bytes but one subject in lower case: what the writer would never have produced.
    const tampered = Buffer.from(own.bytes);
    const subjectAt = (own.offsets[0] ?? 0) + 8 + 64;
    tampered[subjectAt + 10] = 0x61;
    emit(anchoredEvent('tx-own-2', tampered, own.count));
    await expect(allAnchored(chain)).rejects.toThrow(/Anchored\(.*\)\.entries\[0\]\.subject/);
  });

  it('keeps the entries of its latest 8 anchors only', async () => {
    const ids = Array.from({ length: 9 }, (_, i) => `tx-${String(i)}`);
    const { chain, emit } = fakeChain(...ids);
    const views = ids.map((_, i) => entriesView(2, 10 * i + 1));
    for (const view of views) await chain.anchorCheckpoint('note', [], view);
    emit(...ids.map((id, i) => anchoredEvent(id, Buffer.from(views[i]?.bytes ?? []), 2)));
    const taken = (await allAnchored(chain)).map((event, i) => event.carried?.entries === views[i]);
    expect(taken).toEqual([false, true, true, true, true, true, true, true, true]);
  });

  it('scans the entries of an event for a transaction it did not submit', async () => {
    const { chain, emit } = fakeChain('tx-own');
    const own = entriesView(3, 1);
    await chain.anchorCheckpoint('note', [], own);
    emit(anchoredEvent('tx-other', own.bytes, own.count));
    const [event] = await allAnchored(chain);
    expect(event?.carried?.entries).not.toBe(own);
    expect(event?.carried?.entries.bytes).toEqual(own.bytes);
  });
});
