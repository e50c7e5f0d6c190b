import { describe, expect, it } from 'vitest';
import { inOrder } from './in-order.ts';

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A request stream the test feeds item by item, recording how far it has been read and whether it was closed. */
function feed<T>() {
  const queue: T[] = [];
  const waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: Error) => void }[] = [];
  let ended = false;
  const state = { read: 0, returned: false };
  let failure: Error | undefined;
  const answer = () => {
    while (waiting.length > 0 && (queue.length > 0 || ended)) {
      const { resolve, reject } = waiting.shift() ?? {};
      const item = queue.shift();
      if (item === undefined && failure !== undefined) reject?.(failure);
      else if (item === undefined) resolve?.({ done: true, value: undefined });
      else {
        state.read++;
        resolve?.({ done: false, value: item });
      }
    }
  };
  const stream: AsyncIterable<T> = {
    [Symbol.asyncIterator]: () => ({
      next: () =>
        new Promise<IteratorResult<T>>((resolve, reject) => {
          waiting.push({ resolve, reject });
          answer();
        }),
      return: () => {
        state.returned = true;
        return Promise.resolve({ done: true, value: undefined });
      },
    }),
  };
  return {
    stream,
    state,
    push: (...items: T[]) => {
      queue.push(...items);
      answer();
    },
    end: () => {
      ended = true;
      answer();
    },
    /** The next read after the items pushed fails (a malformed message, the call failing). */
    fail: (error: Error) => {
      failure = error;
      ended = true;
      answer();
    },
  };
}

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
}

/** `items[i]`, which the test knows is there. */
function at<T>(items: readonly T[], i: number): T {
  const item = items[i];
  if (item === undefined) throw new Error(`no item ${i}`);
  return item;
}

