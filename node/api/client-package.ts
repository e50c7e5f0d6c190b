/**
 * lianxin.v1 for a client: the same .proto files and loader options as the node's (proto-files.ts), and the same
 * encoding of ingest batches and decoding of their acknowledgements (record-batch-wire.ts, ingest-ack-wire.ts);
 * without what only a server uses (proto-loader.ts: strict request decoding, pre-encoded attestations), whose
 * imports (the node's error mapping, hence the ledger, the store and p2p) a client such as `lianxin` would load
 * for nothing.
 */
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync, type ServiceDefinition } from '@grpc/proto-loader';
import type { ProtoGrpcType as EvidenceGrpcType } from './generated/evidence.ts';
import type { ProtoGrpcType as NodeGrpcType } from './generated/node.ts';
import { plainIngestAckDecoder } from './ingest-ack-wire.ts';
import { PROTO_FILES, PROTO_LOADER_OPTIONS, PROTO_ROOT, qualifiedServiceName, type LianxinV1 } from './proto-files.ts';
import { plainRecordBatchEncoder } from './record-batch-wire.ts';

let grpcObject: LianxinV1 | undefined;

/** lianxin.v1's client constructors (and service definitions), parsed on first use. */
export function lianxinClientV1(): LianxinV1 {
  if (grpcObject === undefined) {
    const definition = loadSync(PROTO_FILES, PROTO_LOADER_OPTIONS);
    // The bulk ingest path, as the node's own definition has it: one pass over the bytes each way, protobufjs for
    // a batch or acknowledgement outside the plain shape.
    const records = definition[qualifiedServiceName('RecordService')] as ServiceDefinition;
    for (const method of [records.IngestRecords, records.IngestBatch]) {
      if (!method) throw new Error(`RecordService has no IngestRecords or IngestBatch in ${PROTO_ROOT}`);
      method.requestSerialize = plainRecordBatchEncoder(method.requestSerialize);
      method.responseDeserialize = plainIngestAckDecoder(method.responseDeserialize);
    }
    // The generated ProtoGrpcType describes exactly what loadPackageDefinition builds from these files.
    grpcObject = (loadPackageDefinition(definition) as unknown as NodeGrpcType & EvidenceGrpcType).lianxin.v1;
  }
  return grpcObject;
}
