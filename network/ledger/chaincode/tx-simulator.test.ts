import { randomBytes } from 'node:crypto';
import { ledger } from '@hyperledger/fabric-protos';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../block/protobuf-wire.ts';
import { TxSimulator } from './tx-simulator.ts';
import { MapState, readRwset } from './testing.ts';

const NS = 'loans';
const v = (blockNum: number, txNum: number) => ({ blockNum, txNum });
const bytes = (text: string) => Buffer.from(text);

function state(): MapState {
  return new MapState()
    .set(NS, 'a', 'A', v(1, 0))
    .set(NS, 'b', 'B', v(1, 1))
    .set(NS, 'c', 'C', v(2, 0))
    .set(NS, '\u{1F600}', 'emoji', v(3, 0))
    .set(NS, '\uFFFD', 'fffd', v(3, 1));
}

async function drain(scan: ReturnType<TxSimulator['rangeScan']>, limit = Infinity): Promise<string[]> {
  const keys: string[] = [];
  while (keys.length < limit) {
    const entry = await scan.next();
    if (entry === undefined) break;
    keys.push(entry.key);
  }
  return keys;
}

describe('TxSimulator', () => {
  it("writes its rwset as google-protobuf's bytes: reads, ranges, writes, deletes, a large value, collections", async () => {
    const reencoded = (bytes: Uint8Array) => {
      const set = ledger.rwset.TxReadWriteSet.deserializeBinary(bytes);
      for (const ns of set.getNsRwsetList()) {
        const kv = ns.getRwset_asU8();
        // The nested KVRWSet as google-protobuf writes it, and the whole set around it.
        expect(Buffer.from(ledger.rwset.kvrwset.KVRWSet.deserializeBinary(kv).serializeBinary()).equals(kv)).toBe(true);
      }
      return Buffer.from(set.serializeBinary());
    };
    const large = randomBytes(1_100_000);
    const full = new TxSimulator(state(), NS, 'tx');
    await full.getState('a');
    await full.getState('missing');
    await drain(full.rangeScan('a', 'c'));
    full.setState('b', large);
    full.setState('z', bytes('z'));
    full.deleteState('c');
    full.putPrivateData('_implicit_org_Org1MSP', 'secret', bytes('s'));
    const onlyPrivate = new TxSimulator(state(), NS, 'tx');
    onlyPrivate.putPrivateData('_implicit_org_Org1MSP', 'secret', bytes('s'));
    const onlyRange = new TxSimulator(state(), NS, 'tx');
    await drain(onlyRange.rangeScan('x', 'y'));
    const none = new TxSimulator(state(), NS, 'tx');
    // A read at version 0:0 keeps its (empty) Version message, as google-protobuf writes a set one.
    const zero = new TxSimulator(state().set(NS, 'zero', 'Z', v(0, 0)), NS, 'tx');
    await zero.getState('zero');
    for (const sim of [full, onlyPrivate, onlyRange, none, zero]) {
      const results = sim.results();
      expect(reencoded(results).equals(results)).toBe(true);
    }
    expect(readRwset(full.results()).namespaces[0]?.writes.map((w) => w.key)).toEqual(['b', 'c', 'z']);
    expect(none.results().length).toBe(0);
    expect(readRwset(zero.results()).namespaces[0]?.reads).toEqual([{ key: 'zero', version: v(0, 0) }]);
  });

  it("hands the committer its rwset's namespaces as decoding them gives, unless a collection or large values are in it", async () => {
    const sim = new TxSimulator(state().set(NS, 'zero', 'Z', v(0, 0)), NS, 'tx');
    await sim.getState('b');
    await sim.getState('missing');
    await sim.getState('zero');
    await drain(sim.rangeScan('a', 'c'));
    sim.setState('z', bytes('z'));
    sim.deleteState('c');
    const { fields, rwsets } = sim.simulation();
    expect(Buffer.from(sim.results()).equals(encodeMessage(...fields))).toBe(true);
    // Decoded from the bytes, as validation decodes a transaction endorsed elsewhere.
    const decoded = ledger.rwset.TxReadWriteSet.deserializeBinary(sim.results())
      .getNsRwsetList()
      .map((ns) => {
        const kv = ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
        return {
          namespace: ns.getNamespace(),
          reads: kv.getReadsList().map((r) => {
            const version = r.getVersion();
            return { key: r.getKey(), version: version && v(version.getBlockNum(), version.getTxNum()) };
          }),
          rangeQueries: kv.getRangeQueriesInfoList().map((q) => Buffer.from(q.serializeBinary())),
          writes: kv
            .getWritesList()
            .map((w) => ({ key: w.getKey(), value: w.getIsDelete() ? null : w.getValue_asU8() })),
        };
      });
    const asDecoded = rwsets?.map((ns) => ({
      ...ns,
      rangeQueries: ns.rangeQueries.map((q) => Buffer.from(q.serializeBinary())),
      writes: ns.writes.map(({ key, value }) => ({ key, value: value && new Uint8Array(value) })),
    }));
    expect(asDecoded).toEqual(decoded);
    expect(decoded[0]?.reads.map((r) => r.key)).toEqual(['b', 'missing', 'zero']);
    expect(new TxSimulator(state(), NS, 'tx').simulation().rwsets).toEqual([]);

    const withCollection = new TxSimulator(state(), NS, 'tx');
    withCollection.putPrivateData('_implicit_org_Org1MSP', 'secret', bytes('s'));
    const large = new TxSimulator(state(), NS, 'tx');
    large.setState('a', randomBytes(4 * 1024));
    large.setState('b', bytes('b'));
    expect([withCollection, large].map((s) => s.simulation().rwsets)).toEqual([undefined, undefined]);
  });

  it('produces an rwset with no namespace when nothing was read or written', () => {
    expect(readRwset(new TxSimulator(state(), NS, 'tx').results())).toEqual({ namespaces: [] });
  });

  it('sorts reads and writes in UTF-8 byte order, keeping the first read and the last write', async () => {
    const sim = new TxSimulator(state(), NS, 'tx');
    await sim.getState('\u{1F600}');
    await sim.getState('\uFFFD');
    await sim.getState('a');
    await sim.getState('missing');
    sim.setState('b', bytes('first'));
    sim.setState('b', bytes('second'));
    sim.deleteState('a');
    sim.setState('\u{1F600}', bytes('x'));
    sim.setState('c', new Uint8Array(0));
    expect(readRwset(sim.results()).namespaces).toEqual([
      {
        namespace: NS,
        reads: [
          { key: 'a', version: v(1, 0) },
          { key: 'missing' },
          { key: '\uFFFD', version: v(3, 1) },
          { key: '\u{1F600}', version: v(3, 0) },
        ],
        rangeQueries: [],
        writes: [
          { key: 'a', isDelete: true, value: '' },
          { key: 'b', isDelete: false, value: 'second' },
          // an empty value is a delete (rwset_builder.go newKVWrite)
          { key: 'c', isDelete: true, value: '' },
          { key: '\u{1F600}', isDelete: false, value: 'x' },
        ],
      },
    ]);
  });

  it('returns committed values, never its own writes', async () => {
    const sim = new TxSimulator(state(), NS, 'tx');
    sim.setState('a', bytes('mine'));
    sim.deleteState('b');
    expect(Buffer.from((await sim.getState('a')) ?? []).toString()).toBe('A');
    expect(Buffer.from((await sim.getState('b')) ?? []).toString()).toBe('B');
  });

  it('records a range up to the last key consumed, or to its end key once exhausted', async () => {
    const sim = new TxSimulator(state(), NS, 'tx');
    expect(await drain(sim.rangeScan('a', 'z'), 2)).toEqual(['a', 'b']);
    expect(await drain(sim.rangeScan('', ''))).toEqual(['a', 'b', 'c', '\uFFFD', '\u{1F600}']);
    // the same range again is recorded once (rwset_builder.go AddToRangeQuerySet)
    await drain(sim.rangeScan('', ''));
    expect(readRwset(sim.results()).namespaces[0]?.rangeQueries).toEqual([
      { startKey: 'a', endKey: 'b', exhausted: false, reads: ['a', 'b'] },
      { startKey: '', endKey: '', exhausted: true, reads: ['a', 'b', 'c', '\uFFFD', '\u{1F600}'] },
    ]);
  });

  it('limits a paginated scan to its page and bookmarks the next key', async () => {
    const sim = new TxSimulator(state(), NS, 'tx');
    const scan = sim.rangeScan('a', '', 2);
    expect(await drain(scan)).toEqual(['a', 'b']);
    expect(await scan.bookmarkAndClose()).toBe('c');
    const last = sim.rangeScan('\uFFFD', '', 5);
    expect(await drain(last)).toEqual(['\uFFFD', '\u{1F600}']);
    expect(await last.bookmarkAndClose()).toBe('');
  });

  it('allows paginated queries only in read-only transactions', () => {
    const writer = new TxSimulator(state(), NS, 'tx1');
    writer.setState('a', bytes('x'));
    expect(() => writer.rangeScan('a', 'z', 10)).toThrow(
      expect.objectContaining({
        code: 'READ_ONLY_VIOLATION',
        message: 'txid [tx1]: unsuppored transaction. Paginated queries are supported only in a read-only transaction',
      }),
    );
    const reader = new TxSimulator(state(), NS, 'tx2');
    reader.rangeScan('a', 'z', 10);
    expect(() => {
      reader.deleteState('a');
    }).toThrow(expect.objectContaining({ code: 'READ_ONLY_VIOLATION' }));
  });

  it('refuses to write the empty key', () => {
    expect(() => {
      new TxSimulator(state(), NS, 'tx').setState('', bytes('x'));
    }).toThrow(expect.objectContaining({ code: 'INVALID_KEY', message: 'key must not be an empty string' }));
  });
});
