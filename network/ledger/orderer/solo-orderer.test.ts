import { afterEach, describe, expect, it, vi } from 'vitest';
import { LedgerError } from '../errors.ts';
import { SoloOrderer } from './solo-orderer.ts';

const envelope = (n: number, size = 10) => new Uint8Array(size).fill(n % 256);
/** The test envelopes are their own payload: Fabric's message size is then their length. */
const order = (orderer: SoloOrderer, e: Uint8Array) => {
  orderer.order(e, e.length);
};

/** A committer that records batches and lets the test decide when each commit finishes. */
function recordingCommitter() {
  const batches: Uint8Array[][] = [];
  const pending: (() => void)[] = [];
  return {
    batches,
    release: () => pending.shift()?.(),
    commit: (batch: readonly Uint8Array[]) => {
      batches.push([...batch]);
      return new Promise<void>((resolve) => pending.push(resolve));
    },
  };
}

describe('SoloOrderer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('cuts a batch as soon as it holds maxTransactions envelopes', () => {
    const c = recordingCommitter();
    const orderer = new SoloOrderer(c.commit, { maxTransactions: 3, batchTimeoutMs: 60_000 });
    for (let i = 0; i < 3; i++) order(orderer, envelope(i));
    expect(c.batches.map((b) => b.length)).toEqual([3]);
  });

  it('cuts the pending batch first when an envelope would overflow preferredMaxBytes', () => {
    const c = recordingCommitter();
    const orderer = new SoloOrderer(c.commit, { maxTransactions: 100, preferredMaxBytes: 25, batchTimeoutMs: 60_000 });
    order(orderer, envelope(1, 10));
    order(orderer, envelope(2, 10));
    expect(c.batches).toHaveLength(0);
    order(orderer, envelope(3, 10));
    expect(c.batches.map((b) => b.map((e) => e[0]))).toEqual([[1, 2]]);
  });

  it('cuts an envelope larger than preferredMaxBytes at once, alone, after what was pending', async () => {
    const c = recordingCommitter();
    const orderer = new SoloOrderer(c.commit, { maxTransactions: 100, preferredMaxBytes: 25, batchTimeoutMs: 60_000 });
    order(orderer, envelope(1, 10));
    order(orderer, envelope(2, 26));
    expect(c.batches.map((b) => b.map((e) => e[0]))).toEqual([[1]]);
    c.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(c.batches.map((b) => b.map((e) => e[0]))).toEqual([[1], [2]]);
  });

  it('cuts a partial batch batchTimeoutMs after its first envelope, and not before', () => {
    vi.useFakeTimers();
    const c = recordingCommitter();
    const orderer = new SoloOrderer(c.commit, { maxTransactions: 100, batchTimeoutMs: 20 });
    order(orderer, envelope(1));
    vi.advanceTimersByTime(19);
    order(orderer, envelope(2));
    expect(c.batches).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(c.batches.map((b) => b.map((e) => e[0]))).toEqual([[1, 2]]);
  });

  it('cuts by reconfigured settings from the next envelope; a running timer keeps its timeout', async () => {
    vi.useFakeTimers();
    const c = recordingCommitter();
    const orderer = new SoloOrderer(c.commit, { maxTransactions: 100, preferredMaxBytes: 1000, batchTimeoutMs: 20 });
    order(orderer, envelope(1));
    orderer.reconfigure({ maxTransactions: 2, preferredMaxBytes: 1000, batchTimeoutMs: 50 });
    vi.advanceTimersByTime(20);
    expect(c.batches.map((b) => b.map((e) => e[0]))).toEqual([[1]]);
    c.release();
    order(orderer, envelope(2));
    await vi.advanceTimersByTimeAsync(49);
    expect(c.batches).toHaveLength(1);
    order(orderer, envelope(3));
    expect(c.batches.map((b) => b.map((e) => e[0]))).toEqual([[1], [2, 3]]);
  });

  it('cuts the envelopes after a config transaction by its settings, before its block is committed', async () => {
    vi.useFakeTimers();
    const c = recordingCommitter();
    const orderer = new SoloOrderer(c.commit, {
      maxTransactions: 100,
      preferredMaxBytes: 1000,
      batchTimeoutMs: 60_000,
    });
    order(orderer, envelope(1));
    orderer.orderConfig(envelope(2), { maxTransactions: 2, preferredMaxBytes: 1000, batchTimeoutMs: 20 });
    for (const n of [3, 4, 5]) order(orderer, envelope(n));
    await vi.advanceTimersByTimeAsync(20);
    for (let i = 0; i < 4; i++) {
      c.release();
      await vi.advanceTimersByTimeAsync(0);
    }
    // [1] cut by the config; [3, 4] by the new count before [2] was committed; [5] by the new timeout.
    expect(c.batches.map((b) => b.map((e) => e[0]))).toEqual([[1], [2], [3, 4], [5]]);
  });

  it('stops the batch timer when a cut leaves nothing pending', () => {
    vi.useFakeTimers();
    const c = recordingCommitter();
    const orderer = new SoloOrderer(c.commit, { maxTransactions: 2, batchTimeoutMs: 20 });
    order(orderer, envelope(1));
    order(orderer, envelope(2));
    expect(vi.getTimerCount()).toBe(0);
    order(orderer, envelope(3));
    expect(vi.getTimerCount()).toBe(1);
  });

  it('cuts what is pending before a config transaction, which is a block of its own', async () => {
    const kinds: string[] = [];
    const c = recordingCommitter();
    const orderer = new SoloOrderer(
      (batch, kind) => {
        kinds.push(kind);
        return c.commit(batch);
      },
      { maxTransactions: 100, batchTimeoutMs: 60_000 },
    );
    order(orderer, envelope(1));
    orderer.orderConfig(envelope(2));
    order(orderer, envelope(3));
    const close = orderer.close();
    for (let i = 0; i < 3; i++) {
      c.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await close;
    expect(c.batches.map((b) => b.map((e) => e[0]))).toEqual([[1], [2], [3]]);
    expect(kinds).toEqual(['transactions', 'config', 'transactions']);
  });

  it('commits one batch at a time and keeps arrival order across batches', async () => {
    const c = recordingCommitter();
    const orderer = new SoloOrderer(c.commit, { maxTransactions: 2, batchTimeoutMs: 60_000 });
    for (let i = 0; i < 5; i++) order(orderer, envelope(i));
    expect(c.batches).toHaveLength(1); // the next batch waits for this commit
    c.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(c.batches).toHaveLength(2);
    c.release();
    await new Promise((resolve) => setImmediate(resolve));
    const close = orderer.close();
    c.release();
    await close;
    expect(c.batches.flat().map((e) => e[0])).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses envelopes beyond maxPending with ORDERER_REJECTED', () => {
    const c = recordingCommitter();
    const orderer = new SoloOrderer(c.commit, { maxTransactions: 1, maxPending: 2, batchTimeoutMs: 60_000 });
    order(orderer, envelope(0)); // cut at once, committing
    order(orderer, envelope(1));
    order(orderer, envelope(2));
    expect(() => {
      order(orderer, envelope(3));
    }).toThrow(expect.objectContaining({ code: 'ORDERER_REJECTED' }) as Error);
  });

  it('commits what is queued on close, then refuses new envelopes with CLOSED', async () => {
    const c = { batches: [] as Uint8Array[][] };
    const orderer = new SoloOrderer(
      (batch) => {
        c.batches.push([...batch]);
        return Promise.resolve();
      },
      { maxTransactions: 100, batchTimeoutMs: 60_000 },
    );
    order(orderer, envelope(1));
    order(orderer, envelope(2));
    await orderer.close();
    expect(c.batches.map((b) => b.length)).toEqual([2]);
    expect(() => {
      order(orderer, envelope(3));
    }).toThrow(LedgerError);
  });

  it('stops ordering after a failed commit rather than forking the chain', async () => {
    const orderer = new SoloOrderer(() => Promise.reject(new Error('disk full')), { maxTransactions: 1 });
    order(orderer, envelope(1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(() => {
      order(orderer, envelope(2));
    }).toThrow(expect.objectContaining({ code: 'ORDERER_REJECTED' }) as Error);
  });

  it('commits the same batch again after a transient failure, refusing new envelopes meanwhile, then resumes', async () => {
    const full = () =>
      Object.assign(new Error('IO error: 000031.log: No space left on device'), { code: 'LEVEL_IO_ERROR' });
    let failures = 2;
    const attempts: number[][] = [];
    const committed: number[][] = [];
    const orderer = new SoloOrderer(
      (batch) => {
        const numbers = batch.map((e) => e[0] ?? -1);
        attempts.push(numbers);
        if (failures > 0) {
          failures -= 1;
          return Promise.reject(full());
        }
        committed.push(numbers);
        return Promise.resolve();
      },
      { maxTransactions: 2, batchTimeoutMs: 5 },
      { transient: (err) => (err as { code?: unknown }).code === 'LEVEL_IO_ERROR', initialMs: 10, maxMs: 40 },
    );
    order(orderer, envelope(1));
    order(orderer, envelope(2));
    await new Promise((resolve) => setImmediate(resolve));
    expect(orderer.fault).toBeDefined();
    expect(() => {
      order(orderer, envelope(3));
    }).toThrow(
      expect.objectContaining({
        code: 'ORDERER_REJECTED',
        message: expect.stringMatching(/SERVICE_UNAVAILABLE.*No space left.*retrying/) as unknown,
      }) as Error,
    );

    for (let i = 0; i < 100 && committed.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(attempts).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    expect(committed).toEqual([[1, 2]]);
    expect(orderer.fault).toBeUndefined();
    order(orderer, envelope(4));
    await orderer.close();
    expect(committed).toEqual([[1, 2], [4]]);
  });
});
