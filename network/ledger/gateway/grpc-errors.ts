/**
 * The one place where ledger failures become gRPC statuses, with Fabric 2.5's codes and texts
 * (internal/pkg/gateway/apiutils.go, endorse.go, evaluate.go, submit.go). Details travel in
 * `grpc-status-details-bin` as google.rpc.Status whose details are gateway.ErrorDetail, which the official
 * client decodes into GatewayError.details (fabric-gateway node/src/gatewayerror.ts:71).
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { common, gateway, google } from '@hyperledger/fabric-protos';
import anyPb from 'google-protobuf/google/protobuf/any_pb.js';
import { LedgerError, type LedgerErrorCode } from '../errors.ts';

export interface PeerAddress {
  /** host:port of the endpoint, as Fabric names its peers in ErrorDetail.address. */
  readonly address: string;
  readonly mspId: string;
}

export type GatewayOperation = 'evaluate' | 'endorse' | 'submit' | 'commitStatus' | 'chaincodeEvents' | 'deliver';

const BASE_CODES: Record<LedgerErrorCode, status> = {
  BAD_REQUEST: status.INVALID_ARGUMENT,
  PROPOSAL_REJECTED: status.FAILED_PRECONDITION,
  CHAINCODE_NOT_FOUND: status.FAILED_PRECONDITION,
  CHAINCODE_FAILED: status.ABORTED,
  CHAINCODE_UNAVAILABLE: status.ABORTED,
  ORDERER_REJECTED: status.ABORTED,
  ACCESS_DENIED: status.PERMISSION_DENIED,
  CHANNEL_NOT_FOUND: status.NOT_FOUND,
  TIMEOUT: status.DEADLINE_EXCEEDED,
  STORE_DAMAGED: status.DATA_LOSS,
  STORE_LOCKED: status.UNAVAILABLE,
  BAD_OPTIONS: status.FAILED_PRECONDITION,
  CLOSED: status.UNAVAILABLE,
};

/** Maps any thrown value to a ServiceError; unexpected errors become INTERNAL without leaking internals. */
export function toServiceError(err: unknown, operation: GatewayOperation, peer: PeerAddress): ServiceError {
  if (!(err instanceof LedgerError)) {
    return serviceError(status.INTERNAL, `${operation} failed: internal error`, []);
  }
  const detail = errorDetail(peer, err.message);
  switch (operation) {
    case 'evaluate':
      // The gateway answers these itself, before any peer is asked: no ErrorDetail (evaluate.go).
      if (err.code === 'CHANNEL_NOT_FOUND') return serviceError(status.UNAVAILABLE, err.message, []);
      if (err.code === 'CHAINCODE_NOT_FOUND') return serviceError(status.FAILED_PRECONDITION, err.message, []);
      // A chaincode failure on evaluate is UNKNOWN with the endorser's text (evaluate.go).
      if (err.code === 'CHAINCODE_FAILED' || err.code === 'PROPOSAL_REJECTED') {
        const code = err.code === 'CHAINCODE_FAILED' ? status.UNKNOWN : status.FAILED_PRECONDITION;
        const prefix = err.code === 'PROPOSAL_REJECTED' ? 'error validating proposal: ' : '';
        return serviceError(code, `evaluate call to endorser returned error: ${prefix}${err.message}`, [detail]);
      }
      break;
    case 'endorse':
      // No endorsement plan for an unknown channel or chaincode: the gateway's own answer (endorse.go).
      if (err.code === 'CHANNEL_NOT_FOUND' || err.code === 'CHAINCODE_NOT_FOUND') {
        return serviceError(status.FAILED_PRECONDITION, err.message, []);
      }
      // Any failure of the first endorser, a refused creator included, is ABORTED with the peer's answer in a
      // detail (endorse.go planFromFirstEndorser; the endorser prefixes "error validating proposal").
      if (err.code === 'CHAINCODE_FAILED' || err.code === 'CHAINCODE_UNAVAILABLE') {
        return serviceError(status.ABORTED, 'failed to endorse transaction, see attached details for more info', [
          detail,
        ]);
      }
      if (err.code === 'PROPOSAL_REJECTED') {
        return serviceError(status.ABORTED, 'failed to endorse transaction, see attached details for more info', [
          errorDetail(peer, `error validating proposal: ${err.message}`),
        ]);
      }
      break;
    case 'submit':
      // submit.go: a 4xx Broadcast status is the client's error, ABORTED with the status in the message and no
      // detail; any other (5xx: the orderer cannot take transactions now) sends the gateway to the next orderer, and
      // with none left it is UNAVAILABLE — retry later. Fabric's gateway logs the orderer's answer; here it travels
      // in the detail, the operator's only other source.
      if (err.code === 'ORDERER_REJECTED') {
        return isClientError(err.message)
          ? serviceError(status.ABORTED, `received unsuccessful response from orderer: ${err.message}`, [])
          : serviceError(status.UNAVAILABLE, 'no orderers could successfully process transaction', [detail]);
      }
      break;
    default:
      break;
  }
  return serviceError(BASE_CODES[err.code], err.message, [detail]);
}

/** Whether an ORDERER_REJECTED message (`status=NAME, info=…`) names a 4xx common.Status. */
function isClientError(message: string): boolean {
  const name = /^status=([A-Z_]+)/.exec(message)?.[1];
  const code: number | undefined =
    name === undefined ? undefined : (common.Status as unknown as Record<string, number | undefined>)[name];
  return code !== undefined && code >= 400 && code < 500;
}

function errorDetail(peer: PeerAddress, message: string): gateway.ErrorDetail {
  const detail = new gateway.ErrorDetail();
  detail.setAddress(peer.address);
  detail.setMspId(peer.mspId);
  detail.setMessage(message);
  return detail;
}

function serviceError(code: status, message: string, details: readonly gateway.ErrorDetail[]): ServiceError {
  const rpcStatus = new google.rpc.Status();
  rpcStatus.setCode(code);
  rpcStatus.setMessage(message);
  rpcStatus.setDetailsList(
    details.map((d) => {
      const any = new anyPb.Any();
      any.pack(d.serializeBinary(), 'gateway.ErrorDetail');
      return any;
    }),
  );
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(rpcStatus.serializeBinary()));
  return Object.assign(new Error(message), { code, details: message, metadata });
}
