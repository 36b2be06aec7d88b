// Bounded concurrency for commands on many streams at once: enough in flight to hide round trips, few enough to share
// the connection pool with everything else.

/** `work` on every item, at most `limit` at a time; the results in the order of `items`. */
export async function inPool<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index] as T, index);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
