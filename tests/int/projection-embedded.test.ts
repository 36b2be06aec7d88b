// The same engine, embedded: events and read models in one PGlite under a data directory, where the projection
// lock is local to the process but taken through the same code path as on PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { createEmbeddedEventStore, openEmbeddedDatabase, type EmbeddedDatabase } from '../../infra/eventstore/embedded.ts';
import type { EventStore, StoredEvent } from '../../infra/eventstore/port.ts';
import { createProjectionEngine, type ProjectionEngine } from '../../projections/engine.ts';
import type { Projection } from '../../projections/projection.ts';
import {
  appendMany,
  appliedInOrder,
  COUNTED,
  countedRows,
  countedState,
  countingProjection,
  eventually,
  IGNORED,
} from '../fixtures/projection-kit.ts';

const quiet = { info: () => undefined, error: () => undefined };

describe('projection engine, embedded (PGlite)', { timeout: 60_000 }, () => {
  let dataDir: string;
  let db: EmbeddedDatabase;
  let store: EventStore;
  const engines: ProjectionEngine[] = [];

  // Opening PGlite costs seconds on a loaded machine, so the tests share one database; each uses its own
  // projection (own tables and checkpoint) and counts relative to what is already in the log.
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'projection-embedded-'));
    db = await openEmbeddedDatabase(dataDir);
    store = await createEmbeddedEventStore(db);
  });
  after(async () => {
    await store.close();
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((engine) => engine.stop()));
  });

  function engine(name: string, runner: string): ProjectionEngine {
    const created = createProjectionEngine({
      store,
      db,
      projections: [countingProjection({ name, runner })],
      batchSize: 50,
      idlePollMs: 50,
      lockPollMs: 50,
      logger: quiet,
    });
    engines.push(created);
    return created;
  }

  test('catches up, passes unhandled events, reports lag, and rebuilds to the same contents', async () => {
    await appendMany(store, 130);
    const head = await appendMany(store, 20, IGNORED);
    const running = engine('counting', 'only');
    assert.deepEqual({ ...(await running.lag('counting')), seconds: 0 }, { events: 150, seconds: 0, exact: true });

    await running.start();
    await running.waitForPosition(head, { timeoutMs: 20_000 });
    assert.deepEqual(await countedState(db), { rows: 130, total: 130, doubled: 0, runners: { only: 130 } });
    assert.equal(await appliedInOrder(db), true);
    assert.deepEqual(await running.lag('counting'), { events: 0, seconds: 0, exact: true });

    const before = await countedRows(db);
    await db.query(`UPDATE counting_events SET times = 5 WHERE event_id IN (SELECT event_id FROM counting_events LIMIT 3)`);
    const rebuilt = await running.rebuild('counting');
    assert.deepEqual([rebuilt.events, rebuilt.applied, rebuilt.position], [150, 130, head]);
    assert.deepEqual(await countedRows(db), before);
    assert.equal((await countedState(db)).total, 130);
  });

  test('of two engines on one database only one applies; after it stops the other takes over', async () => {
    const earlier = (await countedState(db)).rows;
    const first = engine('takeover', 'first');
    const second = engine('takeover', 'second');
    await first.start();
    await eventually(async () => ((await first.status())[0]?.state === 'live' ? true : undefined), { what: 'first live' });
    await second.start();
    const wave = await appendMany(store, 60);
    await first.waitForPosition(wave, { timeoutMs: 20_000 });
    assert.equal((await second.status())[0]?.state, 'standby');

    await first.stop();
    const secondWave = await appendMany(store, 40);
    await second.waitForPosition(secondWave, { timeoutMs: 20_000 });
    assert.deepEqual(await countedState(db, 'takeover'), {
      rows: earlier + 100,
      total: earlier + 100,
      doubled: 0,
      runners: { first: earlier + 60, second: 40 },
    });
  });

  test('a projection with a batch apply gets each batch of its events once, in log order, all or nothing', async () => {
    const batches: string[][] = [];
    let failOnce = true;
    const batched: Projection = {
      name: 'batched',
      handles: [COUNTED],
      tables: ['batched_events'],
      async setup(tx) {
        await tx.query('CREATE TABLE IF NOT EXISTS batched_events (position text COLLATE "C" PRIMARY KEY)');
      },
      apply: () => Promise.reject(new Error('the engine must use applyBatch')),
      async applyBatch(events: readonly StoredEvent[], tx) {
        await tx.query('INSERT INTO batched_events SELECT unnest($1::text[])', [events.map((event) => event.position)]);
        // The first batch fails after writing: its rows must be rolled back and the batch retried whole.
        if (failOnce) {
          failOnce = false;
          throw new Error('read model refused the batch');
        }
        batches.push(events.map((event) => event.position));
      },
    };
    await appendMany(store, 70);
    const head = await appendMany(store, 5, IGNORED);
    const running = createProjectionEngine({
      store,
      db,
      projections: [batched],
      batchSize: 50,
      idlePollMs: 50,
      lockPollMs: 50,
      retryInitialMs: 20,
      logger: quiet,
    });
    engines.push(running);
    await running.start();
    await running.waitForPosition(head, { timeoutMs: 20_000 });

    // A new projection replays the whole shared log, earlier tests' events included.
    const expected: string[] = [];
    for await (const event of store.readAll()) if (event.type === COUNTED) expected.push(event.position);
    assert.deepEqual(batches.flat(), expected);
    assert.ok(batches.every((batch) => batch.length <= 50));
    const { rows } = await db.query<{ position: string }>('SELECT position FROM batched_events ORDER BY position');
    assert.deepEqual(rows.map((row) => row.position), expected);
  });
});
