// `npm run bench -- eventstore [--backend postgres|embedded] [--events N] [--seconds S]`
//
// One JSON line per backend: our store's append (1 writer, 32 writers, batches of 100), $all read, catch-up
// subscription and projection rebuild rates, against two references measured in the same run:
// - the peer, Emmett's PostgreSQL event store, on its own fresh database of the same server (postgres line only);
// - the raw limits of the same engine: the same rows by plain INSERT … SELECT unnest(…) into a copy of our events
//   table, and one plain SELECT of every row.
// Every database is created for the run and dropped after it (the embedded one lives in a temporary directory).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedEventStore, openEmbeddedDatabase } from '../../infra/eventstore/embedded.ts';
import type { EventStore } from '../../infra/eventstore/port.ts';
import { createPostgresEventStore } from '../../infra/eventstore/postgres.ts';
import { createPgDatabase } from '../../infra/sql/pg.ts';
import type { SqlDatabase, SqlExecutor } from '../../infra/sql/port.ts';
import { createProjectionEngine } from '../../projections/engine.ts';
import type { Projection } from '../../projections/projection.ts';
import { createTestDatabase } from '../support/services.ts';
import { openEmmett } from './support/emmett.ts';
import { EVENT_TYPES } from './support/events.ts';
import { machineInfo, measure, ratio } from './support/measure.ts';
import { rawInsertBatch, rawSelect } from './support/raw.ts';
import { appendBatches, appendSingle, readAllOnce, type BenchTarget } from './support/workloads.ts';

type Backend = 'postgres' | 'embedded';

interface Settings {
  backends: Backend[];
  /** Events appended in batches (and re-inserted raw). */
  events: number;
  /** Length of each time-boxed single-event append loop. */
  seconds: number;
}

const BATCH_SIZE = 100;
const WRITERS = 32;
/** Connections for our store and for Emmett alike: one per concurrent writer. */
const POOL_SIZE = WRITERS;
/** Emmett's $all page; ours pages by 1000 rows as well (sql.ts). */
const EMMETT_READ_BATCH = 1000;

function parseArgs(args: readonly string[]): Settings {
  const settings: Settings = { backends: ['postgres', 'embedded'], events: 30_000, seconds: 5 };
  for (let index = 0; index < args.length; index += 2) {
    const [flag, value] = [args[index], args[index + 1]];
    if (flag === '--backend' && (value === 'postgres' || value === 'embedded')) settings.backends = [value];
    else if (flag === '--events' && Number(value) > 0) settings.events = Number(value);
    else if (flag === '--seconds' && Number(value) > 0) settings.seconds = Number(value);
    else throw new Error(`usage: npm run bench -- eventstore [--backend postgres|embedded] [--events N] [--seconds S]`);
  }
  return settings;
}

function storeTarget(store: EventStore): BenchTarget {
  return {
    async append(streamId, events, revision) {
      await store.append(streamId, events, { expectedRevision: revision < 0n ? 'no_stream' : revision });
    },
    async readAll() {
      let count = 0;
      for await (const _event of store.readAll()) count++;
      return count;
    },
  };
}

/** The trivial read model of the rebuild figure: how many events of each type. */
const eventCounts: Projection = {
  name: 'bench_event_counts',
  handles: EVENT_TYPES,
  tables: ['bench_event_counts'],
  async setup(db) {
    await db.query('CREATE TABLE IF NOT EXISTS bench_event_counts (type text PRIMARY KEY, count bigint NOT NULL)');
  },
  async apply(event, tx) {
    await tx.query(
      `INSERT INTO bench_event_counts (type, count) VALUES ($1, 1)
       ON CONFLICT (type) DO UPDATE SET count = bench_event_counts.count + 1`,
      [event.type],
    );
  },
};

/** The one table a new store has created in an empty database: found, not named, so it follows the schema. */
async function eventsTable(db: SqlExecutor): Promise<string> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
  );
  if (rows.length !== 1) throw new Error(`expected the store's one table, found: ${rows.map((row) => row.name).join(', ')}`);
  return (rows[0] as { name: string }).name;
}

async function databaseVersion(db: SqlExecutor): Promise<string> {
  const { rows } = await db.query<{ version: string }>('SELECT version()');
  return rows[0]?.version.split(' on ')[0] ?? 'unknown';
}

