/**
 * Fabric's transaction simulation over committed state (core/ledger/kvledger/txmgmt/txmgr/tx_simulator.go,
 * query_executor.go, rwsetutil/rwset_builder.go; reference §7).
 */
import { ledger } from '@hyperledger/fabric-protos';
import {
  boolField,
  bytesElement,
  bytesField,
  encodeMessage,
  messageField,
  NO_FIELD,
  stringField,
  uint64Field,
  type WireField,
} from '../block/protobuf-wire.ts';
import { sha256 } from '../../crypto/index.ts';
import type { KvRead, KvWrite, NamespaceRwset, StateEntry, StateReader, Version, VersionedValue } from '../types.ts';
import { SimulationError } from './errors.ts';
import { checkWriteKey, compareKeys } from './keys.ts';
import { checkCollection, hashedNamespace, keyHashHex, privateNamespace } from './private-data.ts';

const { kvrwset } = ledger.rwset;
/** NsReadWriteSet.rwset. */
const NS_RWSET_RWSET = 2;
const EMPTY = new Uint8Array(0);
/**
 * The most value bytes a write set handed to the committer as read (TxSimulator.simulation) may hold: the record it
 * travels in lives until Submit (up to 1,024 of them, endorser/prepared-transactions.ts), and keeps these values a
 * second time beside the envelope's copy (a megabyte per anchor). Decoding a larger write set is a small part of what
 * it costs anyway.
 */
const HANDED_OVER_VALUE_BYTES = 4 * 1024;

/** A range iterator as the handler drives it (statedb kvScanner wrapped by txmgr resultsItr). */
export interface RangeScan {
  next(): Promise<StateEntry | undefined>;
  /** The key the next page starts at, '' when the range is done (stateleveldb kvScanner.GetBookmarkAndClose). */
  bookmarkAndClose(): Promise<string>;
  close(): Promise<void>;
}

interface Read {
  readonly key: string;
  readonly version: Version | undefined;
}

/** resultsItr: records what the caller actually consumed, for phantom-read checks at commit. */
class RecordedScan implements RangeScan {
  private readonly iterator: AsyncIterator<StateEntry>;
  private returned = 0;
  private closed = false;
  /** Fabric leaves EndKey empty until the first Next() (query_executor.go updateRangeQueryInfo). */
  endKey = '';
  exhausted = false;
  readonly reads: Read[] = [];

  constructor(
    state: StateReader,
    namespace: string,
    readonly startKey: string,
    private readonly queryEndKey: string,
    private readonly pageSize: number,
  ) {
    this.iterator = state.getStateRange(namespace, startKey, queryEndKey)[Symbol.asyncIterator]();
  }

  async next(): Promise<StateEntry | undefined> {
    let entry: StateEntry | undefined;
    if (!this.closed && (this.pageSize === 0 || this.returned < this.pageSize)) {
      const step = await this.iterator.next();
      entry = step.done === true ? undefined : step.value;
    }
    if (entry === undefined) {
      this.exhausted = true;
      this.endKey = this.queryEndKey;
      return undefined;
    }
    this.returned++;
    this.reads.push({ key: entry.key, version: entry.version });
    this.endKey = entry.key;
    return entry;
  }

  async bookmarkAndClose(): Promise<string> {
    if (this.closed) return '';
    const step = await this.iterator.next();
    await this.close();
    return step.done === true ? '' : step.value.key;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.iterator.return?.();
  }
}

function toVersion(version: Version): ledger.rwset.kvrwset.Version {
  const v = new kvrwset.Version();
  v.setBlockNum(version.blockNum);
  v.setTxNum(version.txNum);
  return v;
}

function toKVRead(read: Read): ledger.rwset.kvrwset.KVRead {
  const r = new kvrwset.KVRead();
  r.setKey(read.key);
  if (read.version !== undefined) r.setVersion(toVersion(read.version));
  return r;
}

/**
 * KVRWSet.reads' element: KVRead{key = 1, version = 2 (Version{block_num = 1, tx_num = 2})} as google-protobuf writes
 * it (a set version written even when both numbers are 0), without its message objects and writer per read.
 */
function kvReadField(key: string, version: Version | undefined): WireField {
  return messageField(
    1,
    stringField(1, key),
    version === undefined ? NO_FIELD : messageField(2, uint64Field(1, version.blockNum), uint64Field(2, version.txNum)),
  );
}

