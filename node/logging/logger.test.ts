import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { componentLogger, createLogger } from './index.ts';

/** A destination that keeps every line pino writes. */
function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { lines, stream };
}

describe('createLogger', () => {
  it('writes one JSON object per line with the component, base fields and an ISO time', () => {
    const out = capture();
    const root = createLogger({ level: 'info', base: { mspId: 'HangzhouCreditMSP' }, destination: out.stream });
    componentLogger(root, 'api').info({ method: 'IngestBatch' }, 'call done');
    expect(out.lines()).toEqual([
      expect.objectContaining({
        level: 30,
        mspId: 'HangzhouCreditMSP',
        component: 'api',
        method: 'IngestBatch',
        msg: 'call done',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      }),
    ]);
  });

  it('drops lines below the configured level', () => {
    const out = capture();
    const log = createLogger({ level: 'warn', destination: out.stream });
    log.info('quiet');
    log.warn('loud');
    expect(out.lines().map((l) => l['msg'])).toEqual(['loud']);
  });

  it('keeps an error’s code and field', () => {
    const out = capture();
    const err = Object.assign(new Error('bad'), { code: 'CONFIG_INVALID', field: 'ledger.address' });
    createLogger({ level: 'info', destination: out.stream }).error({ err }, 'refused');
    expect(out.lines()[0]).toMatchObject({ err: { code: 'CONFIG_INVALID', field: 'ledger.address', message: 'bad' } });
  });
});
