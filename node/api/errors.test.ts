import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import { ChainError } from '../ledger/index.ts';
import { ExchangeRefusedError, JournalEntryError, P2pError } from '../p2p/errors.ts';
import { StorageFaultError } from '../store/index.ts';
import { REFUSAL_REASON_KEY } from './errors.ts';
import {
  ERROR_CODE_KEY,
  ERROR_FIELD_KEY,
  NodeError,
  RETRY_AFTER_MS_KEY,
  toGrpcStatus,
  type NodeErrorCode,
} from './index.ts';

describe('toGrpcStatus for the report exchange', () => {
  it("maps a provider's signed refusal by its reason, the reason in the trailers", () => {
    const denied = toGrpcStatus(new ExchangeRefusedError('NO_CONSENT', 'no consent for this subject'));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect(denied.metadata.get(ERROR_CODE_KEY)).toEqual(['REFUSED']);
    expect(denied.metadata.get(REFUSAL_REASON_KEY)).toEqual(['NO_CONSENT']);
    expect(denied.details).toContain('NO_CONSENT');
    expect(toGrpcStatus(new ExchangeRefusedError('REPLAY', '')).code).toBe(status.FAILED_PRECONDITION);
    expect(toGrpcStatus(new ExchangeRefusedError('UNAVAILABLE', '')).code).toBe(status.UNAVAILABLE);
  });

  it('maps an exchange that did not complete: retryable when the provider is unreachable, never leaking a bug', () => {
    const unreachable = toGrpcStatus(new P2pError('UNAVAILABLE', 'dial failed'));
    expect(unreachable.code).toBe(status.UNAVAILABLE);
    expect(unreachable.metadata.get(ERROR_CODE_KEY)).toEqual(['P2P_UNAVAILABLE']);
    const mismatch = toGrpcStatus(new P2pError('REPORT_MISMATCH', 'digest differs', { field: 'report.records[0]' }));
    expect(mismatch.code).toBe(status.FAILED_PRECONDITION);
    expect(mismatch.metadata.get(ERROR_FIELD_KEY)).toEqual(['report.records[0]']);
    const bug = toGrpcStatus(new P2pError('INVALID_CONFIG', 'secret detail'));
    expect(bug).toMatchObject({ code: status.INTERNAL, details: 'internal error' });
  });
});

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

  it("maps an unreadable stored exchange to DATA_LOSS with its code, naming the entry but not the decoder's words", () => {
    const cause = new SyntaxError('Unexpected token \'s\', "secret" is not valid JSON');
    const s = toGrpcStatus(new JournalEntryError('p/' + 'ab'.repeat(32), { cause }));
    expect(s).toMatchObject({ code: status.DATA_LOSS });
    expect(s.details).toContain('p/' + 'ab'.repeat(32));
    expect(s.details).not.toContain('secret');
    expect(s.metadata.get(ERROR_CODE_KEY)).toEqual(['JOURNAL_ENTRY_UNREADABLE']);
  });

  it('maps a storage fault to UNAVAILABLE with its stable code and a retry hint, never INTERNAL', () => {
    for (const code of ['STORAGE_FULL', 'STORAGE_ERROR'] as const) {
      const s = toGrpcStatus(new StorageFaultError(code, "the node's disk is full", 1000.4));
      expect(s).toMatchObject({ code: status.UNAVAILABLE, details: "the node's disk is full" });
      expect(s.metadata.get(ERROR_CODE_KEY)).toEqual([code]);
      expect(s.metadata.get(RETRY_AFTER_MS_KEY)).toEqual(['1001']);
    }
  });

  it("maps LevelDB's refusal of a store that is not open to UNAVAILABLE with a retry hint, not INTERNAL", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-errors-'));
    const db = new ClassicLevel(join(dir, 'db'));
    try {
      await db.open();
      await db.close();
      // What a read meets while the storage guard reopens the store (node/store/storage-guard.ts), as LevelDB throws it.
      const refused: unknown = await db.get('k').catch((err: unknown) => err);
      const s = toGrpcStatus(new Error('reading the chain index', { cause: refused }));
      expect(s.code).toBe(status.UNAVAILABLE);
      expect(s.details).toContain('store is not open');
      expect(s.metadata.get(ERROR_CODE_KEY)).toEqual(['STORE_NOT_OPEN']);
      expect(s.metadata.get(RETRY_AFTER_MS_KEY)).toEqual(['1000']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
