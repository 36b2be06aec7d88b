// Live delivery end to end below the gateway: store → publisher → bus → liveEvents. Run twice: embedded
// (in-memory PGlite, in-process bus) and distributed (PostgreSQL, NATS, publisher on instance A, subscribers on
// instance B, as two gateway instances would be).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { createMemoryBus } from '../../infra/bus/memory.ts';
import { createNatsBus } from '../../infra/bus/nats.ts';
import type { Bus, BusSubscriber } from '../../infra/bus/port.ts';
import { startPublisher, type Publisher, type PublisherOptions } from '../../infra/bus/publisher.ts';
import type { EventStore, Position } from '../../infra/eventstore/port.ts';
import { qualify } from '../../infra/eventstore/stream-name.ts';
import { createPgDatabase } from '../../infra/sql/pg.ts';
import { openPglite } from '../../infra/sql/pglite.ts';
import { createEmbeddedEventStore } from '../../infra/eventstore/embedded.ts';
import { createPostgresEventStore } from '../../infra/eventstore/postgres.ts';
import { liveEvents, type LiveEvent, type LiveEventsOptions, type LiveEventsStats } from '../../queries/live-events.ts';
import { NATS_TEST_URL, createTestDatabase, postgresSkip } from '../support/services.ts';
import { eventually, natsSkip, newEvent, take, uniqueSubjectPrefix } from './live-support.ts';

/** Two gateway instances: A appends and publishes, B serves subscribers (the same objects when embedded). */
interface LiveBackend {
  storeA: EventStore;
  busA: Bus;
  storeB: EventStore;
  busB: Bus;
  close(): Promise<void>;
}

