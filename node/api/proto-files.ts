/**
 * Where lianxin.v1 is defined and how it is loaded: the .proto files, the loader options the generated types in
 * ./generated were produced with (scripts/generate-proto.sh), the service names. Constants and types only, so that
 * a client (client-package.ts, the CLI's proto3 JSON) takes them without the server's deserializers (proto-loader.ts).
 */
import { fileURLToPath } from 'node:url';
import type { Options } from '@grpc/proto-loader';
import type { ProtoGrpcType as EvidenceGrpcType } from './generated/evidence.ts';
import type { ProtoGrpcType as NodeGrpcType } from './generated/node.ts';

/** Root of the proto tree; imports are written relative to it (`lianxin/v1/proofs.proto`). */
export const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));
export const PROTO_FILES = ['lianxin/v1/evidence.proto', 'lianxin/v1/proofs.proto', 'lianxin/v1/node.proto'];
export const PROTO_PACKAGE = 'lianxin.v1';

/** The same options as the generator's flags; a difference would make the generated types lie. */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

/** The services of node.proto, by their short name. */
export const LIANXIN_SERVICES = [
  'RecordService',
  'AttestationService',
  'NotaryService',
  'LogService',
  'NodeInfoService',
  'ReportService',
] as const;
export type LianxinServiceName = (typeof LIANXIN_SERVICES)[number];

/** Every message, enum and service of lianxin.v1, typed by the generated code. */
export type LianxinV1 = NodeGrpcType['lianxin']['v1'] & EvidenceGrpcType['lianxin']['v1'];

/** Fully qualified name, as health checking and reflection know the service: `lianxin.v1.RecordService`. */
export function qualifiedServiceName(name: LianxinServiceName): string {
  return `${PROTO_PACKAGE}.${name}`;
}
