import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ChainError } from '../ledger/index.ts';
import {
  ERROR_CODE_KEY,
  ERROR_FIELD_KEY,
  NodeError,
  RETRY_AFTER_MS_KEY,
  toGrpcStatus,
  type NodeErrorCode,
} from './index.ts';

describe('toGrpcStatus', () => {
  const cases: [NodeErrorCode, status][] = [
    ['INVALID_ARGUMENT', status.INVALID_ARGUMENT],
    ['NOT_FOUND', status.NOT_FOUND],
    ['ALREADY_EXISTS', status.ALREADY_EXISTS],
    ['OUT_OF_RANGE', status.OUT_OF_RANGE],
    ['FAILED_PRECONDITION', status.FAILED_PRECONDITION],
    ['OVERLOADED', status.RESOURCE_EXHAUSTED],
    ['MESSAGE_TOO_LARGE', status.RESOURCE_EXHAUSTED],
    ['UNAVAILABLE', status.UNAVAILABLE],
    ['UNAUTHENTICATED', status.UNAUTHENTICATED],
    ['PERMISSION_DENIED', status.PERMISSION_DENIED],
    ['CANCELLED', status.CANCELLED],
    ['INTERNAL', status.INTERNAL],
  ];
  it.each(cases)('maps %s to gRPC status %i', (code, expected) => {
    expect(toGrpcStatus(new NodeError(code, 'why')).code).toBe(expected);
  });

  it('puts the code, the field and a whole-millisecond retry hint in trailing metadata', () => {
    const s = toGrpcStatus(new NodeError('OVERLOADED', 'outbox full', { retryAfterMs: 12.2, field: 'records' }));
    expect(s.metadata.get(RETRY_AFTER_MS_KEY)).toEqual(['13']);
    expect(s.metadata.get(ERROR_CODE_KEY)).toEqual(['OVERLOADED']);
    expect(s.metadata.get(ERROR_FIELD_KEY)).toEqual(['records']);
  });

  it('hides the message of INTERNAL errors and of errors that are not NodeErrors', () => {
    expect(toGrpcStatus(new NodeError('INTERNAL', 'leaf 7 is corrupt')).details).toBe('internal error');
    expect(toGrpcStatus(new Error('secret'))).toMatchObject({ code: status.INTERNAL, details: 'internal error' });
  });

  it('maps a stream closed under the handler to CANCELLED', () => {
    const closed = Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    expect(toGrpcStatus(closed).code).toBe(status.CANCELLED);
  });

  it('maps chain failures: ledger down UNAVAILABLE, MVCC conflict ABORTED, chaincode rejection with its code', () => {
    expect(toGrpcStatus(new ChainError('UNAVAILABLE', 'ledger unreachable')).code).toBe(status.UNAVAILABLE);
    expect(toGrpcStatus(new ChainError('CONFLICT', 'MVCC_READ_CONFLICT')).code).toBe(status.ABORTED);
    const rejected = toGrpcStatus(
      new ChainError('REJECTED', 'chaincode response 500, INVALID_USCC: bad', { chaincodeCode: 'INVALID_USCC' }),
    );
    expect(rejected).toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'chaincode response 500, INVALID_USCC: bad',
    });
    expect(rejected.metadata.get(ERROR_CODE_KEY)).toEqual(['INVALID_USCC']);
  });
});
