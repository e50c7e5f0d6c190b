import { describe, expect, it } from 'vitest';
import { KeyRotationError, type KeyRotationErrorCode } from '../keys/index.ts';
import { CliError } from './errors.ts';
import { operatorError } from './node-admin.ts';

describe('operatorError', () => {
  it.each([
    ['KEY_INVALID', 'FILE_ERROR'],
    ['FILE_ERROR', 'FILE_ERROR'],
    ['KEY_NOT_REGISTERED', 'LEDGER_ERROR'],
    ['NODE_NOT_REGISTERED', 'LEDGER_ERROR'],
    ['REGISTRY_CONFLICT', 'CONFIGURATION'],
    // Registered and installed, but the running node did not reload it: the node's fault, not the ledger's.
    ['NODE_NOT_SWITCHED', 'NODE_ERROR'],
  ] as const)('says a rotation failing with %s failed at %s', (code: KeyRotationErrorCode, cliCode) => {
    const cause = new KeyRotationError(code, 'the message');
    const err = operatorError(cause);
    expect(err).toBeInstanceOf(CliError);
    expect(err).toMatchObject({ code: cliCode, message: 'the message', cause });
  });
});
