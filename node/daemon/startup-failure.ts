/**
 * The one line a node that cannot start prints to stderr: what is wrong and where (the config field, the port and
 * its listener, the file, the store), so that a supervisor can relay it verbatim and an operator can act on it.
 */
import { LevelDbBindingError } from '../../network/leveldb/binding-cpu.ts';
import { NodeConfigError } from '../config/index.ts';
import { NodeStartError } from '../node-errors.ts';
import { NodeStoreError } from '../store/index.ts';
import { cannotStartLine } from './cannot-start-line.ts';

/** Errors the node raises for an operator to act on; anything else is a defect and is shown with its name. */
const OPERATOR_ERRORS = [NodeConfigError, NodeStoreError, NodeStartError, LevelDbBindingError] as const;

export function startupFailureLine(err: unknown): string {
  const known = OPERATOR_ERRORS.some((type) => err instanceof type);
  const text =
    err instanceof Error ? (known ? err.message : `${err.name}: ${err.message}`) : `unexpected failure: ${String(err)}`;
  return cannotStartLine('lianxin node', text);
}
