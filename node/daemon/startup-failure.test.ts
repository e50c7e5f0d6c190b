import { describe, expect, it } from 'vitest';
import { NodeConfigError } from '../config/index.ts';
import { NodeStartError } from '../node-errors.ts';
import { NodeStoreError } from '../store/index.ts';
import { startupFailureLine } from './startup-failure.ts';

describe('startupFailureLine', () => {
  it("gives an operator error's own message, on one line", () => {
    const err = new NodeConfigError('CONFIG_INVALID', 'node.yaml: 2 problems: "a" is required;\n "b" is required', 'a');
    expect(startupFailureLine(err)).toBe(
      'lianxin node: cannot start: node.yaml: 2 problems: "a" is required; "b" is required',
    );
    expect(startupFailureLine(new NodeStoreError('STORE_LOCKED', '/d', 'node store /d is in use'))).toBe(
      'lianxin node: cannot start: node store /d is in use',
    );
    expect(startupFailureLine(new NodeStartError('PORT_IN_USE', 'the gRPC listener cannot bind x:1', 'gRPC'))).toBe(
      'lianxin node: cannot start: the gRPC listener cannot bind x:1',
    );
  });

  it('names the type of an unexpected error, and says what a thrown non-error was', () => {
    expect(startupFailureLine(new TypeError('x is not a function\n    at f (file.ts:1:1)'))).toBe(
      'lianxin node: cannot start: TypeError: x is not a function at f (file.ts:1:1)',
    );
    expect(startupFailureLine('boom')).toBe('lianxin node: cannot start: unexpected failure: boom');
  });
});
