// A subscription's payloads from the live events: each event becomes a payload, or nothing when `change` skips it.
// A hand-written iterator rather than an async generator, so that `return()` ends a live query waiting for its next
// event at once (an async generator's return would wait behind the pending `next()`).
import type { LiveEvent } from '../../queries/live-events.ts';

export function liveChanges<Payload>(
  source: AsyncGenerator<LiveEvent, void, undefined>,
  change: (item: LiveEvent) => Promise<Payload | undefined>,
): AsyncIterableIterator<Payload> {
  const iterator: AsyncIterableIterator<Payload> = {
    async next() {
      for (;;) {
        const result = await source.next();
        if (result.done) return { done: true, value: undefined };
        const payload = await change(result.value);
        if (payload !== undefined) return { done: false, value: payload };
      }
    },
    async return() {
      await source.return();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
