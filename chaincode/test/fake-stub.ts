/**
 * A Map-backed ChaincodeStub and ClientIdentity that behave like Fabric where the contract can tell: composite keys
 * exactly as fabric-shim builds them (stub.js createCompositeKey), range scans in byte order, LevelDB-style
 * pagination (bookmark = the next key), no read-your-writes inside a transaction, and writes applied only when the
 * transaction succeeds. The write set of a transaction that failed is discarded as Fabric discards it, but kept in
 * `discardedWrites` so a test can see what the contract wrote before it refused.
 */
import { createHash } from 'node:crypto';
import Long from 'long';
import type { Context } from 'fabric-contract-api';
import type { ChaincodeResponse, ChaincodeStub, ClientIdentity, Iterators, SerializedIdentity } from 'fabric-shim-api';

const NS = '\u0000';
const MAX_RUNE = '\u{10ffff}';

export interface IdentitySpec {
  readonly mspId: string;
  readonly ou: 'admin' | 'client' | 'peer';
  readonly role?: string;
}

export interface TxResult<T> {
  readonly result: T;
  readonly events: ReadonlyArray<{ name: string; payload: unknown; attachment?: Buffer }>;
  readonly txId: string;
  readonly writes: number;
  /** Keys plus values written: what the transaction's write set weighs in a block. */
  readonly writeBytes: number;
}

export function fakeIdentity(spec: IdentitySpec): ClientIdentity {
  const attrs: Record<string, string> = spec.role === undefined ? {} : { 'lianxin.role': spec.role };
  return {
    getMSPID: () => spec.mspId,
    getID: () => `x509::/C=CN/O=${spec.mspId}/OU=${spec.ou}/CN=user1::/C=CN/O=${spec.mspId}/CN=ca.${spec.mspId}`,
    getIDBytes: () => new Uint8Array(),
    getAttributeValue: (name: string) => attrs[name] ?? null,
    assertAttributeValue: (name: string, value: string) => attrs[name] === value,
  };
}

export function compositeKey(objectType: string, attributes: readonly string[]): string {
  for (const part of [objectType, ...attributes]) if (part.length === 0) throw new Error('object type or attribute not a non-zero length string');
  return `${NS}${objectType}${NS}${attributes.map((a) => `${a}${NS}`).join('')}`;
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** A write set: key to value, or to undefined for a deletion. */
export type WriteSet = ReadonlyMap<string, Buffer | undefined>;

export class FakeLedger {
  readonly state = new Map<string, Buffer>();
  #seq = 0;
  #discarded: WriteSet = new Map();
  /** Milliseconds since the epoch used as the next transaction's timestamp. */
  now = Date.parse('2026-03-01T00:00:00Z');
  /** The next transaction's transient data (the proposal's TransientMap); each transaction takes and clears it. */
  transient = new Map<string, Uint8Array>();

  /** Runs `fn` as one transaction; its writes are committed only if it resolves. */
  async invoke<T>(identity: IdentitySpec, fn: (ctx: Context) => Promise<T>): Promise<TxResult<T>> {
    const txId = this.#nextTxId();
    const stub = new FakeStub(this, txId, this.now);
    stub.transient = this.#takeTransient();
    const ctx = { stub: stub as unknown as ChaincodeStub, clientIdentity: fakeIdentity(identity) } as unknown as Context;
    this.#discarded = new Map();
    let result: T;
    try {
      result = await fn(ctx);
    } catch (err) {
      this.#discarded = new Map(stub.writes);
      throw err;
    }
    this.#commit(stub);
    let writeBytes = 0;
    for (const [key, value] of stub.writes) writeBytes += Buffer.byteLength(key) + (value?.length ?? 0);
    return { result, events: stub.events, txId, writes: stub.writes.size, writeBytes };
  }

  /** Runs a whole chaincode (fabric-contract-api dispatch) on `args`, as the peer's shim handler would. */
  async invokeChaincode(
    chaincode: { Invoke(stub: ChaincodeStub): Promise<ChaincodeResponse> }, creator: SerializedIdentity, args: string[],
  ): Promise<ChaincodeResponse & { events: ReadonlyArray<{ name: string; payload: unknown; attachment?: Buffer }> }> {
    const stub = new FakeStub(this, this.#nextTxId(), this.now, creator, args);
    stub.transient = this.#takeTransient();
    const response = await chaincode.Invoke(stub as unknown as ChaincodeStub);
    this.#discarded = response.status === 200 ? new Map() : new Map(stub.writes);
    if (response.status === 200) this.#commit(stub);
    return { ...response, events: stub.events };
  }

  /** What the last transaction wrote before it failed (empty after a success): never committed, kept for tests. */
  get discardedWrites(): WriteSet {
    return this.#discarded;
  }

  #takeTransient(): Map<string, Uint8Array> {
    const taken = this.transient;
    this.transient = new Map();
    return taken;
  }

  /** Fabric txids are 64 hex characters (SHA-256 of nonce ‖ creator); sizes measured here depend on it. */
  #nextTxId(): string {
    this.#seq += 1;
    return createHash('sha256').update(`tx ${this.#seq}`).digest('hex');
  }

  #commit(stub: FakeStub): void {
    for (const [key, value] of stub.writes) {
      if (value === undefined) this.state.delete(key);
      else this.state.set(key, value);
    }
  }

  sortedKeys(start: string, end: string): string[] {
    return [...this.state.keys()].filter((k) => byteOrder(k, start) >= 0 && byteOrder(k, end) < 0).sort(byteOrder);
  }
}