function sortedByKey<T>(entries: Iterable<[string, T]>): [string, T][] {
  return [...entries].sort(([a], [b]) => compareKeys(a, b));
}

/** One transaction's simulation in one namespace (the invoked chaincode). */
export class TxSimulator {
  /** The first read of each key wins: state is committed, so later reads see the same version or a newer one. */
  private readonly reads = new Map<string, Version | undefined>();
  /** Last write wins; an empty value is a delete (rwset_builder.go newKVWrite: IsDelete = len(value) == 0). */
  private readonly writes = new Map<string, Uint8Array>();
  private readonly scans: RecordedScan[] = [];
  private writePerformed = false;
  private paginatedQueryPerformed = false;
  /** Per collection: versions of the hashed keys read (by plaintext key), and plaintext writes. */
  private readonly privateReads = new Map<string, Map<string, Version | undefined>>();
  private readonly privateWrites = new Map<string, Map<string, Uint8Array>>();

  constructor(
    private readonly state: StateReader,
    readonly namespace: string,
    readonly txId: string,
  ) {}

  /** No read-your-writes: always committed state (query_executor.go GetState). */
  async getState(key: string): Promise<Uint8Array | undefined> {
    const committed = await this.state.getState(this.namespace, key);
    if (!this.reads.has(key)) this.reads.set(key, committed?.version);
    return committed?.value;
  }

  /** The ledger keeps no key metadata, but Fabric still records the read (query_executor.go GetStateMetadata). */
  async getStateMetadata(key: string): Promise<void> {
    await this.getState(key);
  }

  setState(key: string, value: Uint8Array): void {
    this.checkWritePrecondition(key);
    this.writes.set(key, value);
  }

  deleteState(key: string): void {
    this.setState(key, new Uint8Array(0));
  }

  /**
   * query_executor.go GetPrivateData: the read is recorded against the hashed state's version; a peer that holds
   * the hash but not the matching plaintext (another organisation's collection) cannot answer.
   */
  async getPrivateData(collection: string, key: string): Promise<Uint8Array | undefined> {
    checkCollection(this.namespace, collection);
    const hashed = await this.#readHash(collection, key);
    const plain = await this.state.getState(privateNamespace(this.namespace, collection), key);
    if (hashed === undefined) return undefined;
    if (!sameVersion(plain?.version, hashed.version)) {
      throw new SimulationError(
        'UNSUPPORTED',
        `private data matching public hash version is not available. Public hash version = ${formatVersion(hashed.version)}, Private data version = ${plain ? formatVersion(plain.version) : 'nil'}`,
      );
    }
    return plain?.value;
  }

  /** GetPrivateDataHash: the value's SHA-256 from the hashed state, which every peer has. */
  async getPrivateDataHash(collection: string, key: string): Promise<Uint8Array | undefined> {
    checkCollection(this.namespace, collection);
    return (await this.#readHash(collection, key))?.value;
  }

  putPrivateData(collection: string, key: string, value: Uint8Array): void {
    checkCollection(this.namespace, collection);
    this.checkWritePrecondition(key);
    let writes = this.privateWrites.get(collection);
    if (!writes) this.privateWrites.set(collection, (writes = new Map<string, Uint8Array>()));
    writes.set(key, value);
  }

  deletePrivateData(collection: string, key: string): void {
    this.putPrivateData(collection, key, new Uint8Array(0));
  }

  async #readHash(collection: string, key: string): Promise<VersionedValue | undefined> {
    const hashed = await this.state.getState(hashedNamespace(this.namespace, collection), keyHashHex(key));
    let reads = this.privateReads.get(collection);
    if (!reads) this.privateReads.set(collection, (reads = new Map<string, Version | undefined>()));
    if (!reads.has(key)) reads.set(key, hashed?.version);
    return hashed;
  }

  /**
   * An empty endKey means no upper bound. `pageSize` set = a paginated query (0 or less: no page limit, as the
   * leveldb kvScanner), which Fabric allows only in read-only transactions.
   */
  rangeScan(startKey: string, endKey: string, pageSize?: number): RangeScan {
    if (pageSize !== undefined) {
      if (this.writePerformed) {
        throw new SimulationError(
          'READ_ONLY_VIOLATION',
          `txid [${this.txId}]: unsuppored transaction. Paginated queries are supported only in a read-only transaction`,
        );
      }
      this.paginatedQueryPerformed = true;
    }
    const scan = new RecordedScan(this.state, this.namespace, startKey, endKey, Math.max(0, pageSize ?? 0));
    this.scans.push(scan);
    return scan;
  }