describe('inOrder', () => {
  it('answers in source order whatever order the work finishes in', async () => {
    const works = [3, 1, 4, 1, 5, 9, 2, 6].map(() => deferred<number>());
    const out = inOrder(from([0, 1, 2, 3, 4, 5, 6, 7]), 8, (i) => at(works, i).promise);
    const collected = (async () => {
      const answers: number[] = [];
      for await (const answer of out) answers.push(answer);
      return answers;
    })();
    await settle();
    for (const i of [7, 2, 5, 0, 6, 1, 4, 3]) {
      at(works, i).resolve(i * 10);
      await settle();
    }
    expect(await collected).toEqual([0, 10, 20, 30, 40, 50, 60, 70]);
  });

  it('works on at most `limit` items at once, and on `limit` when they are there', async () => {
    let working = 0;
    let deepest = 0;
    const out = inOrder(from(Array.from({ length: 200 }, (_, i) => i)), 5, async (i) => {
      working++;
      deepest = Math.max(deepest, working);
      await settle();
      working--;
      return i;
    });
    const answers: number[] = [];
    for await (const answer of out) answers.push(answer);
    expect(answers).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(deepest).toBe(5);
  });

  it('answers a client that sends its next request only after the last answer', async () => {
    const requests = feed<number>();
    const out = inOrder(requests.stream, 64, (i) => Promise.resolve(i + 100));
    for (let i = 0; i < 5; i++) {
      requests.push(i);
      expect(await out.next()).toEqual({ done: false, value: i + 100 });
    }
    requests.end();
    expect(await out.next()).toEqual({ done: true, value: undefined });
  });

  it('starts no new work while the consumer is not asking for answers', async () => {
    const requests = feed<number>();
    const started: number[] = [];
    const out = inOrder(requests.stream, 4, (i) => {
      started.push(i);
      return Promise.resolve(i);
    });
    requests.push(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    expect(await out.next()).toEqual({ done: false, value: 0 });
    const working = [...started];
    // Held back (HTTP/2 flow control): however long it waits, nothing is worked on beyond what was when it took
    // the answer, and nothing is read beyond the one read kept outstanding.
    for (let i = 0; i < 5; i++) await settle();
    expect(started).toEqual(working);
    expect(requests.state.read).toBeLessThanOrEqual(working.length + 1);
    const rest: number[] = [];
    requests.end();
    for await (const answer of out) rest.push(answer);
    expect(rest).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('ends with the first failure in source order, after the answers before it, and stops reading', async () => {
    const requests = feed<number>();
    const works = Array.from({ length: 4 }, () => deferred<string>());
    const out = inOrder(requests.stream, 8, (i) => at(works, i).promise);
    requests.push(0, 1, 2, 3);
    const first = out.next();
    await settle();
    at(works, 3).reject(new Error('three failed'));
    at(works, 2).reject(new Error('two failed'));
    at(works, 0).resolve('zero');
    expect(await first).toEqual({ done: false, value: 'zero' });
    const second = out.next();
    at(works, 1).resolve('one');
    expect(await second).toEqual({ done: false, value: 'one' });
    await expect(out.next()).rejects.toThrow('two failed');
    await settle();
    expect(requests.state.returned).toBe(true);
    expect(await out.next()).toEqual({ done: true, value: undefined });
  });

  it('ends with a failed read of the source', async () => {
    async function* failing(): AsyncGenerator<number> {
      yield await Promise.resolve(1);
      throw new Error('the client reset the stream');
    }
    const out = inOrder(failing(), 4, (i) => Promise.resolve(i));
    const answers: number[] = [];
    await expect(
      (async () => {
        for await (const answer of out) answers.push(answer);
      })(),
    ).rejects.toThrow('the client reset the stream');
    expect(answers.length).toBeLessThanOrEqual(1);
  });

  it('hands over the answers of every request read before a failed read, then fails with it', async () => {
    const requests = feed<number>();
    const works = Array.from({ length: 3 }, () => deferred<string>());
    const out = inOrder(requests.stream, 8, (i) => at(works, i).promise);
    requests.push(0, 1, 2);
    const first = out.next();
    at(works, 0).resolve('zero');
    at(works, 2).resolve('two');
    expect(await first).toEqual({ done: false, value: 'zero' });
    requests.fail(new Error('request 3 is malformed'));
    // The failed read has arrived; answer 1 is still being worked on, answer 2 is ready.
    const second = out.next();
    await settle();
    at(works, 1).resolve('one');
    expect(await second).toEqual({ done: false, value: 'one' });
    expect(await out.next()).toEqual({ done: false, value: 'two' });
    await expect(out.next()).rejects.toThrow('request 3 is malformed');
    expect(await out.next()).toEqual({ done: true, value: undefined });
  });

  it("fails at once with the signal's reason when the call is aborted, not after the oldest work settles", async () => {
    const requests = feed<number>();
    const abort = new AbortController();
    const never = deferred<number>();
    const out = inOrder(requests.stream, 4, () => never.promise, { signal: abort.signal });
    requests.push(0, 1);
    const waiting = out.next();
    await settle();
    const reason = new Error('the client cancelled the call');
    abort.abort(reason);

    await expect(waiting).rejects.toBe(reason);
    expect(requests.state.returned).toBe(true);
    expect(await out.next()).toEqual({ done: true, value: undefined });
  });

  it('fails the next read after an abort that came while the consumer was not waiting', async () => {
    const requests = feed<number>();
    const abort = new AbortController();
    const out = inOrder(requests.stream, 4, (i) => Promise.resolve(i), { signal: abort.signal });
    requests.push(0, 1);
    expect(await out.next()).toEqual({ done: false, value: 0 });
    abort.abort(new Error('cut'));

    await expect(out.next()).rejects.toThrow('cut');
    expect(await out.next()).toEqual({ done: true, value: undefined });
  });

  it('closes the source when the consumer stops early (the client cancelled)', async () => {
    const requests = feed<number>();
    const out = inOrder(requests.stream, 4, (i) => Promise.resolve(i));
    requests.push(0, 1, 2);
    for await (const answer of out) {
      if (answer === 1) break;
    }
    await settle();
    expect(requests.state.returned).toBe(true);
    expect(await out.next()).toEqual({ done: true, value: undefined });
  });
});
