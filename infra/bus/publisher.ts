// The single publisher: tails the store live (from its head at start; replaying older events is each subscriber's
// job) and publishes every event in position order. With several instances on one PostgreSQL, only the holder of
// a session advisory lock publishes and the others wait to take over; duplicates during a takeover are harmless
// because subscribers drop positions they have seen.
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventStore, Position, StoredEvent } from '../eventstore/port.ts';
import type { SqlDatabase } from '../sql/port.ts';
import type { Bus } from './port.ts';
import { tenantOf } from './subject.ts';

/** "live_pub" in ASCII: the advisory lock key that elects the publishing instance. */
export const PUBLISHER_LOCK_KEY = 0x6c6976655f707562n;

export interface PublisherOptions {
  store: EventStore;
  bus: Bus;
  /** Set when several instances share one database: only the lock holder publishes. */
  election?: { db: SqlDatabase; key?: bigint };
  /** Pause before retrying after an error, and between attempts to take the lock. */
  retryMs?: number;
  onError?: (error: unknown) => void;
  /** Sees every event as it is published (once per event while leading): /metrics counts appends here. */
  onPublish?: (event: StoredEvent) => void;
}

export interface Publisher {
  /** True while this instance is the one publishing. */
  readonly leading: boolean;
  stop(): Promise<void>;
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}

async function publishLive(
  { store, bus, onPublish }: Pick<PublisherOptions, 'store' | 'bus' | 'onPublish'>,
  lease: AbortSignal,
): Promise<void> {
  const head = await store.headPosition();
  // What was published before this start (by a former leader, or by us before an error) may be incomplete:
  // every subscriber re-reads the store once, then the tail below continues gap-free.
  bus.publishReset();
  // Per tenant, since subscribers see one tenant's messages: nothing of the tenant lies between `head` and its
  // first event published here, because the tail starts at `head`.
  const previous = new Map<string, Position>();
  for await (const event of store.subscribeAll({ after: head, signal: lease })) {
    const tenant = tenantOf(event.streamId);
    if (tenant === undefined) continue;
    bus.publish({ event, prevPosition: previous.get(tenant) ?? head });
    previous.set(tenant, event.position);
    onPublish?.(event);
  }
}

async function whileLeader(
  { db, key = PUBLISHER_LOCK_KEY }: NonNullable<PublisherOptions['election']>,
  retryMs: number,
  signal: AbortSignal,
  work: (lease: AbortSignal) => Promise<void>,
): Promise<void> {
  const session = await db.session();
  try {
    while (!(await session.tryAdvisoryLock(key))) {
      await pause(retryMs, signal);
      if (signal.aborted || session.lost.aborted) return;
    }
    // Losing the connection loses the lock, and another instance may already be publishing.
    await work(AbortSignal.any([signal, session.lost]));
  } finally {
    await session.release();
  }
}

export function startPublisher(options: PublisherOptions): Publisher {
  const { election, retryMs = 1000 } = options;
  const onError = options.onError ?? ((error: unknown) => console.error('live publisher:', error));
  const stopping = new AbortController();
  const signal = stopping.signal;
  let leading = false;
  const publish = async (lease: AbortSignal) => {
    leading = true;
    try {
      await publishLive(options, lease);
    } finally {
      leading = false;
    }
  };
  const running = (async () => {
    while (!signal.aborted) {
      try {
        await (election === undefined ? publish(signal) : whileLeader(election, retryMs, signal, publish));
      } catch (error) {
        if (!signal.aborted) onError(error);
      }
      await pause(retryMs, signal);
    }
  })();
  return {
    get leading() {
      return leading;
    },
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