  /**
   * Serialized rwset.TxReadWriteSet; empty ns_rwset when nothing was read or written, as Fabric's builder. Written
   * into one buffer by protobuf-wire, each write's value copied once: google-protobuf serialized the KVRWSet, then
   * copied it into the TxReadWriteSet (two copies of a 1.1 MB anchor value, bench/RESULTS.md issue 13
   * ledger-anchor); the reads too (a google-protobuf KVRead, Version and serializeBinary per read cost ≈ 2 KB, ledger14).
   * Range queries and collections, rare and small, are still google-protobuf's, embedded as they are.
   * The bytes are google-protobuf's (data_model KV is 0, left out): tx-simulator.test.ts decodes and re-encodes them.
   */
  results(): Uint8Array {
    const { fields } = this.simulation();
    return fields.length === 0 ? new Uint8Array(0) : encodeMessage(...fields);
  }

  /**
   * `fields`: the fields of {@link results}' TxReadWriteSet, not yet written (none when nothing was read or written):
   * the endorser writes them straight into the prepared envelope, so that a large write's value is copied once, not
   * into a write set first and then the envelope (0.87 MB per 10,000-entry anchor: bench/RESULTS.md, ledger5).
   * `rwsets`: the same TxReadWriteSet's namespaces as the committer reads them when no collection was touched and the
   * values written are small (undefined otherwise): handed to validation with the prepared transaction, which then
   * does not decode them again (≈ 2.5 µs and its google-protobuf objects per transaction, bench/RESULTS.md ledger15).
   */
  simulation(): { readonly fields: WireField[]; readonly rwsets: NamespaceRwset[] | undefined } {
    const rangeQueries = this.rangeQueryInfos();
    const collections = this.collectionSets();
    if (this.reads.size === 0 && this.writes.size === 0 && rangeQueries.length === 0 && collections.length === 0)
      return { fields: [], rwsets: [] };
    const reads = sortedByKey(this.reads).map(([key, version]): KvRead => ({ key, version }));
    // An empty value is a delete.
    const writes = sortedByKey(this.writes).map(([key, value]): KvWrite => ({
      key,
      value: value.length === 0 ? null : value,
    }));
    // KVRWSet{reads = 1, range_queries_info = 2, writes = 3 (KVWrite{key = 1, is_delete = 2, value = 3})}
    const kv = messageField(
      NS_RWSET_RWSET,
      ...reads.map((read) => kvReadField(read.key, read.version)),
      ...rangeQueries.map((info) => bytesElement(2, info.serializeBinary())),
      ...writes.map(({ key, value }) =>
        messageField(3, stringField(1, key), boolField(2, value === null), bytesField(3, value ?? EMPTY)),
      ),
    );
    // TxReadWriteSet{ns_rwset = 2: NsReadWriteSet{namespace = 1, rwset = 2 (bytes: left out when empty), hashed = 3}}
    const fields = [
      messageField(
        2,
        stringField(1, this.namespace),
        kv.length === 0 ? NO_FIELD : kv,
        ...collections.map((c) => bytesElement(3, c.hashed.serializeBinary())),
      ),
    ];
    const handOver =
      collections.length === 0 && writes.reduce((sum, w) => sum + (w.value?.length ?? 0), 0) <= HANDED_OVER_VALUE_BYTES;
    const rwsets = handOver ? [{ namespace: this.namespace, reads, rangeQueries, writes }] : undefined;
    return { fields, rwsets };
  }

  /**
   * Serialized rwset.TxPvtReadWriteSet: the plaintext writes of each collection, which never go into a block
   * (the transient store holds them until commit); undefined when there are none.
   */
  privateResults(): Uint8Array | undefined {
    const collections = this.collectionSets().flatMap((c) => (c.pvt ? [c.pvt] : []));
    if (collections.length === 0) return undefined;
    const ns = new ledger.rwset.NsPvtReadWriteSet();
    ns.setNamespace(this.namespace);
    ns.setCollectionPvtRwsetList(collections);
    const pvt = new ledger.rwset.TxPvtReadWriteSet();
    pvt.setDataModel(ledger.rwset.TxReadWriteSet.DataModel.KV);
    pvt.setNsPvtRwsetList([ns]);
    return pvt.serializeBinary();
  }

