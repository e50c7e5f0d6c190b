/**
 * A bounded pool: `each` on every item, at most `limit` running at once, started in the items' order. Node has none
 * of its own and the project's uses are a few lines each (the audit's institutions, the snapshot store's judging).
 */
export async function forEachAtOnce<T extends object>(
  items: Iterable<T>,
  limit: number,
  each: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await each(next);
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
}
