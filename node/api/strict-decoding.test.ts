import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { lianxinV1, serviceDefinition } from './proto-loader.ts';
import { checkWireFormat, MalformedMessage, MAX_DEPTH, wellFormed, WireFormatError } from './strict-decoding.ts';

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => new URL(`../../proto/${target}`, import.meta.url).pathname;
root.loadSync(['lianxin/v1/node.proto', 'lianxin/v1/evidence.proto'], { keepCase: true }).resolveAll();
const type = (name: string) => root.lookupType(`lianxin.v1.${name}`);
const bytes = (...values: number[]) => Buffer.from(values);

function failure(name: string, input: Buffer): WireFormatError {
  try {
    checkWireFormat(type(name), input);
  } catch (err) {
    if (err instanceof WireFormatError) return err;
    throw err;
  }
  throw new Error('expected a WireFormatError');
}

describe('checkWireFormat', () => {
  it('refuses a known field sent with another wire type, which protobufjs reads as a default', () => {
    // protobufjs alone: `0d 00` (field 1 as fixed32, cut short) decodes as leaf_index 0.
    const lenient = type('GetInclusionProofRequest').decode(bytes(0x0d, 0x00));
    expect(type('GetInclusionProofRequest').toObject(lenient, { longs: Number })).toEqual({ leaf_index: 0 });
    expect(failure('GetInclusionProofRequest', bytes(0x0d, 0x00, 0x00, 0x00, 0x00))).toMatchObject({
      code: 'WRONG_WIRE_TYPE',
    });
    expect(failure('GetInclusionProofRequest', bytes(0x0d, 0x00))).toMatchObject({ code: 'WRONG_WIRE_TYPE' });
  });

  it('refuses field number 0, which protobufjs skips', () => {
    expect(() => type('GetNodeInfoRequest').decode(bytes(0x00, 0x00))).not.toThrow();
    expect(failure('GetNodeInfoRequest', bytes(0x00, 0x00))).toMatchObject({ code: 'FIELD_ZERO' });
  });

  it('refuses the undefined wire types and groups', () => {
    for (const wire of [3, 4, 6, 7]) {
      expect(failure('GetCheckpointRequest', bytes((9 << 3) | wire, 0))).toMatchObject({ code: 'INVALID_WIRE_TYPE' });
    }
  });

  it('refuses truncated varints, fixed values and length-delimited values', () => {
    expect(failure('GetCheckpointRequest', bytes(0x80))).toMatchObject({ code: 'TRUNCATED' });
    expect(failure('GetInclusionProofRequest', bytes(0x08, 0xff))).toMatchObject({ code: 'TRUNCATED' });
    expect(failure('RecordRef', bytes(0x0a, 0x05, 0x61))).toMatchObject({ code: 'TRUNCATED', field: 'subject' });
    expect(failure('GetCheckpointRequest', bytes((15 << 3) | 1, 1, 2, 3))).toMatchObject({ code: 'TRUNCATED' });
  });

  it('refuses a varint beyond 64 bits', () => {
    const eleven = bytes(0x08, ...Array<number>(10).fill(0xff), 0x01);
    expect(failure('GetInclusionProofRequest', eleven)).toMatchObject({ code: 'VARINT_OVERFLOW' });
    const tenthTooBig = bytes(0x08, ...Array<number>(9).fill(0xff), 0x02);
    expect(failure('GetInclusionProofRequest', tenthTooBig)).toMatchObject({ code: 'VARINT_OVERFLOW' });
  });

  it('checks embedded messages and map entries, naming the path', () => {
    // RecordBatch.records[0] = CreditRecord{ subject: 0xff } (not UTF-8).
    const badUtf8 = bytes(0x12, 0x03, 0x0a, 0x01, 0xff);
    expect(failure('RecordBatch', badUtf8)).toMatchObject({ code: 'INVALID_UTF8', field: 'records.subject' });
    // NotarizeRequest.labels entry whose key (string) comes as a varint.
    const badKey = bytes(0x2a, 0x02, 0x08, 0x01);
    expect(failure('NotarizeRequest', badKey)).toMatchObject({ code: 'WRONG_WIRE_TYPE', field: 'labels.key' });
    // AttestRequest.record = RecordRef whose length overruns the outer message.
    expect(failure('AttestRequest', bytes(0x12, 0x04, 0x0a, 0x00))).toMatchObject({ code: 'TRUNCATED' });
  });

  it('accepts what the node’s own serializers write, and unknown fields of a valid wire type', () => {
    const { IngestBatch } = serviceDefinition('RecordService');
    const batch = IngestBatch.requestSerialize({
      requestId: 'r1',
      records: [{ subject: '91330100MA27XY1234', kind: 'loan', version: 2 ** 40, content: Buffer.from('{}') }],
    });
    expect(() => {
      checkWireFormat(type('RecordBatch'), batch);
    }).not.toThrow();
    const notarize = serviceDefinition('NotaryService').Notarize.requestSerialize({
      documentDigest: Buffer.alloc(32, 1),
      parties: ['a', 'b'],
      labels: { contract_type: 'purchase' },
    });
    expect(() => {
      checkWireFormat(type('NotarizeRequest'), notarize);
    }).not.toThrow();
    const unknown = bytes((12 << 3) | 0, 0x96, 0x01, (13 << 3) | 2, 0x01, 0x00, (14 << 3) | 5, 0, 0, 0, 0);
    expect(() => {
      checkWireFormat(type('GetNodeInfoRequest'), unknown);
    }).not.toThrow();
  });

  it('accepts packed and unpacked repeated numbers, and refuses a packed run cut short', () => {
    const numbers = new protobuf.Type('Numbers').add(new protobuf.Field('n', 1, 'uint64', 'repeated'));
    new protobuf.Root().add(numbers).resolveAll();
    expect(() => {
      checkWireFormat(numbers, bytes(0x0a, 0x02, 0x01, 0x02, 0x08, 0x03));
    }).not.toThrow();
    expect(() => {
      checkWireFormat(numbers, bytes(0x0a, 0x02, 0x01, 0x82));
    }).toThrow(WireFormatError);
  });

  it(`refuses messages nested deeper than ${MAX_DEPTH}`, () => {
    const node = new protobuf.Type('Node').add(new protobuf.Field('child', 1, 'Node'));
    new protobuf.Root().add(node).resolveAll();
    let nested = Buffer.alloc(0);
    for (let i = 0; i <= MAX_DEPTH; i++) nested = Buffer.concat([bytes(0x0a, ...varint(nested.length)), nested]);
    expect(() => {
      checkWireFormat(node, nested);
    }).toThrow(expect.objectContaining({ code: 'TOO_DEEP' }) as Error);
  });
});

describe('strict request deserializers', () => {
  it('hand the server a MalformedMessage, which wellFormed turns into INVALID_ARGUMENT naming the type', () => {
    const request = serviceDefinition('LogService').GetInclusionProof.requestDeserialize(bytes(0x0d, 0x00));
    expect(request).toBeInstanceOf(MalformedMessage);
    let refusal: unknown;
    try {
      wellFormed(request);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'leaf_index' });
    expect(String(refusal)).toContain('"lianxin.v1.GetInclusionProofRequest" is not a well-formed message');
  });

  it('decode well-formed requests as before', () => {
    const { GetInclusionProof } = serviceDefinition('LogService');
    const request = GetInclusionProof.requestDeserialize(GetInclusionProof.requestSerialize({ leafIndex: 7 }));
    expect(wellFormed(request)).toEqual({ leafIndex: 7, treeSize: 0 });
  });

  it('leave message types and responses lenient, as clients decode them', () => {
    expect(lianxinV1().LogLeaf.format).toBe('Protocol Buffer 3 DescriptorProto');
  });
});

function varint(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}
