// Live events for one tenant after a cursor (DESIGN.md "Live delivery (NATS)"): subscribe to the bus into a
// bounded buffer first, replay the store after the cursor, then drain the buffer. The store is the source of
// truth: on a gap, a reset or a buffer overflow the query re-reads it, so every event arrives exactly once and in
// position order whatever the bus loses. Memory per query is bounded by `bufferSize` and one store page.
import type { EventStore, Position, StoredEvent } from '../infra/eventstore/port.ts';
import { tenantPrefix } from '../infra/eventstore/stream-name.ts';
import type { BusListener, BusMessage, BusSubscriber, BusSubscription } from '../infra/bus/port.ts';

export interface LiveEventFilter {
  /** Start of the client-visible stream id (`incident` → every incident, `incident-<id>` → one). */
  streamPrefix?: string;
  types?: readonly string[];
}

/** Counters a caller may pass in to observe one query (tests, metrics). */
export interface LiveEventsStats {
  storeReads: number;
  gaps: number;
  resets: number;
  overflows: number;
  /** Most bus messages held at once; never above `bufferSize`. */
  maxBuffered: number;
}

export interface LiveEventsOptions {
  store: EventStore;
  /** The instance's bus; it fans one upstream subscription per tenant out to every live query. */
  bus: BusSubscriber;
  tenant: string;
  /** Deliver events after this cursor (START replays the tenant's whole log); undefined means from now on. */
  after?: Position;
  filter?: LiveEventFilter;
  signal?: AbortSignal;
  /** Bus messages held while the consumer is busy; beyond it they are dropped and the store is re-read. */
  bufferSize?: number;
  /** Events read from the store per round trip during a replay. */
  pageSize?: number;
  stats?: LiveEventsStats;
}

export interface LiveEvent {
  /** Pass back as `after` to resume exactly after this event. */
  cursor: Position;
  event: StoredEvent;
}

export const DEFAULT_LIVE_BUFFER_SIZE = 256;
const DEFAULT_PAGE_SIZE = 256;

/**
 * Yields one event at a time: nothing is read ahead of the consumer beyond the bounded buffer. Ends when `signal`
 * aborts or the consumer returns; `return()` also ends a query that is waiting for the next event.
 */
export function liveEvents(options: LiveEventsOptions): AsyncGenerator<LiveEvent, void, undefined> {
  const stop = new AbortController();
  const events = run(options, stop);
  // An async generator's return() waits behind a pending next(); aborting first makes that next() finish now, so a
  // client that unsubscribes does not keep a bus listener until the next event happens to arrive.
  const iterator: AsyncGenerator<LiveEvent, void, undefined> = {
    next: () => events.next(),
    return: (value) => {
      stop.abort();
      return events.return(value);
    },
    throw: (error) => {
      stop.abort();
      return events.throw(error);
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

async function* run(options: LiveEventsOptions, stop: AbortController): AsyncGenerator<LiveEvent, void, undefined> {
  const { store, bus, tenant, filter = {} } = options;
  const stats = options.stats ?? { storeReads: 0, gaps: 0, resets: 0, overflows: 0, maxBuffered: 0 };
  const bufferSize = options.bufferSize ?? DEFAULT_LIVE_BUFFER_SIZE;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const tenantScope = tenantPrefix(tenant);
  const storeFilter = { streamPrefix: tenantScope + (filter.streamPrefix ?? ''), types: filter.types };
  const types = filter.types === undefined ? undefined : new Set(filter.types);
  const matches = (event: StoredEvent) =>
    event.streamId.startsWith(storeFilter.streamPrefix) && (types === undefined || types.has(event.type));

  const buffer: BusMessage[] = [];
  let overflowed = false;
  let resetRequested = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const listener: BusListener = {
    onMessage(message) {
      if (overflowed) return;
      if (buffer.length >= bufferSize) {
        // Dropping everything is enough: the store re-read that follows covers these messages too.
        overflowed = true;
        buffer.length = 0;
        stats.overflows++;
      } else {
        buffer.push(message);
        stats.maxBuffered = Math.max(stats.maxBuffered, buffer.length);
      }
      notify();
    },
    onReset() {
      resetRequested = true;
      stats.resets++;
      notify();
    },
  };
  // Linked by hand rather than with AbortSignal.any: a long-lived caller signal (server shutdown) shared by
  // thousands of subscriptions must not keep every ended one reachable.
  const abort = () => stop.abort();
  const signal = stop.signal;
  options.signal?.addEventListener('abort', abort);
  if (options.signal?.aborted) abort();
  signal.addEventListener('abort', notify);
  let subscription: BusSubscription | undefined;
  try {
    subscription = await bus.subscribe(tenant, listener);
    // Every event of the tenant at or before `covered` has been delivered if it matches the filter.
    let covered = options.after ?? (await store.headPosition());
    // Without a cursor there is nothing to replay: the bus, already subscribed, carries what comes after the head.
    let reread = options.after !== undefined;
    while (!signal.aborted) {
      if (reread || overflowed || resetRequested) {
        // Messages received so far are for events the store already shows, so the read below covers them.
        buffer.length = 0;
        reread = overflowed = resetRequested = false;
        stats.storeReads++;
        const head = await store.headPosition();
        let last = covered;
        for (;;) {
          // Whole pages, so no store cursor stays open while a slow consumer holds an event.
          const page: StoredEvent[] = [];
          for await (const event of store.readAll({ after: last, maxCount: pageSize, filter: storeFilter })) {
            page.push(event);
          }
          for (const event of page) {
            if (signal.aborted) return;
            last = event.position;
            yield { cursor: event.position, event };
          }
          if (page.length < pageSize) break;
        }
        // Everything up to `head` was visible before the read began, matching or not.
        covered = head > last ? head : last;
        continue;
      }
      const message = buffer.shift();
      if (message === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const { event, prevPosition } = message;
      if (!event.streamId.startsWith(tenantScope) || event.position <= covered) continue;
      if (prevPosition > covered) {
        stats.gaps++;
        reread = true;
        continue;
      }
      covered = event.position;
      if (matches(event)) yield { cursor: event.position, event };
    }
  } finally {
    options.signal?.removeEventListener('abort', abort);
    signal.removeEventListener('abort', notify);
    await subscription?.close();
  }
}