  /**
   * rwsetutil/rwset_builder.go: per collection, sorted by name, the hashed reads and writes that go into the
   * public rwset, and the plaintext writes whose KVRWSet's SHA-256 is its pvt_rwset_hash.
   */
  private collectionSets(): {
    hashed: ledger.rwset.CollectionHashedReadWriteSet;
    pvt?: ledger.rwset.CollectionPvtReadWriteSet;
  }[] {
    const names = [...new Set([...this.privateReads.keys(), ...this.privateWrites.keys()])].sort(compareKeys);
    return names.map((collection) => {
      const hashedSet = new kvrwset.HashedRWSet();
      hashedSet.setHashedReadsList(
        sortedByKey(this.privateReads.get(collection) ?? []).map(([key, version]) => {
          const read = new kvrwset.KVReadHash();
          read.setKeyHash(sha256(Buffer.from(key, 'utf8')));
          if (version !== undefined) read.setVersion(toVersion(version));
          return read;
        }),
      );
      const writes = sortedByKey(this.privateWrites.get(collection) ?? []);
      hashedSet.setHashedWritesList(
        writes.map(([key, value]) => {
          const write = new kvrwset.KVWriteHash();
          write.setKeyHash(sha256(Buffer.from(key, 'utf8')));
          write.setIsDelete(value.length === 0);
          if (value.length > 0) write.setValueHash(sha256(value));
          return write;
        }),
      );
      const hashed = new ledger.rwset.CollectionHashedReadWriteSet();
      hashed.setCollectionName(collection);
      hashed.setHashedRwset(hashedSet.serializeBinary());
      if (writes.length === 0) return { hashed };
      const plain = new kvrwset.KVRWSet();
      plain.setWritesList(
        writes.map(([key, value]) => {
          const w = new kvrwset.KVWrite();
          w.setKey(key);
          w.setIsDelete(value.length === 0);
          w.setValue(value);
          return w;
        }),
      );
      const plainBytes = plain.serializeBinary();
      hashed.setPvtRwsetHash(sha256(plainBytes));
      const pvt = new ledger.rwset.CollectionPvtReadWriteSet();
      pvt.setCollectionName(collection);
      pvt.setRwset(plainBytes);
      return { hashed, pvt };
    });
  }

  /**
   * In the order the queries were opened, deduplicated on (start, end, exhausted): rwset_builder.go keeps range
   * queries in insertion order (AddToRangeQuerySet), unlike reads and writes. Fabric hashes raw reads into a
   * Merkle summary above 50 results; the embedded ledger always keeps raw reads, which its validator re-checks.
   */
  private rangeQueryInfos(): ledger.rwset.kvrwset.RangeQueryInfo[] {
    const seen = new Set<string>();
    const infos: ledger.rwset.kvrwset.RangeQueryInfo[] = [];
    for (const scan of this.scans) {
      const id = JSON.stringify([scan.startKey, scan.endKey, scan.exhausted]);
      if (seen.has(id)) continue;
      seen.add(id);
      const info = new kvrwset.RangeQueryInfo();
      info.setStartKey(scan.startKey);
      info.setEndKey(scan.endKey);
      info.setItrExhausted(scan.exhausted);
      const rawReads = new kvrwset.QueryReads();
      rawReads.setKvReadsList(scan.reads.map(toKVRead));
      info.setRawReads(rawReads);
      infos.push(info);
    }
    return infos;
  }

  private checkWritePrecondition(key: string): void {
    if (this.paginatedQueryPerformed) {
      throw new SimulationError(
        'READ_ONLY_VIOLATION',
        `txid [${this.txId}]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed`,
      );
    }
    this.writePerformed = true;
    checkWriteKey(key);
  }
}

function sameVersion(a: Version | undefined, b: Version | undefined): boolean {
  if (!a || !b) return a === b;
  return a.blockNum === b.blockNum && a.txNum === b.txNum;
}

function formatVersion(v: Version): string {
  return `&version.Height{BlockNum:0x${v.blockNum.toString(16)}, TxNum:0x${v.txNum.toString(16)}}`;
}
