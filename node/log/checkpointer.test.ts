/**
 * The checkpointer's quiet trigger, on fake timers: a burst of at least F leaves is signed Q after its last
 * append, a trickle below F waits for T, and nothing is signed at or below the latest checkpoint.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { p256LogSigner, signCheckpoint, type SignedCheckpoint } from './checkpoint.ts';
import { Checkpointer, type CheckpointSource } from './checkpointer.ts';
import { newLogKey, ORIGIN } from './test-log.ts';

const T = 5_000;
const N = 10_000;
const Q = 200;
const F = 1_000;

/** A log that only grows: its root is not checked here, only which sizes get signed. */
class GrowingSource implements CheckpointSource {
  size = 0;
  readonly saved: string[] = [];
  root(size: number): Promise<Buffer> {
    return Promise.resolve(Buffer.alloc(32, size % 256));
  }
  saveCheckpoint(note: string): Promise<void> {
    this.saved.push(note);
    return Promise.resolve();
  }
}

describe('Checkpointer: the quiet trigger', () => {
  const signer = p256LogSigner(newLogKey());
  let source: GrowingSource;
  let signed: number[];
  let checkpointer: Checkpointer;

  const start = (latest?: SignedCheckpoint): Checkpointer => {
    checkpointer = new Checkpointer({
      origin: ORIGIN,
      signer,
      source,
      intervalMs: T,
      maxLeaves: N,
      quietMs: Q,
      quietLeaves: F,
      latest,
      onCheckpoint: (checkpoint) => signed.push(checkpoint.size),
    });
    return checkpointer;
  };
  const append = (leaves: number): void => {
    source.size += leaves;
    checkpointer.notify();
  };
  /** Moves the fake clock on, then lets a signing it started finish (its awaits are promise jobs). */
  const elapse = async (ms: number): Promise<void> => {
    await vi.advanceTimersByTimeAsync(ms);
    await new Promise((resolve) => setImmediate(resolve));
  };

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    source = new GrowingSource();
    signed = [];
  });
  afterEach(async () => {
    await checkpointer.stop();
    vi.useRealTimers();
  });

  it('signs a burst of at least F leaves Q after its last append, without waiting out T', async () => {
    start();
    for (let i = 0; i < 6; i++) {
      append(250);
      await elapse(Q - 1);
    }
    // Each append restarted the wait: 6 × (Q − 1) ms have passed, none of them quiet for Q.
    expect(signed).toEqual([]);
    await elapse(1);
    expect(signed).toEqual([1_500]);
    expect(source.saved).toHaveLength(1);
    // The T timer was cancelled with it: nothing more to sign.
    await elapse(T);
    expect(signed).toEqual([1_500]);
  });

  it('leaves a trickle below F to T', async () => {
    start();
    for (let elapsed = 0; elapsed < T - 300; elapsed += 300) {
      append(1);
      await elapse(300);
    }
    expect(signed).toEqual([]);
    await elapse(300);
    expect(signed).toEqual([16]);
  });

  it('signs F leaves that accumulated under T once they go quiet', async () => {
    start();
    append(F - 1);
    await elapse(Q);
    expect(signed).toEqual([]);
    append(1);
    await elapse(Q);
    expect(signed).toEqual([F]);
  });

  it('never signs a size at or below the latest checkpoint', async () => {
    source.size = 3_000;
    const latest = signCheckpoint(ORIGIN, 3_000, await source.root(3_000), signer);
    start(latest);
    checkpointer.notify();
    await elapse(T);
    expect(signed).toEqual([]);
    append(1_200);
    // Signed on demand before the log goes quiet: the quiet timer then finds nothing above it.
    expect((await checkpointer.checkpoint())?.size).toBe(4_200);
    await elapse(T);
    expect(signed).toEqual([4_200]);
    expect(checkpointer.latest?.size).toBe(4_200);
  });

  it('is cancelled by stop()', async () => {
    start();
    append(2_000);
    await checkpointer.stop();
    await elapse(T);
    expect(signed).toEqual([]);
    append(2_000);
    await elapse(T);
    expect(signed).toEqual([]);
  });
});
