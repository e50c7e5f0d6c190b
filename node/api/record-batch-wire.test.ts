import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { prng } from '../log/test-log.ts';
import type { RecordBatch } from './generated/lianxin/v1/RecordBatch.ts';
import { PROTO_FILES, PROTO_LOADER_OPTIONS, PROTO_ROOT } from './proto-files.ts';
import { serviceDefinition } from './proto-loader.ts';
import {
  decodePlainRecordBatch,
  EncodedRecordBatch,
  encodePlainRecordBatch,
  RecordBatchEncodingError,
} from './record-batch-wire.ts';
import { MalformedMessage, strictDeserializer } from './strict-decoding.ts';

// The reference: proto-loader's own (de)serializers of IngestRecords, the request behind the strict check.
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => `${PROTO_ROOT}/${target}`;
root.loadSync(PROTO_FILES, { keepCase: true }).resolveAll();
const plain = (
  loadSync(PROTO_FILES, PROTO_LOADER_OPTIONS)['lianxin.v1.RecordService'] as Record<
    string,
    MethodDefinition<RecordBatch, unknown>
  >
).IngestRecords;
if (!plain) throw new Error('no IngestRecords');
const strict = strictDeserializer(root.lookupType('lianxin.v1.RecordBatch'), plain.requestDeserialize);
const reference = { encode: plain.requestSerialize, decode: strict };

const ascii = (random: (below: number) => number, length: number) =>
  Array.from({ length }, () => String.fromCharCode(0x20 + random(0x7f - 0x20))).join('');

/** A batch with any field absent, empty or long, versions of every varint width a client may send. */
function randomBatch(random: (below: number) => number): RecordBatch {
  const maybe = <T>(value: T): T | undefined => (random(6) === 0 ? undefined : value);
  return {
    ...(random(8) > 0 && { requestId: ascii(random, random(140)) }),
    records: Array.from({ length: random(12) }, () => ({
      ...(maybe(1) && { subject: ascii(random, random(3) === 0 ? random(200) : 18) }),
      ...(maybe(1) && { kind: ascii(random, random(33)) }),
      ...(maybe(1) && { version: Math.min(Number.MAX_SAFE_INTEGER, Math.floor(2 ** random(54) * random(4))) }),
      ...(maybe(1) && {
        content: Buffer.from(Array.from({ length: random(4) === 0 ? random(300) : 0 }, () => random(256))),
      }),
      ...(maybe(1) && { contentType: ascii(random, random(130)) }),
    })),
  };
}

const validRecord = {
  subject: '91310000000000000U',
  kind: 'loan',
  version: 1,
  contentType: 'application/json',
  content: Buffer.from('{}'),
};