class FakeStub {
  readonly writes = new Map<string, Buffer | undefined>();
  transient = new Map<string, Uint8Array>();
  readonly events: Array<{ name: string; payload: unknown; attachment?: Buffer }> = [];
  readonly #ledger: FakeLedger;
  readonly #txId: string;
  readonly #time: number;
  readonly #creator: SerializedIdentity | undefined;
  readonly #args: string[];

  constructor(ledger: FakeLedger, txId: string, time: number, creator?: SerializedIdentity, args: string[] = []) {
    this.#ledger = ledger;
    this.#txId = txId;
    this.#time = time;
    this.#creator = creator;
    this.#args = args;
  }

  getBufferArgs(): Buffer[] {
    return this.#args.map((arg) => Buffer.from(arg, 'utf8'));
  }

  getChannelID(): string {
    return 'lianxin';
  }

  getCreator(): SerializedIdentity {
    if (this.#creator === undefined) throw new Error('this transaction has no creator');
    return this.#creator;
  }

  getTxID(): string {
    return this.#txId;
  }

  getTxTimestamp(): { seconds: Long; nanos: number } {
    return { seconds: Long.fromNumber(Math.floor(this.#time / 1000)), nanos: (this.#time % 1000) * 1_000_000 };
  }

  getState(key: string): Promise<Uint8Array> {
    // Fabric reads see committed state only, never this transaction's own writes.
    return Promise.resolve(this.#ledger.state.get(key) ?? new Uint8Array());
  }

  putState(key: string, value: Uint8Array): Promise<void> {
    if (value.length === 0) throw new Error('putState with an empty value deletes the key in Fabric; contracts must not rely on it');
    this.writes.set(key, Buffer.from(value));
    return Promise.resolve();
  }

  deleteState(key: string): Promise<void> {
    this.writes.set(key, undefined);
    return Promise.resolve();
  }

  getTransient(): Map<string, Uint8Array> {
    return this.transient;
  }

  setEvent(name: string, payload: Uint8Array): void {
    this.events.length = 0; // fabric-shim: the last setEvent wins
    // A JSON header, then (the Anchored event's index entries, anchored-event.ts) a line feed and bytes.
    const bytes = Buffer.from(payload);
    const split = bytes.indexOf(0x0a);
    const header = JSON.parse(bytes.toString('utf8', 0, split < 0 ? bytes.length : split)) as unknown;
    this.events.push({ name, payload: header, ...(split < 0 ? {} : { attachment: bytes.subarray(split + 1) }) });
  }

  createCompositeKey(objectType: string, attributes: string[]): string {
    return compositeKey(objectType, attributes);
  }

  splitCompositeKey(key: string): { objectType: string; attributes: string[] } {
    const [objectType = '', ...attributes] = key.slice(1).split(NS);
    attributes.pop();
    return { objectType, attributes };
  }

  getStateByRange(startKey: string, endKey: string): Promise<Iterators.StateQueryIterator> & AsyncIterable<Iterators.KV> {
    if (startKey.startsWith(NS) || endKey.startsWith(NS)) throw new Error(`first character of the key [${startKey}] contains a null character which is not allowed`);
    return this.#iterate(this.#ledger.sortedKeys(startKey || '\u0001', endKey || MAX_RUNE));
  }

  getStateByPartialCompositeKey(objectType: string, attributes: string[]): Promise<Iterators.StateQueryIterator> & AsyncIterable<Iterators.KV> {
    const prefix = compositeKey(objectType, attributes);
    return this.#iterate(this.#ledger.sortedKeys(prefix, prefix + MAX_RUNE));
  }

  async getStateByPartialCompositeKeyWithPagination(
    objectType: string, attributes: string[], pageSize: number, bookmark = '',
  ): Promise<{ iterator: Iterators.StateQueryIterator; metadata: { fetchedRecordsCount: number; bookmark: string } }> {
    const prefix = compositeKey(objectType, attributes);
    const keys = this.#ledger.sortedKeys(bookmark === '' ? prefix : bookmark, prefix + MAX_RUNE);
    const page = keys.slice(0, pageSize);
    const iterator = await this.#iterate(page);
    return { iterator, metadata: { fetchedRecordsCount: page.length, bookmark: keys[pageSize] ?? '' } };
  }

  #iterate(keys: string[]): Promise<Iterators.StateQueryIterator> & AsyncIterable<Iterators.KV> {
    const state = this.#ledger.state;
    let i = 0;
    const iterator: Iterators.StateQueryIterator = {
      next: () => {
        const key = keys[i++];
        const value = key === undefined ? undefined : state.get(key);
        return Promise.resolve(key === undefined || value === undefined
          ? { done: true, value: undefined as unknown as Iterators.KV }
          : { done: false, value: { namespace: 'lianxin', key, value } });
      },
      close: () => Promise.resolve(),
    };
    const promise = Promise.resolve(iterator);
    return Object.assign(promise, {
      async *[Symbol.asyncIterator](): AsyncGenerator<Iterators.KV> {
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
      },
    });
  }
}
