import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainError, type AnchoredEvent, type LianxinChain } from '../ledger/index.ts';
import { openNodeDatabase, type NodeDatabase } from '../store/index.ts';
import { ChainIndex, ChainIndexFollower } from './index.ts';

type Events = Awaited<ReturnType<LianxinChain['anchoredEvents']>>;

/** An event stream that yields nothing and stays open until closed, as a healthy one on a quiet chain. */
function quietStream(): Events {
  const closed = Promise.withResolvers<undefined>();
  const close = () => {
    closed.resolve(undefined);
  };
  return {
    [Symbol.asyncIterator](): AsyncIterator<AnchoredEvent> {
      return { next: () => closed.promise.then(() => ({ done: true, value: undefined })) };
    },
    close,
    [Symbol.dispose]: close,
  };
}

describe('ChainIndexFollower health', () => {
  let dir: string | undefined;
  let db: NodeDatabase | undefined;
  afterEach(async () => {
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports why it is not following while streams fail, until one stays open', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-follower-'));
    db = await openNodeDatabase(join(dir, 'db'));
    let up = false;
    const follower = new ChainIndexFollower({
      index: await ChainIndex.open(db.chainIndex),
      chain: {
        anchoredEvents: () =>
          up
            ? Promise.resolve(quietStream())
            : Promise.reject(new ChainError('UNAVAILABLE', '14 UNAVAILABLE: No connection established')),
        getIndexChunk: () => Promise.reject(new Error('no anchors in this test')),
      },
      logger: pino({ level: 'silent' }),
      retryInitialMs: 10,
      retryMaxMs: 20,
    });
    expect(follower.failure).toBeUndefined();
    follower.start();
    for (let i = 0; i < 100 && follower.failure === undefined; i++) await sleep(5);
    expect(follower.failure).toBe('14 UNAVAILABLE: No connection established');

    up = true;
    // A reopened stream proves nothing at once (a ledger that is down errors a new stream immediately)…
    await sleep(200);
    expect(follower.failure).toBe('14 UNAVAILABLE: No connection established');
    // …but one that stays open is followed.
    for (let i = 0; i < 100 && follower.failure !== undefined; i++) await sleep(50);
    expect(follower.failure).toBeUndefined();
    await follower.stop();
  });
});
