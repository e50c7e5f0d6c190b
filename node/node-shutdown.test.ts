import { describe, expect, it } from 'vitest';
import { logLines } from '../test/support/log-lines.ts';
import { createLogger } from './logging/index.ts';
import { NodeStopError, runCleanup, type Cleanup } from './node-shutdown.ts';

describe('runCleanup', () => {
  it('runs every step, last started first, past the ones that fail, then reports each failure', async () => {
    const logs = logLines();
    const logger = createLogger({ level: 'info', destination: logs.stream });
    const ran: string[] = [];
    const step = (name: string, failure?: Error) => () => {
      ran.push(name);
      return failure ? Promise.reject(failure) : Promise.resolve();
    };
    const exchangeFailed = new Error('the exchange cannot stop');
    const operationsFailed = new Error('Server is not running.');
    const cleanup: Cleanup = [
      step('database'),
      step('log'),
      step('exchange', exchangeFailed),
      step('operations', operationsFailed),
      step('admin socket'),
    ];

    const stopped = await runCleanup(cleanup, logger).catch((err: unknown) => err);

    expect(ran).toEqual(['admin socket', 'operations', 'exchange', 'log', 'database']);
    expect(stopped).toBeInstanceOf(NodeStopError);
    expect(stopped).toMatchObject({
      code: 'STOP_FAILED',
      errors: [operationsFailed, exchangeFailed],
      message: '2 of 5 shutdown steps failed',
    });
    expect(logs.lines.map((l) => (l.err as { message: string }).message)).toEqual([
      'Server is not running.',
      'the exchange cannot stop',
    ]);
  });

  it('resolves when every step does', async () => {
    const ran: number[] = [];
    const steps: Cleanup = [1, 2].map((n) => () => {
      ran.push(n);
      return Promise.resolve();
    });
    await runCleanup(steps, createLogger({ level: 'silent' }));
    expect(ran).toEqual([2, 1]);
  });
});
