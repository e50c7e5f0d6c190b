/** Bounded concurrent work over a request stream, answered in request order (AttestStream, IngestRecords). */

type Settled<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown };

/**
 * `work` applied to every item of `source`, at most `limit` at once, results yielded in source order. Reading the
 * next request races the oldest answer, so a client that waits for each answer before sending more is served too.
 */
export async function* inOrder<T, R>(
  source: AsyncIterable<T>,
  limit: number,
  work: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const iterator = source[Symbol.asyncIterator]();
  const inFlight: Promise<Settled<R>>[] = [];
  const read = () => {
    const promise = iterator.next();
    // A read left pending when the stream ends early may reject later: that is not an unhandled failure.
    promise.catch(() => undefined);
    return promise;
  };
  let next: Promise<IteratorResult<T>> | undefined = read();
  try {
    while (next !== undefined || inFlight.length > 0) {
      const oldest = inFlight[0];
      const reading: Promise<IteratorResult<T>> | undefined = inFlight.length < limit ? next : undefined;
      const event = await Promise.race([
        ...(reading ? [reading.then((read) => ({ read }))] : []),
        ...(oldest ? [oldest.then((settled) => ({ settled }))] : []),
      ]);
      if ('read' in event) {
        if (event.read.done === true) {
          next = undefined;
        } else {
          inFlight.push(
            work(event.read.value).then(
              (value) => ({ ok: true, value }),
              (error: unknown) => ({ ok: false, error }),
            ),
          );
          next = read();
        }
        continue;
      }
      void inFlight.shift(); // the oldest, which has settled
      if (!event.settled.ok) throw event.settled.error;
      yield event.settled.value;
    }
  } finally {
    // Stops reading when the stream ends early (an error, or the client cancelling).
    if (next !== undefined) void iterator.return?.().catch(() => undefined);
  }
}