function newTenant(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

function newStats(): LiveEventsStats {
  return { storeReads: 0, gaps: 0, resets: 0, overflows: 0, maxBuffered: 0 };
}

/** The newest position this file has appended; reads of "everything so far" wait until the store shows it. */
let lastAppended: Position = '';

async function append(store: EventStore, tenant: string, clientStreamId: string, types: string[]): Promise<Position> {
  const events = types.map((type, i) => newEvent(tenant, type, { i }));
  const { position } = await store.append(qualify(tenant, clientStreamId), events, { expectedRevision: 'any' });
  if (position > lastAppended) lastAppended = position;
  return position;
}

/** Every event must come exactly once: after the expected ones, the next item is a fresh marker event. */
async function assertNothingMore(
  iterator: AsyncIterator<LiveEvent>,
  store: EventStore,
  tenant: string,
  marker = { clientStreamId: 'marker-1', type: 'MarkerAppended' },
): Promise<void> {
  const position = await append(store, tenant, marker.clientStreamId, [marker.type]);
  const [next] = await take(iterator, 1);
  assert.equal(next?.cursor, position, `expected the marker, got ${next?.event.type} at ${next?.cursor}`);
}

function cursorsOf(items: LiveEvent[]): Position[] {
  return items.map((item) => item.cursor);
}

async function positionsOf(store: EventStore, tenant: string, after: Position): Promise<Position[]> {
  // A committed event becomes visible only once every older transaction on the server has ended (gap-free reads),
  // and other test files share the server: wait for visibility instead of assuming it.
  let head = await store.headPosition();
  const deadline = Date.now() + 10_000;
  while (head < lastAppended) {
    if (Date.now() > deadline) assert.fail(`store head ${head} never reached ${lastAppended}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    head = await store.headPosition();
  }
  const positions: Position[] = [];
  for await (const event of store.readAll({ after, filter: { streamPrefix: `${tenant}/` } })) positions.push(event.position);
  return positions;
}

function liveSuite(name: string, skip: false | string, open: () => Promise<LiveBackend>): void {
  describe(`live events (${name})`, { skip }, () => {
    let backend: LiveBackend;
    const publishers: Publisher[] = [];
    const iterators: AsyncGenerator<LiveEvent, void, undefined>[] = [];

    const publish = (options: Partial<PublisherOptions> = {}) => {
      const publisher = startPublisher({ store: backend.storeA, bus: backend.busA, retryMs: 50, ...options });
      publishers.push(publisher);
      return publisher;
    };
    const subscribe = (options: Omit<LiveEventsOptions, 'store' | 'bus'>) => {
      const iterator = liveEvents({ store: backend.storeB, bus: backend.busB, ...options });
      iterators.push(iterator);
      return iterator;
    };

    /** A subscriber after `start` that has received one opening event: it is subscribed and live from here on. */
    const subscribeLive = async (tenant: string, start: Position, options: Partial<LiveEventsOptions> = {}) => {
      const events = subscribe({ tenant, after: start, ...options });
      const opening = await append(backend.storeA, tenant, 'opening-1', ['SubscriptionOpened']);
      assert.deepEqual(cursorsOf(await take(events, 1)), [opening]);
      return events;
    };

    before(async () => {
      backend = await open();
    });
    afterEach(async () => {
      await Promise.all(iterators.splice(0).map((iterator) => iterator.return()));
      await Promise.all(publishers.splice(0).map((publisher) => publisher.stop()));
    });
    after(async () => {
      await backend?.close();
    });

    test('events appended while a subscriber is live arrive once each, in order', async () => {
      publish();
      const tenant = newTenant();
      const start = await backend.storeA.headPosition();
      const stats = newStats();
      const events = await subscribeLive(tenant, start, { stats });
      for (let i = 0; i < 20; i++) await append(backend.storeA, tenant, `incident-${i % 3}`, ['IncidentNoted']);
      await append(backend.storeA, tenant, 'incident-9', ['IncidentDeclared', 'IncidentAcknowledged']);
      const expected = (await positionsOf(backend.storeA, tenant, start)).slice(1);
      assert.deepEqual(cursorsOf(await take(events, expected.length)), expected);
      assert.equal(stats.gaps, 0);
      await assertNothingMore(events, backend.storeA, tenant);
    });

    test('a subscriber resuming after its last cursor gets exactly the missed events, then live ones', async () => {
      publish();
      const tenant = newTenant();
      const start = await backend.storeA.headPosition();
      const first = subscribe({ tenant, after: start });
      for (let i = 0; i < 5; i++) await append(backend.storeA, tenant, 'incident-1', ['IncidentNoted']);
      const seen = await take(first, 3);
      await first.return();
      const lastCursor = seen.at(-1)?.cursor ?? assert.fail('no cursor');

      for (let i = 0; i < 4; i++) await append(backend.storeA, tenant, 'incident-2', ['IncidentNoted']);
      const missed = await positionsOf(backend.storeA, tenant, lastCursor);
      const resumed = subscribe({ tenant, after: lastCursor });
      assert.deepEqual(cursorsOf(await take(resumed, missed.length)), missed);
      const live = [await append(backend.storeA, tenant, 'incident-3', ['IncidentNoted'])];
      live.push(await append(backend.storeA, tenant, 'incident-3', ['IncidentNoted']));
      assert.deepEqual(cursorsOf(await take(resumed, 2)), live);
      await assertNothingMore(resumed, backend.storeA, tenant);
    });

    test('messages the bus loses are recovered from the store, once each and in order', async () => {
      let sent = 0;
      const lossy: Bus = {
        ...backend.busA,
        publish(message) {
          if (sent++ % 2 === 0) backend.busA.publish(message);
        },
      };
      publish({ bus: lossy });
      const tenant = newTenant();
      const stats = newStats();
      const start = await backend.storeA.headPosition();
      const events = await subscribeLive(tenant, start, { stats });
      for (let i = 0; i < 21; i++) await append(backend.storeA, tenant, `incident-${i % 4}`, ['IncidentNoted']);
      const expected = (await positionsOf(backend.storeA, tenant, start)).slice(1);
      assert.deepEqual(cursorsOf(await take(events, expected.length)), expected);
      assert.ok(stats.gaps > 0, 'a gap was detected');
      await assertNothingMore(events, backend.storeA, tenant);
    });

    test('events appended while no publisher runs arrive when one starts again', async () => {
      const publisher = publish();
      const tenant = newTenant();
      const start = await backend.storeA.headPosition();
      const events = await subscribeLive(tenant, start);
      const [opened] = await positionsOf(backend.storeA, tenant, start);
      await publisher.stop();
      await append(backend.storeA, tenant, 'incident-1', ['IncidentAcknowledged', 'IncidentNoted']);
      publish();
      const expected = await positionsOf(backend.storeA, tenant, opened ?? assert.fail('no opening event'));
      assert.deepEqual(cursorsOf(await take(events, expected.length)), expected);
      await assertNothingMore(events, backend.storeA, tenant);
    });

    test('a slow consumer with a small buffer gets every event of a burst once, in bounded memory', async () => {
      publish();
      const tenant = newTenant();
      const stats = newStats();
      const start = await backend.storeA.headPosition();
      const events = await subscribeLive(tenant, start, { bufferSize: 4, pageSize: 16, stats });
      // The consumer holds its first event and pulls nothing while the burst comes in.
      for (let i = 0; i < 10; i++) {
        await append(backend.storeA, tenant, `incident-${i}`, Array.from({ length: 10 }, () => 'IncidentNoted'));
      }
      await eventually(() => stats.overflows > 0, () => `no overflow yet (${stats.maxBuffered} buffered)`);
      const expected = await positionsOf(backend.storeA, tenant, start);
      assert.deepEqual(cursorsOf(await take(events, expected.length - 1)), expected.slice(1));
      assert.ok(stats.maxBuffered <= 4, `buffered ${stats.maxBuffered} > 4`);
      await assertNothingMore(events, backend.storeA, tenant);
    });

    test('streamPrefix and types filter both the replay and the live part', async () => {
      publish();
      const tenant = newTenant();
      const start = await backend.storeA.headPosition();
      const batch = async () => {
        await append(backend.storeA, tenant, 'incident-1', ['IncidentDeclared', 'IncidentAcknowledged']);
        await append(backend.storeA, tenant, 'alert-1', ['IncidentAcknowledged', 'AlertFired']);
        await append(backend.storeA, tenant, 'incident-2', ['IncidentAcknowledged']);
      };
      const wanted = async (after: Position) => {
        const positions: Position[] = [];
        const filter = { streamPrefix: `${tenant}/incident`, types: ['IncidentAcknowledged'] };
        for await (const event of backend.storeA.readAll({ after, filter })) positions.push(event.position);
        return positions;
      };
      await batch();
      const replayed = await wanted(start);
      const events = subscribe({ tenant, after: start, filter: { streamPrefix: 'incident', types: ['IncidentAcknowledged'] } });
      const received = await take(events, replayed.length);
      assert.deepEqual(cursorsOf(received), replayed);
      assert.deepEqual(
        received.map((item) => item.event.streamId),
        [`${tenant}/incident-1`, `${tenant}/incident-2`],
      );
      const liveFrom = await backend.storeA.headPosition();
      await batch();
      assert.deepEqual(cursorsOf(await take(events, 2)), await wanted(liveFrom));
      await append(backend.storeA, tenant, 'alert-2', ['IncidentAcknowledged']);
      await assertNothingMore(events, backend.storeA, tenant, {
        clientStreamId: 'incident-marker',
        type: 'IncidentAcknowledged',
      });
    });

    test("a tenant's subscriber sees nothing of another tenant", async () => {
      publish();
      const [tenantA, tenantB] = [newTenant(), newTenant()];
      const start = await backend.storeA.headPosition();
      const events = await subscribeLive(tenantB, start);
      await append(backend.storeA, tenantA, 'incident-1', ['IncidentDeclared', 'IncidentAcknowledged']);
      await assertNothingMore(events, backend.storeA, tenantB);
    });

    test('returning or aborting ends a subscriber that is waiting for events, and unsubscribes it', async () => {
      const tenant = newTenant();
      let open = 0;
      const counting: BusSubscriber = {
        async subscribe(subscribedTenant, listener) {
          const subscription = await backend.busB.subscribe(subscribedTenant, listener);
          open++;
          return {
            async close() {
              open--;
              await subscription.close();
            },
          };
        },
      };
      const waiting = liveEvents({ store: backend.storeB, bus: counting, tenant });
      const pending = waiting.next();
      await eventually(() => open === 1, () => 'never subscribed');
      await waiting.return();
      assert.deepEqual(await pending, { done: true, value: undefined });
      assert.equal(open, 0);

      const controller = new AbortController();
      const aborted = liveEvents({ store: backend.storeB, bus: counting, tenant, signal: controller.signal });
      const next = aborted.next();
      await eventually(() => open === 1, () => 'never subscribed');
      controller.abort();
      assert.deepEqual(await next, { done: true, value: undefined });
      assert.equal(open, 0);
    });
  });
}

liveSuite('embedded store, in-process bus', false, async () => {
  const db = await openPglite();
  const store = await createEmbeddedEventStore(db);
  const bus = createMemoryBus();
  return {
    storeA: store,
    busA: bus,
    storeB: store,
    busB: bus,
    async close() {
      await bus.close();
      await store.close();
      await db.close();
    },
  };
});

const distributedSkip = (await postgresSkip()) || (await natsSkip());

liveSuite('PostgreSQL store, NATS, two instances', distributedSkip, async () => {
  const database = await createTestDatabase('live');
  const subjectPrefix = uniqueSubjectPrefix();
  const dbA = createPgDatabase(database.url, { applicationName: 'live-a' });
  const dbB = createPgDatabase(database.url, { applicationName: 'live-b' });
  const storeA = await createPostgresEventStore(dbA);
  const storeB = await createPostgresEventStore(dbB);
  const busA = await createNatsBus({ url: NATS_TEST_URL, subjectPrefix, name: 'live-a' });
  const busB = await createNatsBus({ url: NATS_TEST_URL, subjectPrefix, name: 'live-b' });
  return {
    storeA,
    busA,
    storeB,
    busB,
    async close() {
      await Promise.all([busA.close(), busB.close()]);
      await Promise.all([storeA.close(), storeB.close()]);
      await Promise.all([dbA.close(), dbB.close()]);
      await database.drop();
    },
  };
});
