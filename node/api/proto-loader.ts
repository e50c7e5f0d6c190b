/**
 * The public API's package definition, loaded once from proto/lianxin/v1 with the options the generated types
 * in ./generated were produced with (scripts/generate-proto.sh): camelCase fields, uint64 as number, enums as
 * their names, defaults filled in, the set oneof member named.
 */
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition, type ServiceDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { ProtoGrpcType as EvidenceGrpcType } from './generated/evidence.ts';
import type { ProtoGrpcType as NodeGrpcType } from './generated/node.ts';
import { withPreEncodedAttestations } from './attest-response-serializer.ts';
import { plainIngestAckDecoder, plainIngestAckEncoder } from './ingest-ack-wire.ts';
import { plainRecordBatchEncoder, plainRecordBatchFirst } from './record-batch-wire.ts';
import {
  LIANXIN_SERVICES,
  PROTO_FILES,
  PROTO_LOADER_OPTIONS,
  PROTO_ROOT,
  qualifiedServiceName,
  type LianxinServiceName,
  type LianxinV1,
} from './proto-files.ts';
import { strictDeserializer } from './strict-decoding.ts';

let packageDefinition: PackageDefinition | undefined;
let grpcObject: LianxinV1 | undefined;

/**
 * The package definition (for servers and clients); parsed on first use. Requests are decoded strictly
 * (strict-decoding.ts): a server gets a MalformedMessage for bytes that are not a well-formed request.
 * Reflection serves the compiled descriptor set instead (reflection.ts).
 */
export function lianxinPackageDefinition(): PackageDefinition {
  packageDefinition ??= withPreEncodedAttestations(
    withStrictRequests(loadSync(PROTO_FILES, PROTO_LOADER_OPTIONS)),
    qualifiedServiceName('AttestationService'),
  );
  return packageDefinition;
}

/** Every method's request deserializer behind the wire-format check, from the same .proto files. */
function withStrictRequests(definition: PackageDefinition): PackageDefinition {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => `${PROTO_ROOT}/${target}`;
  root.loadSync(PROTO_FILES, { keepCase: true }).resolveAll();
  for (const name of LIANXIN_SERVICES) {
    const service = root.lookupService(qualifiedServiceName(name));
    for (const [methodName, method] of Object.entries(definition[qualifiedServiceName(name)] as ServiceDefinition)) {
      const type = service.methods[methodName]?.resolvedRequestType;
      if (!type) throw new Error(`${qualifiedServiceName(name)}.${methodName} has no request type in ${PROTO_ROOT}`);
      method.requestDeserialize = strictDeserializer(type, method.requestDeserialize);
    }
  }
  // The bulk ingest path's batches and acknowledgements: one pass over the bytes each way, protobufjs (behind the
  // strict check, for requests) for anything else.
  const records = definition[qualifiedServiceName('RecordService')] as ServiceDefinition;
  for (const method of [records.IngestRecords, records.IngestBatch]) {
    if (!method) throw new Error(`RecordService has no IngestRecords or IngestBatch in ${PROTO_ROOT}`);
    method.requestDeserialize = plainRecordBatchFirst(method.requestDeserialize);
    method.requestSerialize = plainRecordBatchEncoder(method.requestSerialize);
    method.responseSerialize = plainIngestAckEncoder(method.responseSerialize);
    method.responseDeserialize = plainIngestAckDecoder(method.responseDeserialize);
  }
  return definition;
}

/** lianxin.v1 as grpc-js objects: service definitions and client constructors. */
export function lianxinV1(): LianxinV1 {
  // The generated ProtoGrpcType describes exactly what loadPackageDefinition builds from these files.
  grpcObject ??= (loadPackageDefinition(lianxinPackageDefinition()) as unknown as NodeGrpcType & EvidenceGrpcType)
    .lianxin.v1;
  return grpcObject;
}

/** The service definition grpc-js registers, e.g. `serviceDefinition('RecordService')`. */
export function serviceDefinition<N extends LianxinServiceName>(name: N): LianxinV1[N]['service'] {
  return lianxinV1()[name].service;
}
