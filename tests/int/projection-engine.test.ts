// The projection engine against real PostgreSQL and the real postgres event store: ordering, checkpoints that
// pass unhandled events, read-your-writes, lag, retries without skipping, and rebuilds.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { createPostgresEventStore } from '../../infra/eventstore/postgres.ts';
import type { EventStore } from '../../infra/eventstore/port.ts';
import { createPgDatabase } from '../../infra/sql/pg.ts';
import type { SqlDatabase } from '../../infra/sql/port.ts';
import { createProjectionEngine, type ProjectionEngine, type ProjectionEngineOptions } from '../../projections/engine.ts';
import { ProjectionTimeoutError } from '../../projections/errors.ts';
import type { Projection } from '../../projections/projection.ts';
import {
  appendMany,
  appliedInOrder,
  countedRows,
  countedState,
  countingProjection,
  COUNTED,
  eventually,
  IGNORED,
} from '../fixtures/projection-kit.ts';
import { createTestDatabase, postgresSkip, type TestDatabase } from '../support/services.ts';

const quiet = { info: () => undefined, error: () => undefined };
const skip = await postgresSkip();

describe('projection engine on PostgreSQL', { skip, timeout: 60_000 }, () => {
  let database: TestDatabase;
  let db: SqlDatabase;
  let store: EventStore;
  let engines: ProjectionEngine[];

  // Each test gets a fresh database: the log and the read model start empty.
  beforeEach(async () => {
    database = await createTestDatabase('projection_engine');
    db = createPgDatabase(database.url, { max: 6 });
    store = await createPostgresEventStore(db);
    engines = [];
  });
  afterEach(async () => {
    await Promise.all(engines.map((engine) => engine.stop()));
    await store.close();
    await db.close();
    await database.drop();
  });

  function engine(options: Partial<ProjectionEngineOptions> = {}): ProjectionEngine {
    const created = createProjectionEngine({
      store,
      db,
      projections: [countingProjection({ runner: 'only' })],
      batchSize: 50,
      idlePollMs: 50,
      logger: quiet,
      ...options,
    });
    engines.push(created);
    return created;
  }

  test('applies handled events once each, in log order, and its checkpoint passes the events it does not handle', async () => {
    await appendMany(store, 120);
    const lastIgnored = await appendMany(store, 30, IGNORED);
    const running = engine();
    await running.start();

    await running.waitForPosition(lastIgnored, { timeoutMs: 20_000 });

    assert.deepEqual(await countedState(db), { rows: 120, total: 120, doubled: 0, runners: { only: 120 } });
    assert.equal(await appliedInOrder(db), true);
    const [status] = await running.status();
    assert.equal(status?.position, lastIgnored);
    assert.deepEqual(status?.lag, { events: 0, seconds: 0, exact: true });
  });

  test('waitForPosition resolves for events appended while running (read-your-writes)', async () => {
    const running = engine({ idlePollMs: 60_000 });
    await running.start();
    for (let round = 0; round < 3; round++) {
      const position = await appendMany(store, 10);
      // Shorter than the idle poll and than a runner's own 5 s recheck: waiting itself must make the engine look.
      await running.waitForPosition(position, { timeoutMs: 4_000 });
      assert.equal((await countedState(db)).rows, (round + 1) * 10);
    }
  });

  test('lag reports the events behind and the age of the oldest while behind, and zero once caught up', async () => {
    const appendedFrom = Date.now();
    const head = await appendMany(store, 40, IGNORED);
    const appendedUntil = Date.now();

    const measuredFrom = Date.now();
    const lag = await engine().lag('counting');
    const measuredUntil = Date.now();
    assert.equal(lag.events, 40);
    assert.equal(lag.exact, true);
    // The oldest event was recorded between appendedFrom and appendedUntil (1 ms slack for rounding).
    assert.ok(lag.seconds >= (measuredFrom - appendedUntil - 1) / 1000, `seconds ${lag.seconds}`);
    assert.ok(lag.seconds <= (measuredUntil - appendedFrom + 1) / 1000, `seconds ${lag.seconds}`);
    assert.deepEqual({ ...(await engine({ lagCountLimit: 25 }).lag('counting')), seconds: 0 }, { events: 25, seconds: 0, exact: false });

    const running = engine();
    await running.start();
    await running.waitForPosition(head, { timeoutMs: 20_000 });
    assert.deepEqual(await running.lag('counting'), { events: 0, seconds: 0, exact: true });
  });

  test('a failing batch rolls back, shows in status, is retried with backoff, and nothing is skipped', async () => {
    await appendMany(store, 30);
    const head = await appendMany(store, 5, IGNORED);
    const [, poison] = await countedIds(store);
    let broken = true;
    const errors: string[] = [];
    const running = engine({
      projections: [
        countingProjection({
          runner: 'only',
          beforeApply: (eventId) => {
            if (broken && eventId === poison) throw new Error('read model rejects this event');
          },
        }),
      ],
      retryInitialMs: 20,
      retryMaxMs: 200,
      logger: { info: () => undefined, error: (_details, message) => errors.push(message) },
    });
    await running.start();

    const failing = await eventually(
      async () => {
        const [status] = await running.status();
        // Between attempts the runner is 'retrying'; during one it is briefly 'catching-up' again.
        const retrying = status?.state === 'retrying' && (status.lastError?.attempts ?? 0) >= 2;
        return retrying ? status : undefined;
      },
      { what: 'the runner retrying after two failed attempts' },
    );
    assert.match(failing.lastError?.message ?? '', /failed to apply Counted .* read model rejects this event/);
    assert.equal(failing.position, '');
    // The event before the poisoned one was in the same batch: rolled back with it.
    assert.deepEqual(await countedState(db), { rows: 0, total: 0, doubled: 0, runners: {} });
    assert.ok(errors.includes('projection batch rolled back; retrying'));

    const timedOut = await running.waitForPosition(head, { timeoutMs: 200 }).catch((error: unknown) => error);
    assert.ok(timedOut instanceof ProjectionTimeoutError);
    assert.equal(timedOut.position, head);
    assert.deepEqual(timedOut.behind, [{ name: 'counting', position: '' }]);

    broken = false;
    await running.waitForPosition(head, { timeoutMs: 20_000 });
    assert.deepEqual(await countedState(db), { rows: 30, total: 30, doubled: 0, runners: { only: 30 } });
    const [recovered] = await running.status();
    assert.equal(recovered?.lastError, undefined);
  });

  test('rebuild truncates the tables and replays them to exactly the same contents', async () => {
    await appendMany(store, 260);
    const head = await appendMany(store, 20, IGNORED);
    const running = engine();
    await running.start();
    await running.waitForPosition(head, { timeoutMs: 20_000 });
    const before = await countedRows(db);
    const total = (await countedState(db)).total;
    // Rows no event explains must go: proof that the rebuild truncates rather than re-applies on top.
    await db.query(`INSERT INTO counting_events (event_id, position, runner, times) VALUES (gen_random_uuid(), 'x', 'stray', 9)`);
    await db.query('UPDATE counting_total SET total = total + 1000');

    const rebuilt = await running.rebuild('counting');

    assert.deepEqual([rebuilt.events, rebuilt.applied, rebuilt.position], [280, 260, head]);
    assert.deepEqual(await countedRows(db), before);
    assert.equal((await countedState(db)).total, total);
    assert.equal(await appliedInOrder(db), true);

    // The same from an engine that was never started (how a benchmark or an operator runs it) once the first stops.
    await running.stop();
    await db.query('DELETE FROM counting_events WHERE event_id IN (SELECT event_id FROM counting_events LIMIT 7)');
    const offline = await engine().rebuild('counting');
    assert.equal(offline.applied, 260);
    assert.deepEqual(await countedRows(db), before);
  });

  test('a projection whose statements depend on the previous event still sees every event in order', async () => {
    // Read-modify-write: pipelining two events' statements would lose updates, so the engine must notice and fall
    // back to one event at a time, redoing the batch it started pipelined.
    const history: Projection = {
      name: 'history',
      handles: [COUNTED],
      tables: ['history'],
      async setup(tx) {
        await tx.query(`CREATE TABLE IF NOT EXISTS history (id int PRIMARY KEY, ids text NOT NULL)`);
      },
      async apply(event, tx) {
        const { rows } = await tx.query<{ ids: string }>('SELECT ids FROM history WHERE id = 1');
        const ids = rows[0] === undefined ? event.id : `${rows[0].ids},${event.id}`;
        await tx.query('INSERT INTO history (id, ids) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET ids = EXCLUDED.ids', [ids]);
      },
    };
    const messages: string[] = [];
    const head = await appendMany(store, 120);
    const running = engine({ projections: [history], logger: { info: (_details, message) => messages.push(message), error: () => undefined } });
    await running.start();
    await running.waitForPosition(head, { timeoutMs: 20_000 });

    const { rows } = await db.query<{ ids: string }>('SELECT ids FROM history WHERE id = 1');
    assert.deepEqual(rows[0]?.ids.split(','), await countedIds(store));
    assert.ok(messages.some((message) => message.includes('one event at a time')));
  });

  /** Ids of Counted events in log order. */
  async function countedIds(from: EventStore): Promise<string[]> {
    const ids: string[] = [];
    for await (const event of from.readAll({ filter: { types: [COUNTED] } })) ids.push(event.id);
    return ids;
  }
});
