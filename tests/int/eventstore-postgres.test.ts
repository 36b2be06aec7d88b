// PostgreSQL-specific behaviour of the event store: gap-free delivery while transactions commit out of order, the
// connection dying mid-append, appends inside a caller's transaction, cross-process wake-ups, bounded filtered reads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { InvalidAppendError, StoreUnavailableError, TransactionConflictError } from '../../infra/eventstore/errors.ts';
import { verifyStream } from '../../infra/eventstore/hash-chain.ts';
import { START, type EventStore, type NewEvent, type StoredEvent } from '../../infra/eventstore/port.ts';
import { appendInTransaction, createPostgresEventStore } from '../../infra/eventstore/postgres.ts';
import { tenantPrefix } from '../../infra/eventstore/stream-name.ts';
import { createPgDatabase } from '../../infra/sql/pg.ts';
import { createTestDatabase, postgresSkip, type TestDatabase } from '../support/services.ts';
import { assertIncreasing, collect, events, newEvent, newStream, newTenant } from '../contract/eventstore.ts';

const skip = await postgresSkip();
const DEADLINE_MS = 45_000;

async function until<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = DEADLINE_MS): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('postgres event store', { skip }, () => {
  let database: TestDatabase;
  let db: ReturnType<typeof createPgDatabase>;
  let store: EventStore;
  let admin: pg.Client;

  before(async () => {
    database = await createTestDatabase('es_int');
    db = createPgDatabase(database.url, { applicationName: 'eventstore-int', max: 24 });
    store = await createPostgresEventStore(db);
    admin = new pg.Client({ connectionString: database.url, application_name: 'eventstore-int-admin' });
    await admin.connect();
  });
  after(async () => {
    await store?.close();
    await db?.close();
    await admin?.end();
    await database?.drop();
  });

  /** The pid of a backend of this test's pool waiting on a lock. */
  const blockedBackend = () =>
    until('an append blocked on the table lock', async () => {
      const { rows } = await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'eventstore-int' AND wait_event_type = 'Lock'`,
      );
      return rows[0]?.pid;
    });

  test('many writers, some committing late from transactions held open: every event delivered once, in order', async () => {
    const tenant = newTenant();
    const writers = 16;
    const appendsPerWriter = 200;
    const total = writers * appendsPerWriter;
    const filter = { streamPrefix: tenantPrefix(tenant) };
    const start = await store.headPosition();

    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(), 55_000);
    const received: StoredEvent[] = [];
    const subscriber = (async () => {
      for await (const event of store.subscribeAll({ after: start, filter, signal: controller.signal })) {
        received.push(event);
        if (received.length === total) break;
      }
    })();

    const appended: string[] = [];
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        const streamId = newStream(tenant);
        for (let index = 0; index < appendsPerWriter; index++) {
          const event = newEvent(tenant, 'MetricSampled', { writer, index });
          appended.push(event.id);
          // A quarter of the writers hold every 10th append in an open transaction: its rows have early positions
          // but become visible only after rows of later transactions.
          if (writer % 4 === 0 && index % 10 === 0) {
            await db.transaction(async (tx) => {
              await appendInTransaction(tx, streamId, [event], { expectedRevision: index === 0 ? 'no_stream' : BigInt(index - 1) });
              await tx.query('SELECT pg_sleep(0.15)');
            });
          } else {
            await store.append(streamId, [event], { expectedRevision: index === 0 ? 'no_stream' : BigInt(index - 1) });
          }
        }
      }),
    );
    await subscriber;
    clearTimeout(deadline);

    assert.equal(received.length, total, 'the subscription saw every event before its deadline');
    assertIncreasing(received.map((event) => event.position));
    assert.equal(new Set(received.map((event) => event.id)).size, total, 'no event delivered twice');
    assert.deepEqual(new Set(received.map((event) => event.id)), new Set(appended));
    // Every stream arrives in revision order, and a plain read of $all agrees with the subscription.
    const nextRevision = new Map<string, bigint>();
    for (const event of received) {
      assert.equal(event.revision, nextRevision.get(event.streamId) ?? 0n);
      nextRevision.set(event.streamId, event.revision + 1n);
    }
    const read = await collect(store.readAll({ after: start, filter }));
    assert.deepEqual(
      read.map((event) => event.position),
      received.map((event) => event.position),
    );
  });

  test('a connection killed while the append waits is StoreUnavailableError; nothing is written; the retry lands once', async () => {
    const tenant = newTenant();
    const streamId = newStream(tenant);
    const batch = events(tenant, 3);
    await admin.query('BEGIN');
    await admin.query('LOCK TABLE eventstore.events IN SHARE ROW EXCLUSIVE MODE');
    try {
      const append = store.append(streamId, batch, { expectedRevision: 'no_stream' });
      append.catch(() => undefined);
      await admin.query('SELECT pg_terminate_backend($1)', [await blockedBackend()]);
      await assert.rejects(append, StoreUnavailableError);
    } finally {
      await admin.query('ROLLBACK');
    }
    assert.deepEqual(await collect(store.readStream(streamId)), []);
    const result = await store.append(streamId, batch, { expectedRevision: 'no_stream' });
    assert.equal(result.nextRevision, 2n);
    assert.deepEqual(await store.append(streamId, batch, { expectedRevision: 'no_stream' }), result);
    assert.deepEqual(
      (await collect(store.readStream(streamId))).map((event) => event.id),
      batch.map((event) => event.id),
    );
  });

  test("a connection killed under appendInTransaction fails the caller's transaction as StoreUnavailableError", async () => {
    const tenant = newTenant();
    const streamId = newStream(tenant);
    const batch = events(tenant, 2);
    // The caller's transaction runs on a client of its own that survives losing its connection.
    const caller = new pg.Client({ connectionString: database.url, application_name: 'eventstore-int' });
    caller.on('error', () => undefined);
    await caller.connect();
    const tx = {
      async query<Row>(text: string, params?: readonly unknown[]) {
        const result = await caller.query(text, params as unknown[] | undefined);
        return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
      },
    };
    await admin.query('BEGIN');
    await admin.query('LOCK TABLE eventstore.events IN SHARE ROW EXCLUSIVE MODE');
    try {
      await caller.query('BEGIN');
      const append = appendInTransaction(tx, streamId, batch, { expectedRevision: 'any' });
      append.catch(() => undefined);
      await admin.query('SELECT pg_terminate_backend($1)', [await blockedBackend()]);
      await assert.rejects(append, StoreUnavailableError);
    } finally {
      await admin.query('ROLLBACK');
      await caller.end().catch(() => undefined);
    }
    assert.deepEqual(await collect(store.readStream(streamId)), []);
    await store.append(streamId, batch, { expectedRevision: 'any' });
    await store.append(streamId, batch, { expectedRevision: 'any' });
    assert.equal((await collect(store.readStream(streamId))).length, 2);
  });

  test('an unreachable database is StoreUnavailableError', async () => {
    const nowhere = createPgDatabase('postgres://postgres@127.0.0.1:1/nowhere');
    try {
      await assert.rejects(createPostgresEventStore(nowhere), StoreUnavailableError);
    } finally {
      await nowhere.close();
    }
  });

  test('appendInTransaction commits and rolls back with the transaction, and wakes subscribers on commit', async () => {
    const tenant = newTenant();
    const streamId = newStream(tenant);
    await assert.rejects(
      db.transaction(async (tx) => {
        await appendInTransaction(tx, streamId, events(tenant, 2), { expectedRevision: 'no_stream' });
        throw new Error('caller gives up');
      }),
      /caller gives up/,
    );
    assert.deepEqual(await collect(store.readStream(streamId)), []);

    // A store that only polls once a minute still sees the commit at once: the NOTIFY was sent in the transaction.
    const listener = await createPostgresEventStore(db, { pollIntervalMs: 60_000 });
    try {
      const start = await store.headPosition();
      const controller = new AbortController();
      const deadline = setTimeout(() => controller.abort(), 20_000);
      const iterator = listener.subscribeAll({ after: start, filter: { streamPrefix: tenantPrefix(tenant) }, signal: controller.signal });
      const first = iterator[Symbol.asyncIterator]().next();
      const batch = events(tenant, 2);
      const result = await db.transaction((tx) => appendInTransaction(tx, streamId, batch, { expectedRevision: 'no_stream' }));
      assert.equal(result.nextRevision, 1n);
      const next = await first;
      clearTimeout(deadline);
      controller.abort();
      assert.equal(next.done, false);
      assert.equal(next.value?.id, batch[0]?.id);
    } finally {
      await listener.close();
    }
  });

  test('a subscriber of another store is woken by NOTIFY, not by its poll', async () => {
    const otherDb = createPgDatabase(database.url, { applicationName: 'eventstore-int-other' });
    const other = await createPostgresEventStore(otherDb, { pollIntervalMs: 60_000 });
    try {
      const tenant = newTenant();
      const start = await store.headPosition();
      const controller = new AbortController();
      const deadline = setTimeout(() => controller.abort(), 20_000);
      const iterator = other.subscribeAll({ after: start, filter: { streamPrefix: tenantPrefix(tenant) }, signal: controller.signal });
      const first = iterator[Symbol.asyncIterator]().next();
      const event = newEvent(tenant);
      await store.append(newStream(tenant), [event], { expectedRevision: 'no_stream' });
      const next = await first;
      clearTimeout(deadline);
      controller.abort();
      assert.equal(next.value?.id, event.id, 'delivered before the 20 s deadline, far inside the 60 s poll');
    } finally {
      await other.close();
      await otherDb.close();
    }
  });

  test('appending after a newer transaction touched the stream is TransactionConflictError, not a reordered log', async () => {
    const tenant = newTenant();
    const [mine, shared] = [newStream(tenant), newStream(tenant)];
    await assert.rejects(
      db.transaction(async (tx) => {
        await appendInTransaction(tx, mine, events(tenant, 1), { expectedRevision: 'no_stream' });
        await store.append(shared, events(tenant, 1), { expectedRevision: 'no_stream' });
        await appendInTransaction(tx, shared, events(tenant, 1), { expectedRevision: 'any' });
      }),
      TransactionConflictError,
    );
    assert.equal((await collect(store.readStream(mine))).length, 0);
    assert.equal((await collect(store.readStream(shared))).length, 1);
  });

  test('a refused append draws no sequence numbers', async () => {
    const tenant = newTenant();
    const streamId = newStream(tenant);
    await store.append(streamId, events(tenant, 1), { expectedRevision: 'no_stream' });
    const sequence = async () =>
      (await admin.query<{ value: string }>("SELECT last_value::text AS value FROM eventstore.events_global_position_seq")).rows[0]?.value;
    const before = await sequence();
    // A store that has not seen the stream tries 'no_stream' straight away: the guard in the INSERT refuses it.
    const cold = await createPostgresEventStore(db);
    try {
      await assert.rejects(cold.append(streamId, events(tenant, 5), { expectedRevision: 'no_stream' }));
      await assert.rejects(store.append(streamId, events(tenant, 5), { expectedRevision: 7n }));
    } finally {
      await cold.close();
    }
    assert.equal(await sequence(), before);
  });

  test('event ids are unique across streams: reusing one in another stream is refused', async () => {
    const tenant = newTenant();
    const event = newEvent(tenant);
    await store.append(newStream(tenant), [event], { expectedRevision: 'no_stream' });
    await assert.rejects(store.append(newStream(tenant), [event], { expectedRevision: 'any' }), InvalidAppendError);
  });

  test('two stores starting at once on an empty database both create (or find) the schema', async () => {
    const fresh = await createTestDatabase('es_int_schema');
    const pools = [createPgDatabase(fresh.url), createPgDatabase(fresh.url), createPgDatabase(fresh.url)];
    try {
      const stores = await Promise.all(pools.map((pool) => createPostgresEventStore(pool)));
      assert.equal(await stores[1]?.headPosition(), START, 'an empty store is at START');
      const tenant = newTenant();
      await stores[0]?.append(newStream(tenant), events(tenant, 1), { expectedRevision: 'no_stream' });
      await Promise.all(stores.map((each) => each.close()));
    } finally {
      await Promise.all(pools.map((pool) => pool.close()));
      await fresh.drop();
    }
  });

  describe('reads in small pages', () => {
    let small: EventStore;
    before(async () => {
      small = await createPostgresEventStore(db, { pageSize: 4 });
    });
    after(async () => {
      await small?.close();
    });

    test('a stream read pages forwards and backwards, within bounds', async () => {
      const tenant = newTenant();
      const streamId = newStream(tenant);
      await small.append(streamId, events(tenant, 11), { expectedRevision: 'no_stream' });
      const revisions = async (options: Parameters<EventStore['readStream']>[1]) =>
        (await collect(small.readStream(streamId, options))).map((event) => Number(event.revision));
      assert.deepEqual(await revisions({}), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.deepEqual(await revisions({ direction: 'backwards' }), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      assert.deepEqual(await revisions({ fromRevision: 2n, toRevision: 9n, maxCount: 6 }), [2, 3, 4, 5, 6, 7]);
      assert.deepEqual(await revisions({ direction: 'backwards', fromRevision: 9n, toRevision: 1n, maxCount: 5 }), [9, 8, 7, 6, 5]);
      assert.deepEqual(await revisions({ direction: 'backwards', fromRevision: 4n }), [4, 3, 2, 1, 0]);
    });

    test('sparse matches across many windows are all found, in order, and maxCount holds', async () => {
      const [wanted, noise] = [newTenant(), newTenant()];
      const start = await store.headPosition();
      const expected: NewEvent[] = [];
      let last = START;
      for (let round = 0; round < 6; round++) {
        await small.append(newStream(noise), events(noise, 9), { expectedRevision: 'no_stream' });
        const event = newEvent(wanted, round % 2 === 0 ? 'AlertFired' : 'AlertResolved');
        expected.push(event);
        last = (await small.append(newStream(wanted), [event], { expectedRevision: 'no_stream' })).position;
      }
      await until('the last append to be visible', async () => ((await small.headPosition()) >= last ? true : undefined));
      const byTenant = await collect(small.readAll({ after: start, filter: { streamPrefix: tenantPrefix(wanted) } }));
      assert.deepEqual(byTenant.map((event) => event.id), expected.map((event) => event.id));
      const byType = await collect(small.readAll({ after: start, filter: { types: ['AlertResolved'] } }));
      assert.deepEqual(byType.map((event) => event.id), expected.filter((_, index) => index % 2 === 1).map((event) => event.id));
      const firstTwo = await collect(small.readAll({ after: start, maxCount: 2, filter: { streamPrefix: tenantPrefix(wanted) } }));
      assert.deepEqual(firstTwo.map((event) => event.id), expected.slice(0, 2).map((event) => event.id));

      const controller = new AbortController();
      const deadline = setTimeout(() => controller.abort(), DEADLINE_MS);
      const live: StoredEvent[] = [];
      for await (const event of small.subscribeAll({ after: start, filter: { types: ['AlertFired'] }, signal: controller.signal })) {
        live.push(event);
        if (live.length === 3) break;
      }
      clearTimeout(deadline);
      assert.deepEqual(live.map((event) => event.id), expected.filter((_, index) => index % 2 === 0).map((event) => event.id));
    });
  });

  test('the hash chain holds across appends made through every path', async () => {
    const tenant = newTenant();
    const streamId = newStream(tenant);
    await store.append(streamId, events(tenant, 3), { expectedRevision: 'no_stream' });
    await db.transaction((tx) => appendInTransaction(tx, streamId, events(tenant, 2), { expectedRevision: 2n }));
    await Promise.all([1, 2, 3].map(() => store.append(streamId, events(tenant, 2), { expectedRevision: 'any' })));
    assert.deepEqual(await verifyStream(store.readStream(streamId)), { ok: true, events: 11, brokenAtRevision: null });
  });
});
