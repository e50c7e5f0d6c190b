/**
 * Reads the first `count` items (those `keep` accepts, all by default) of an official-client event stream, then
 * closes it (the stream never ends).
 */
export async function take<T>(
  events: AsyncIterable<T> & { close(): void },
  count: number,
  keep: (item: T) => boolean = () => true,
): Promise<T[]> {
  const items: T[] = [];
  try {
    if (count === 0) return items;
    for await (const item of events) {
      if (!keep(item)) continue;
      items.push(item);
      if (items.length === count) break;
    }
    return items;
  } finally {
    events.close();
  }
}
