import { common } from '@hyperledger/fabric-protos';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../block/index.ts';
import { PreparedTransactions, type PreparedTransaction } from './prepared-transactions.ts';

/** An envelope with a channel header naming `txId`, and the record of its payload as the endorser would keep it. */
function transaction(txId: string): { envelope: Uint8Array; prepared: PreparedTransaction } {
  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(common.HeaderType.ENDORSER_TRANSACTION);
  channelHeader.setChannelId('credit');
  channelHeader.setTxId(txId);
  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(Buffer.from('creator'));
  signatureHeader.setNonce(Buffer.from('nonce'));
  header.setSignatureHeader(signatureHeader.serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(Buffer.from(`data of ${txId}`));
  const envelope = new common.Envelope();
  envelope.setPayload(payload.serializeBinary());
  envelope.setSignature(Buffer.from('signature'));
  const bytes = envelope.serializeBinary();
  const decoded = decodeEnvelope(bytes);
  return {
    envelope: bytes,
    prepared: { ...decoded, payload: Buffer.from(decoded.payload), signature: new Uint8Array() },
  };
}

describe('PreparedTransactions', () => {
  it('holds at most its capacity, dropping the oldest, and gives each record once', () => {
    const records = new PreparedTransactions(2);
    const [a, b, c] = ['a', 'b', 'c'].map(transaction);
    for (const t of [a, b, c]) records.keep(t?.prepared ?? transaction('x').prepared);
    expect(records.size).toBe(2);
    expect(records.take(a?.envelope ?? new Uint8Array())).toBeUndefined();
    const taken = records.take(c?.envelope ?? new Uint8Array());
    expect(taken?.txId).toBe('c');
    expect(Buffer.from(taken?.signature ?? []).toString()).toBe('signature');
    expect(records.take(c?.envelope ?? new Uint8Array())).toBeUndefined();
    expect(records.size).toBe(1);
  });

  it('gives nothing for an envelope whose payload differs from the record of its txid', () => {
    const records = new PreparedTransactions();
    const original = transaction('t');
    records.keep(original.prepared);
    const other = transaction('t');
    const changed = common.Envelope.deserializeBinary(other.envelope);
    const payload = common.Payload.deserializeBinary(changed.getPayload_asU8());
    payload.setData(Buffer.from('other data'));
    changed.setPayload(payload.serializeBinary());
    expect(records.take(changed.serializeBinary())).toBeUndefined();
    expect(records.take(original.envelope)?.txId).toBe('t');
  });
});