describe('RecordBatch on the bulk ingest path', () => {
  it('encodes byte for byte as protobufjs does, over random batches', () => {
    const random = prng(13);
    for (let round = 0; round < 500; round++) {
      const batch = randomBatch(random);
      expect(encodePlainRecordBatch(batch)?.toString('hex')).toBe(reference.encode(batch).toString('hex'));
    }
  });

  it('leaves what it cannot encode plainly to protobufjs: non-ASCII strings, string versions', () => {
    expect(encodePlainRecordBatch({ requestId: 'é' })).toBeUndefined();
    expect(encodePlainRecordBatch({ records: [{ subject: '统一' }] })).toBeUndefined();
    expect(encodePlainRecordBatch({ records: [{ version: '7' }] })).toBeUndefined();
    expect(encodePlainRecordBatch({ records: [{ content: 'aGk=' }] })).toBeUndefined();
    // Through the method's serializer they still encode, by protobufjs.
    const method = serviceDefinition('RecordService').IngestRecords;
    const batch = { requestId: 'é', records: [{ subject: '统一', version: '7', content: 'aGk=' }] };
    expect(method.requestSerialize(batch).equals(reference.encode(batch))).toBe(true);
  });

  it('sends an EncodedRecordBatch as protobufjs encodes its records, and decodes them back from its bytes', () => {
    const random = prng(31);
    const method = serviceDefinition('RecordService').IngestRecords;
    for (let round = 0; round < 200; round++) {
      // The records a client validated: every field present, a positive version.
      const records = Array.from({ length: random(12) }, () => ({
        subject: ascii(random, 18),
        kind: ascii(random, 1 + random(32)),
        version: 1 + Math.floor(2 ** random(53) * random(2)),
        contentType: ascii(random, 1 + random(127)),
        content: Buffer.from(Array.from({ length: 1 + random(300) }, () => random(256))),
      }));
      const requestId = ascii(random, random(140));
      const batch = EncodedRecordBatch.of(requestId, records);
      const expected = reference.encode({ requestId, records });
      expect(batch.bytes.toString('hex')).toBe(expected.toString('hex'));
      expect(method.requestSerialize(batch)).toBe(batch.bytes);
      expect(batch.count).toBe(records.length);
      expect(batch.records).toEqual(records);
    }
    // The largest version a record may have (2^53 − 1), an 8-byte varint the random rounds seldom reach.
    const largest = [{ ...validRecord, version: Number.MAX_SAFE_INTEGER }];
    const batch = EncodedRecordBatch.of('max', largest);
    expect(batch.bytes.equals(reference.encode({ requestId: 'max', records: largest }))).toBe(true);
    expect(batch.records).toEqual(largest);
    expect(() => EncodedRecordBatch.of('id', [{ ...validRecord, subject: '统一' }])).toThrow(RecordBatchEncodingError);
  });

  it('decodes to exactly what the strict path gives, over random batches', () => {
    const random = prng(14);
    for (let round = 0; round < 500; round++) {
      const batch = randomBatch(random);
      const bytes = reference.encode(batch);
      const fast = decodePlainRecordBatch(bytes);
      // Versions from 2^49 take varints of 8 bytes and more, which the strict path decodes.
      const plainVersions = (batch.records ?? []).every((r) => Number(r.version ?? 0) < 2 ** 49);
      expect(fast === undefined).toBe(!plainVersions);
      if (fast !== undefined) expect(fast).toStrictEqual(reference.decode(bytes));
    }
  });

  it('decodes corrupted bytes as the strict path does, or hands them to it', () => {
    const random = prng(15);
    let handedOver = 0;
    for (let round = 0; round < 3000; round++) {
      const bytes = Buffer.from(reference.encode(randomBatch(random)));
      if (bytes.length === 0) continue;
      // Flip, drop or cut: lengths that run past their message, wrong wire types, unknown fields, non-ASCII.
      const mutated =
        round % 3 === 0
          ? bytes.subarray(0, random(bytes.length))
          : Buffer.concat([
              bytes.subarray(0, random(bytes.length)),
              Buffer.from([random(256)]),
              bytes.subarray(1 + random(bytes.length)),
            ]);
      if (round % 3 === 1) mutated[random(mutated.length)] = random(256);
      const fast = decodePlainRecordBatch(mutated);
      const strictAnswer = reference.decode(mutated);
      if (fast === undefined) {
        handedOver++;
        continue;
      }
      expect(strictAnswer).not.toBeInstanceOf(MalformedMessage);
      expect(fast).toStrictEqual(strictAnswer);
    }
    // Most corruptions leave the plain shape; the check above is only meaningful if some did not.
    expect(handedOver).toBeGreaterThan(1000);
  });

  it('hands the strict path repeated scalars, unknown fields, long varints and non-ASCII strings', () => {
    const batch = (...bytes: number[]) => Buffer.from(bytes);
    const cases = [
      batch(0x0a, 0x01, 0x61, 0x0a, 0x01, 0x62), // request_id twice: the last wins
      batch(0x12, 0x04, 0x18, 0x01, 0x18, 0x02), // version twice
      batch(0x1a, 0x00), // unknown field 3 of RecordBatch
      batch(0x12, 0x02, 0x30, 0x01), // unknown field 6 of CreditRecord
      batch(0x12, 0x09, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), // an 8-byte version
      batch(0x0a, 0x02, 0xc3, 0xa9), // request_id "é"
      batch(0x12, 0x02, 0x08, 0x01), // subject as a varint: malformed
    ];
    for (const bytes of cases) {
      expect(decodePlainRecordBatch(bytes)).toBeUndefined();
      // And through the method's deserializer the strict path answers them as before.
      const method = serviceDefinition('RecordService').IngestRecords;
      expect(method.requestDeserialize(bytes)).toStrictEqual(reference.decode(bytes));
    }
  });
});
