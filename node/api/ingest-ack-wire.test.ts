import { inspect } from 'node:util';
import type { MethodDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { prng } from '../log/test-log.ts';
import type { IngestAck } from './generated/lianxin/v1/IngestAck.ts';
import { decodePlainIngestAck, encodePlainIngestAck, outcomesOf, withResultColumns } from './ingest-ack-wire.ts';
import { PROTO_FILES, PROTO_LOADER_OPTIONS } from './proto-files.ts';
import { serviceDefinition } from './proto-loader.ts';

// The reference: proto-loader's own IngestRecords response (de)serializers, protobufjs underneath.
const plain = (
  loadSync(PROTO_FILES, PROTO_LOADER_OPTIONS)['lianxin.v1.RecordService'] as Record<
    string,
    MethodDefinition<unknown, IngestAck>
  >
).IngestRecords;
if (!plain) throw new Error('no IngestRecords');
const reference = { encode: plain.responseSerialize, decode: plain.responseDeserialize };
const OUTCOMES = ['OUTCOME_UNSPECIFIED', 'OUTCOME_ACCEPTED', 'OUTCOME_DUPLICATE', 0, 1, 2] as const;

/** An acknowledgement with any field absent, leaf indexes of every varint width up to 2^53 - 1. */
function randomAck(random: (below: number) => number): IngestAck {
  const maybe = () => random(6) > 0;
  return {
    ...(maybe() && { requestId: `bulk-${'x'.repeat(random(130))}` }),
    ...(maybe() && { replayed: random(2) === 1 }),
    results: Array.from({ length: random(20) }, () => ({
      ...(maybe() && { outcome: OUTCOMES[random(OUTCOMES.length)] }),
      ...(maybe() && { leafIndex: Math.min(Number.MAX_SAFE_INTEGER, Math.floor(2 ** random(54) * random(3))) }),
      ...(maybe() && {
        recordDigest: Buffer.from(Array.from({ length: random(4) === 0 ? random(40) : 32 }, () => random(256))),
      }),
    })),
  };
}

describe('IngestAck on the bulk ingest path', () => {
  it('encodes byte for byte as protobufjs does, over random acknowledgements', () => {
    const random = prng(92);
    for (let round = 0; round < 500; round++) {
      const ack = randomAck(random);
      expect(encodePlainIngestAck(ack)?.toString('hex')).toBe(reference.encode(ack).toString('hex'));
    }
  });

  it('encodes an acknowledgement from its result columns byte for byte as protobufjs does its results', () => {
    const random = prng(94);
    for (let round = 0; round < 300; round++) {
      const count = random(30);
      const outcomes = Uint8Array.from({ length: count }, () => 1 + random(2));
      const leafIndexes = Float64Array.from({ length: count }, () =>
        Math.min(Number.MAX_SAFE_INTEGER, Math.floor(2 ** random(54) * random(3))),
      );
      const digests = Buffer.from(Array.from({ length: 32 * count }, () => random(256)));
      const digestOf = (i: number) => digests.subarray(32 * i, 32 * (i + 1));
      const ack = {
        requestId: `bulk-${'x'.repeat(random(120))}`,
        results: Array.from({ length: count }, (_, i) => ({
          outcome: outcomes[i] === 2 ? ('OUTCOME_DUPLICATE' as const) : ('OUTCOME_ACCEPTED' as const),
          leafIndex: leafIndexes[i] ?? 0,
          recordDigest: digestOf(i),
        })),
        replayed: random(2) === 1,
      };
      const expected = reference.encode(ack).toString('hex');
      const columns = {
        outcomes,
        leafIndexes,
        digestInto: (i: number, bytes: Buffer, at: number) => {
          bytes.set(digestOf(i), at);
        },
      };
      // Its results replaced by other ones: the columns are what is encoded.
      const columnar = withResultColumns({ ...ack, results: [] }, columns);
      expect(encodePlainIngestAck(columnar)?.toString('hex')).toBe(expected);
    }
  });

  it('leaves to protobufjs what it cannot encode plainly', () => {
    expect(encodePlainIngestAck({ requestId: 'é' })).toBeUndefined();
    expect(encodePlainIngestAck({ results: [{ leafIndex: '7' }] })).toBeUndefined();
    expect(encodePlainIngestAck({ results: [{ outcome: 'OUTCOME_LOST' as 'OUTCOME_ACCEPTED' }] })).toBeUndefined();
    const ack = { requestId: 'é', results: [{ leafIndex: '7', recordDigest: 'AAE=' }] };
    const method = serviceDefinition('RecordService').IngestRecords;
    expect(method.responseSerialize(ack).equals(reference.encode(ack))).toBe(true);
  });

  it('decodes to exactly what protobufjs gives, or hands the bytes to it', () => {
    const random = prng(93);
    let decoded = 0;
    for (let round = 0; round < 2000; round++) {
      const bytes = Buffer.from(reference.encode(randomAck(random)));
      // Every third one corrupted: a byte flipped, or cut short.
      if (round % 3 === 1 && bytes.length > 0) bytes[random(bytes.length)] = random(256);
      const input = round % 3 === 2 ? bytes.subarray(0, random(bytes.length + 1)) : bytes;
      const fast = decodePlainIngestAck(input);
      if (round % 3 === 0) {
        // Uncorrupted, with leaf indexes below 2^49 (7-byte varints), it takes the plain shape.
        const small = !/(?:[89a-f][0-9a-f]){7}/.test(input.toString('hex'));
        if (small) expect(fast).toBeDefined();
      }
      if (fast === undefined) continue;
      decoded++;
      // Its outcomes first, before anything builds its results, then the results built from the same columns.
      const expected = reference.decode(input);
      expect(outcomesOf(fast)).toEqual(
        expected.results?.map((result) => OUTCOMES.indexOf(result.outcome ?? 'OUTCOME_UNSPECIFIED')),
      );
      expect(fast).toStrictEqual(expected);
    }
    expect(decoded).toBeGreaterThan(500);
  });

  it('shows a decoded ack to util.inspect with its results, not a getter', () => {
    const sent: IngestAck = {
      requestId: 'bulk-1',
      results: [
        { outcome: 'OUTCOME_ACCEPTED', leafIndex: 41, recordDigest: Buffer.alloc(32, 7) },
        { outcome: 'OUTCOME_DUPLICATE', leafIndex: 12, recordDigest: Buffer.alloc(32, 9) },
      ],
    };
    const ack = decodePlainIngestAck(Buffer.from(reference.encode(sent)));
    expect(ack).toBeDefined();
    const shown = inspect(ack, { depth: 4 });
    expect(shown).not.toContain('[Getter]');
    expect(shown).toBe(
      inspect({ requestId: ack?.requestId, results: ack?.results, replayed: ack?.replayed }, { depth: 4 }),
    );
  });

  it('hands protobufjs repeated scalars, unknown fields, unknown outcomes and non-ASCII request IDs', () => {
    const cases = [
      [0x0a, 0x01, 0x61, 0x0a, 0x01, 0x62], // request_id twice: the last wins
      [0x12, 0x04, 0x10, 0x01, 0x10, 0x02], // leaf_index twice
      [0x20, 0x01], // unknown field 4 of IngestAck
      [0x12, 0x02, 0x08, 0x07], // outcome 7, which toObject leaves a number
      [0x0a, 0x02, 0xc3, 0xa9], // request_id "é"
      [0x18, 0x02], // replayed as 2
    ].map((bytes) => Buffer.from(bytes));
    const method = serviceDefinition('RecordService').IngestRecords;
    for (const bytes of cases) {
      expect(decodePlainIngestAck(bytes)).toBeUndefined();
      const ack = method.responseDeserialize(bytes);
      expect(ack).toStrictEqual(reference.decode(bytes));
      // From its results: -1 for the outcome 7 protobufjs leaves a number.
      expect(outcomesOf(ack)).toEqual(
        ack.results.map((r) => (typeof r.outcome === 'number' ? -1 : OUTCOMES.indexOf(r.outcome))),
      );
    }
  });
});