/** Our store's workloads, in an order that leaves the batch-appended rows first in the table for the raw copy. */
async function measureStore(db: SqlDatabase, store: EventStore, settings: Settings) {
  const table = await eventsTable(db);
  const target = storeTarget(store);
  const batch = await appendBatches(target, settings.events, BATCH_SIZE);
  const single = await appendSingle(target, 1, settings.seconds);
  const concurrent = await appendSingle(target, WRITERS, settings.seconds);
  const readAll = await readAllOnce(target);
  const total = readAll.events;
  const catchUp = await measure(async () => {
    let count = 0;
    for await (const _event of store.subscribeAll({})) if (++count === total) break;
    return count;
  });
  const engine = createProjectionEngine({ store, db, projections: [eventCounts] });
  const rebuild = await measure(async () => (await engine.rebuild(eventCounts.name)).events);
  await engine.stop();
  const rawInsert = await rawInsertBatch(db, table, batch.events, BATCH_SIZE);
  const rawRead = await rawSelect(db, table);
  return {
    append_single_eps: single.eps,
    append_single_32w_eps: concurrent.eps,
    append_batch_eps: batch.eps,
    read_all_eps: readAll.eps,
    subscribe_catchup_eps: catchUp.eps,
    projection_rebuild_eps: rebuild.eps,
    raw_insert_batch_eps: rawInsert.eps,
    raw_select_eps: rawRead.eps,
    events_in_log: total,
  };
}

async function measureEmmett(settings: Settings) {
  const database = await createTestDatabase('bench_emmett');
  try {
    const emmett = await openEmmett(database.url, POOL_SIZE, EMMETT_READ_BATCH);
    try {
      const batch = await appendBatches(emmett, settings.events, BATCH_SIZE);
      const concurrent = await appendSingle(emmett, WRITERS, settings.seconds);
      const readAll = await readAllOnce(emmett);
      return { emmett_append_single_32w_eps: concurrent.eps, emmett_append_batch_eps: batch.eps, emmett_read_all_eps: readAll.eps };
    } finally {
      await emmett.close();
    }
  } finally {
    await database.drop();
  }
}

async function postgresFigures(settings: Settings) {
  const database = await createTestDatabase('bench_eventstore');
  try {
    const db = createPgDatabase(database.url, { max: POOL_SIZE, applicationName: 'bench-eventstore' });
    try {
      const store = await createPostgresEventStore(db);
      try {
        return { database: await databaseVersion(db), ...(await measureStore(db, store, settings)) };
      } finally {
        await store.close();
      }
    } finally {
      await db.close();
    }
  } finally {
    await database.drop();
  }
}

async function embeddedFigures(settings: Settings) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-eventstore-'));
  try {
    const db = await openEmbeddedDatabase(dataDir);
    try {
      const store = await createEmbeddedEventStore(db);
      try {
        return { database: `PGlite (${await databaseVersion(db)})`, ...(await measureStore(db, store, settings)) };
      } finally {
        await store.close();
      }
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function target(measured: number | undefined, factor: number, reference: number | undefined) {
  const value = ratio(measured, reference);
  return { ratio: value, target: factor, met: value === null ? null : value >= factor };
}

export async function run(args: readonly string[]): Promise<void> {
  const settings = parseArgs(args);
  for (const backend of settings.backends) {
    const machine = machineInfo();
    const started = new Date();
    const ours = backend === 'postgres' ? await postgresFigures(settings) : await embeddedFigures(settings);
    // Emmett runs on PostgreSQL only; the embedded line has no peer.
    const peer = backend === 'postgres' ? await measureEmmett(settings) : undefined;
    const figures = { ...ours, ...peer };
    console.log(
      JSON.stringify({
        benchmark: 'eventstore',
        backend,
        date: started.toISOString(),
        machine,
        sizes: { batch_events: settings.events, batch_size: BATCH_SIZE, single_seconds: settings.seconds, writers: WRITERS },
        ...figures,
        targets: {
          append_batch_vs_emmett: target(figures.append_batch_eps, 1.3, peer?.emmett_append_batch_eps),
          append_batch_vs_raw_insert: target(figures.append_batch_eps, 0.8, figures.raw_insert_batch_eps),
          append_single_32w_vs_emmett: target(figures.append_single_32w_eps, 1.3, peer?.emmett_append_single_32w_eps),
          read_all_vs_raw_select: target(figures.read_all_eps, 0.8, figures.raw_select_eps),
          projection_rebuild_vs_read_all: target(figures.projection_rebuild_eps, 0.5, figures.read_all_eps),
        },
      }),
    );
  }
}
