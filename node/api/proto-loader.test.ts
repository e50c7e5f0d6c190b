import { describe, expect, it } from 'vitest';
import { LIANXIN_SERVICES, lianxinPackageDefinition, lianxinV1, serviceDefinition } from './index.ts';

describe('proto-loader', () => {
  it('loads lianxin.v1 once', () => {
    expect(lianxinPackageDefinition()).toBe(lianxinPackageDefinition());
    expect(lianxinV1()).toBe(lianxinV1());
  });

  it('defines every service of node.proto with its methods and streaming kinds', () => {
    for (const name of LIANXIN_SERVICES) expect(lianxinPackageDefinition()).toHaveProperty([`lianxin.v1.${name}`]);
    const ingest = serviceDefinition('RecordService').IngestRecords;
    expect([ingest.path, ingest.requestStream, ingest.responseStream]).toEqual([
      '/lianxin.v1.RecordService/IngestRecords',
      true,
      true,
    ]);
  });

  it('decodes with the generator’s options: uint64 as number, enums by name, defaults filled in', () => {
    const ack = serviceDefinition('RecordService').IngestBatch;
    const bytes = ack.responseSerialize({ requestId: 'r', results: [{ outcome: 'OUTCOME_DUPLICATE', leafIndex: 7 }] });
    expect(ack.responseDeserialize(bytes)).toEqual({
      requestId: 'r',
      results: [{ outcome: 'OUTCOME_DUPLICATE', leafIndex: 7, recordDigest: Buffer.alloc(0) }],
      replayed: false,
    });
  });

  it('reads message types that only evidence.proto defines', () => {
    expect(lianxinV1().LogLeaf.format).toBe('Protocol Buffer 3 DescriptorProto');
  });
});
