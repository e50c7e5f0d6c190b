/** Reads the first `count` items of an official-client event stream, then closes it (the stream never ends). */
export async function take<T>(events: AsyncIterable<T> & { close(): void }, count: number): Promise<T[]> {
  const items: T[] = [];
  try {
    if (count === 0) return items;
    for await (const item of events) {
      items.push(item);
      if (items.length === count) break;
    }
    return items;
  } finally {
    events.close();
  }
}
