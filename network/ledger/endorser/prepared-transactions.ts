/**
 * The transactions the endorser prepared and has not yet seen submitted, each with what the committer would
 * decode out of its payload. A submitted envelope whose payload is byte for byte one of them is admitted and
 * validated on that record, not decoded again (issue 13: the envelope was decoded three times). Bounded: an
 * endorsement never submitted is forgotten once newer ones push it out, and its transaction, if it comes after
 * all, is decoded as any other.
 */
import type { DecodedEnvelope } from '../block/index.ts';
import { singleBytesField, singleLengthDelimitedFields } from '../block/protobuf-wire.ts';

/** Field numbers (fabric-protos common/common.proto). */
const ENVELOPE_PAYLOAD = 1;
const ENVELOPE_SIGNATURE = 2;
const PAYLOAD_HEADER = 1;
const HEADER_CHANNEL_HEADER = 1;
const CHANNEL_HEADER_TX_ID = 5;

/**
 * Sixteen times the bench's 64 transactions in flight between Endorse and Submit; at ≈ 5 KB each (with at most 4 KiB
 * more of a small write set's values, handed over as the simulation made them), at most ≈ 5–9 MB held for endorsements
 * never submitted (an entry leaves at its Submit).
 */
const DEFAULT_CAPACITY = 1_024;

/** A prepared transaction's payload and what it holds: the envelope the client signs, before its signature. */
export type PreparedTransaction = DecodedEnvelope & { readonly payload: Buffer };

export class PreparedTransactions {
  readonly #entries = new Map<string, PreparedTransaction>();
  readonly #capacity: number;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  keep(prepared: PreparedTransaction): void {
    this.#entries.delete(prepared.txId);
    if (this.#entries.size >= this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(prepared.txId, prepared);
  }

  /**
   * The decoded form of `envelope` when it is a plain Envelope (payload and signature, nothing else) whose payload
   * is one this endorser prepared, byte for byte; the record is used up. Undefined otherwise: the caller decodes.
   * `envelope` is attacker-controlled; the txid read here only finds the candidate, the byte comparison decides.
   */
  take(envelope: Uint8Array): DecodedEnvelope | undefined {
    const fields = singleLengthDelimitedFields(envelope);
    const payload = fields?.get(ENVELOPE_PAYLOAD);
    if (!fields || !payload || fields.size !== (fields.has(ENVELOPE_SIGNATURE) ? 2 : 1)) return undefined;
    const header = singleBytesField(payload, PAYLOAD_HEADER);
    const channelHeader = header && singleBytesField(header, HEADER_CHANNEL_HEADER);
    const txId = channelHeader && singleBytesField(channelHeader, CHANNEL_HEADER_TX_ID);
    if (!txId) return undefined;
    const key = Buffer.from(txId.buffer, txId.byteOffset, txId.byteLength).toString('utf8');
    const prepared = this.#entries.get(key);
    if (!prepared?.payload.equals(payload)) return undefined;
    this.#entries.delete(key);
    return { ...prepared, signature: fields.get(ENVELOPE_SIGNATURE) ?? new Uint8Array(0) };
  }
}
