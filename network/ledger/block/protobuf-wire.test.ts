import { common, peer } from '@hyperledger/fabric-protos';
import { describe, expect, it } from 'vitest';
import {
  bytesField,
  encodeMessage,
  int32Field,
  messageField,
  messageParts,
  NO_FIELD,
  readMessage,
  readSingularMessage,
  singleBytesField,
  singleLengthDelimitedFields,
  stringField,
} from './protobuf-wire.ts';

const hex = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('hex') : undefined);

describe('protobuf wire writers', () => {
  it('write what google-protobuf writes, defaults left out and set messages kept', () => {
    for (const status of [200, 0, -1, 2 ** 31 - 1, -(2 ** 31)]) {
      const response = new peer.Response();
      response.setStatus(status);
      response.setMessage(status === 0 ? '' : 'é ok');
      response.setPayload(Buffer.alloc(status === 0 ? 0 : 200, 1));
      const action = new peer.ChaincodeAction();
      action.setResponse(response);
      action.setChaincodeId(new peer.ChaincodeID());
      const written = encodeMessage(
        messageField(
          3,
          int32Field(1, status),
          stringField(2, status === 0 ? '' : 'é ok'),
          bytesField(3, Buffer.alloc(status === 0 ? 0 : 200, 1)),
        ),
        messageField(4),
      );
      expect(hex(written), String(status)).toBe(hex(action.serializeBinary()));
    }
  });
});

describe('messageParts', () => {
  it('are, concatenated, the bytes encodeMessage writes, large values left where they lie', () => {
    const large = Buffer.alloc(300_000, 7);
    const fields = [
      bytesField(1, Buffer.from('hash')),
      messageField(
        2,
        bytesField(1, large),
        NO_FIELD,
        messageField(2, stringField(1, 'cc'), int32Field(2, -5), bytesField(4, Buffer.alloc(200, 2))),
        messageField(3),
        messageField(4, stringField(2, 'basic')),
      ),
    ];
    const parts = messageParts(...fields);
    expect(Buffer.concat(parts).equals(encodeMessage(...fields))).toBe(true);
    expect(parts).toContain(large);
    // the tags, lengths and small values before and after the large value: one part each
    expect(parts.length).toBe(3);
    expect(messageParts()).toEqual([]);
  });
});

describe('protobuf wire readers', () => {
  const envelope = (payload: string, signature: string) => {
    const e = new common.Envelope();
    e.setPayload(Buffer.from(payload));
    e.setSignature(Buffer.from(signature));
    return Buffer.from(e.serializeBinary());
  };

  it('find the fields google-protobuf decodes, as views', () => {
    const bytes = envelope('p'.repeat(300), 'sig');
    const fields = singleLengthDelimitedFields(bytes);
    expect([...(fields?.keys() ?? [])]).toEqual([1, 2]);
    expect(hex(fields?.get(1))).toBe(hex(common.Envelope.deserializeBinary(bytes).getPayload_asU8()));
    expect(fields?.get(2)?.buffer).toBe(bytes.buffer);
    expect(hex(singleBytesField(bytes, 2))).toBe(hex(Buffer.from('sig')));
  });

  it('give up on a repeated field, another wire type, a truncated length or a varint beyond 7 bytes', () => {
    const good = envelope('payload', 'sig');
    const repeated = Buffer.concat([good, Buffer.from([0x0a, 0x01, 0x78])]);
    const varintField = Buffer.concat([good, Buffer.from([0x18, 0x05])]);
    const truncated = good.subarray(0, good.length - 1);
    const longVarint = Buffer.concat([good, Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]);
    const group = Buffer.concat([good, Buffer.from([0x1b])]);
    for (const bytes of [repeated, varintField, truncated, longVarint, group]) {
      expect(singleLengthDelimitedFields(bytes)).toBeUndefined();
    }
    expect(singleBytesField(repeated, 1)).toBeUndefined();
    expect(hex(singleBytesField(varintField, 1))).toBe(hex(Buffer.from('payload')));
    for (const bytes of [truncated, longVarint, group]) expect(singleBytesField(bytes, 1)).toBeUndefined();
  });

  it('read each named field with its values in wire order; a singular read only where none repeats', () => {
    // Envelope{payload 'a', signature 'x', payload 'b', payload 'c'}; field 3 is not on the wire
    const bytes = Buffer.from('\x0a\x01a\x12\x01x\x0a\x01b\x0a\x01c', 'latin1');
    const schema = { 1: 'string', 2: 'bytes', 3: 'varint' } as const;
    const message = readMessage(bytes, schema);
    expect(message?.all(1)).toEqual(['a', 'b', 'c']);
    expect([message?.count(1), message?.count(2), message?.count(3)]).toEqual([3, 1, 0]);
    expect([message?.single(1), message?.single(3), message?.has(3)]).toEqual([undefined, undefined, false]);
    expect(hex(message?.single(2) as Uint8Array)).toBe(hex(Buffer.from('x')));
    expect(message?.all(2).map((value) => hex(value as Uint8Array))).toEqual([hex(Buffer.from('x'))]);
    expect(message?.repeats).toBe(true);
    expect(readSingularMessage(bytes, schema)).toBeUndefined();
    const singular = readSingularMessage(envelope('p', 's'), schema);
    expect([singular?.single(1), singular?.repeats]).toEqual(['p', false]);
  });

  it('count a field repeated inside an embedded message as a repeat of the whole', () => {
    // {1: {1: 'a', 1: 'b'}}: google-protobuf keeps the inner field's last value; a singular read leaves it.
    const inner = Buffer.from('\x0a\x01a\x0a\x01b', 'latin1');
    const bytes = Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
    const schema = { 1: { 1: 'string' } } as const;
    expect(readMessage(bytes, schema)?.repeats).toBe(true);
    expect(readSingularMessage(bytes, schema)).toBeUndefined();
  });

  it('give up on a tag beyond 32 bits, which google-protobuf reads as its low 32 bits and Go refuses', () => {
    // Field 1, length-delimited, written in 5 bytes with bit 32 set: google-protobuf decodes "abc" as field 1.
    const highField1 = Buffer.from([0x8a, 0x80, 0x80, 0x80, 0x10, 0x03, 0x61, 0x62, 0x63]);
    expect(hex(common.Envelope.deserializeBinary(highField1).getPayload_asU8())).toBe(hex(Buffer.from('abc')));
    // Field 1 as a varint the same way: google-protobuf refuses the message (field 1 of the wrong wire type).
    const highVarint1 = Buffer.from([0x88, 0x80, 0x80, 0x80, 0x10, 0x05, 0x12, 0x01, 0x41]);
    expect(() => common.Envelope.deserializeBinary(highVarint1)).toThrow();
    for (const bytes of [highField1, highVarint1]) {
      expect(singleLengthDelimitedFields(bytes)).toBeUndefined();
      expect(singleBytesField(bytes, 1)).toBeUndefined();
      expect(singleBytesField(bytes, 2)).toBeUndefined();
      expect(readMessage(bytes, { 1: 'bytes', 2: 'bytes' })).toBeUndefined();
    }
  });
});
