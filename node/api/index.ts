/**
 * The node's gRPC API infrastructure (DESIGN §6): the lianxin.v1 package, callers from client certificates,
 * the role policy, the one mapping of domain errors to gRPC statuses, and the server that wraps service
 * implementations written as plain typed async handlers.
 */
export { startApiServer, type ApiServer, type ApiServerOptions, type ApiTlsMaterial } from './server.ts';
export { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './connection-limits.ts';
export type { ConnectionStats } from './connection-admission.ts';
export { openFileLimit, storeReserveShortfall } from './file-descriptor-budget.ts';
export {
  NodeError,
  invalidArgument,
  toGrpcStatus,
  RETRY_AFTER_MS_KEY,
  ERROR_CODE_KEY,
  ERROR_FIELD_KEY,
  type NodeErrorCode,
  type NodeErrorOptions,
} from './errors.ts';
export {
  CallerAuthenticator,
  consortiumRoles,
  parseClientCaBundle,
  type Caller,
  type CallerAuthenticatorOptions,
  type ClientCaBundle,
  type RoleResolver,
} from './caller.ts';
export { DEFAULT_POLICY, authorize, type AuthorizationPolicy, type Grant } from './authorization.ts';
export type {
  CallContext,
  ServiceImpls,
  LianxinServiceImpls,
  RecordServiceImpl,
  AttestationServiceImpl,
  NotaryServiceImpl,
  LogServiceImpl,
  NodeInfoServiceImpl,
  ReportServiceImpl,
  RpcName,
} from './handlers.ts';
export {
  PROTO_ROOT,
  PROTO_FILES,
  PROTO_PACKAGE,
  PROTO_LOADER_OPTIONS,
  LIANXIN_SERVICES,
  qualifiedServiceName,
  type LianxinServiceName,
  type LianxinV1,
} from './proto-files.ts';
export { lianxinPackageDefinition, lianxinV1, serviceDefinition } from './proto-loader.ts';
export { DEFAULT_SHUTDOWN_GRACE_MS } from './constants.ts';
