// `npm run bench -- eventstore [--backend postgres|embedded] [--events N] [--seconds S]`
//
// One JSON line per backend: our store's append (1 writer, 32 writers, batches of 100), $all read, catch-up
// subscription and projection rebuild rates, against references measured in the same run:
// - the peer, Emmett's PostgreSQL event store, on its own fresh database of the same server (postgres line only);
// - the raw limits of the same engine: the rows our store wrote, re-inserted by plain INSERT … SELECT unnest(…) into
//   a copy of its events table, and one plain SELECT of every row.
// Each comparison runs interleaved in rounds (ours, reference, ours, …), so a busy machine slows both alike. Every
// database is created for the run and dropped after it; the embedded one lives in a temporary directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedEventStore, openEmbeddedDatabase } from '../../infra/eventstore/embedded.ts';
import type { EventStore, StoredEvent } from '../../infra/eventstore/port.ts';
import { createPostgresEventStore } from '../../infra/eventstore/postgres.ts';
import { createPgDatabase } from '../../infra/sql/pg.ts';
import type { SqlDatabase, SqlExecutor } from '../../infra/sql/port.ts';
import { createProjectionEngine } from '../../projections/engine.ts';
import type { Projection } from '../../projections/projection.ts';
import { createTestDatabase } from '../support/services.ts';
import { openEmmett, type EmmettTarget } from './support/emmett.ts';
import { EVENT_TYPES } from './support/events.ts';
import { interleave, machineInfo, rate, ratio, timed, type Sample } from './support/measure.ts';
import { createRawCopy } from './support/raw.ts';
import { appendBatches, appendSingle, readAllOnce, type BenchTarget } from './support/workloads.ts';

type Backend = 'postgres' | 'embedded';

interface Settings {
  backends: Backend[];
  /** Events appended in batches by each contender (and re-inserted raw). */
  events: number;
  /** Length of each time-boxed single-event append workload. */
  seconds: number;
}

const BATCH_SIZE = 100;
const WRITERS = 32;
/** Connections for our store and for Emmett alike: one per concurrent writer. */
const POOL_SIZE = WRITERS;
/** Emmett's $all page; ours pages by 1000 rows too (sql.ts). */
const EMMETT_READ_BATCH = 1000;
/** Rounds of the interleaved append comparisons, and of the read-side ones (each read covers the whole log). */
const APPEND_ROUNDS = 5;
const READ_ROUNDS = 2;

const USAGE = 'usage: npm run bench -- eventstore [--backend postgres|embedded] [--events N] [--seconds S]';

function parseArgs(args: readonly string[]): Settings {
  const settings: Settings = { backends: ['postgres', 'embedded'], events: 50_000, seconds: 5 };
  for (let index = 0; index < args.length; index += 2) {
    const [flag, value] = [args[index], args[index + 1]];
    if (flag === '--backend' && (value === 'postgres' || value === 'embedded')) settings.backends = [value];
    else if (flag === '--events' && Number(value) >= BATCH_SIZE * APPEND_ROUNDS) settings.events = Number(value);
    else if (flag === '--seconds' && Number(value) > 0) settings.seconds = Number(value);
    else throw new Error(USAGE);
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

// Counted in JS per batch and written in one statement, as a counter read model should be.
async function countEvents(events: readonly StoredEvent[], tx: SqlExecutor): Promise<void> {
  const counts = new Map<string, number>();
  for (const { type } of events) counts.set(type, (counts.get(type) ?? 0) + 1);
  await tx.query(
    `INSERT INTO bench_event_counts (type, count) SELECT * FROM unnest($1::text[], $2::bigint[])
     ON CONFLICT (type) DO UPDATE SET count = bench_event_counts.count + excluded.count`,
    [[...counts.keys()], [...counts.values()]],
  );
}

/** The trivial read model of the rebuild figure: how many events of each type. */
const eventCounts: Projection = {
  name: 'bench_event_counts',
  handles: EVENT_TYPES,
  tables: ['bench_event_counts'],
  async setup(db) {
    await db.query('CREATE TABLE IF NOT EXISTS bench_event_counts (type text PRIMARY KEY, count bigint NOT NULL)');
  },
  apply: (event, tx) => countEvents([event], tx),
  applyBatch: countEvents,
};

/** The one table a new store has created in an empty database: found, not named, so it follows the schema. */
async function eventsTable(db: SqlExecutor): Promise<string> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
  );
  const [only] = rows;
  if (only === undefined || rows.length > 1) throw new Error(`expected one table, found: ${rows.map((row) => row.name).join(', ')}`);
  return only.name;
}

async function databaseVersion(db: SqlExecutor): Promise<string> {
  const { rows } = await db.query<{ version: string }>('SELECT version()');
  return rows[0]?.version.split(' on ')[0] ?? 'unknown';
}

/** A catch-up subscription from the start of the log to its head as it is now. */
async function catchUp(store: EventStore): Promise<Sample> {
  const head = await store.headPosition();
  return timed(async () => {
    let count = 0;
    for await (const event of store.subscribeAll({})) {
      count++;
      if (event.position >= head) break;
    }
    return count;
  });
}

type Figures = Record<string, number>;
type Steps = Record<string, (round: number) => Promise<Sample>>;

/** Every workload against our store on `db`, with Emmett (when given) and the raw limits interleaved. */
async function measureBackend(db: SqlDatabase, store: EventStore, emmett: EmmettTarget | undefined, settings: Settings) {
  const table = await eventsTable(db);
  const raw = await createRawCopy(db, table);
  const ours = storeTarget(store);
  const perRound = Math.floor(settings.events / APPEND_ROUNDS);
  const withPeer = (steps: Steps, peerSteps: (peer: EmmettTarget) => Steps): Steps =>
    emmett === undefined ? steps : { ...steps, ...peerSteps(emmett) };
  try {
    // Batches first: the raw copy re-inserts exactly the rows our store wrote in the same round.
    const batch = await interleave(
      APPEND_ROUNDS,
      withPeer(
        {
          append_batch_eps: () => appendBatches(ours, perRound, BATCH_SIZE),
          raw_insert_batch_eps: () => raw.insertNext(perRound, BATCH_SIZE),
        },
        (peer) => ({ emmett_append_batch_eps: () => appendBatches(peer, perRound, BATCH_SIZE) }),
      ),
    );
    const single = rate(await appendSingle(ours, 1, settings.seconds));
    const concurrent = await interleave(
      APPEND_ROUNDS,
      withPeer(
        { append_single_32w_eps: () => appendSingle(ours, WRITERS, settings.seconds / APPEND_ROUNDS) },
        (peer) => ({ emmett_append_single_32w_eps: () => appendSingle(peer, WRITERS, settings.seconds / APPEND_ROUNDS) }),
      ),
    );
    const engine = createProjectionEngine({ store, db, projections: [eventCounts] });
    const reads = await interleave(
      READ_ROUNDS,
      withPeer(
        {
          read_all_eps: () => readAllOnce(ours),
          raw_select_eps: () => raw.selectAll(),
          subscribe_catchup_eps: () => catchUp(store),
          projection_rebuild_eps: () => timed(async () => (await engine.rebuild(eventCounts.name)).events),
        },
        (peer) => ({ emmett_read_all_eps: () => readAllOnce(peer) }),
      ),
    );
    await engine.stop();
    const figures: Figures = { append_single_eps: single, ...batch, ...concurrent, ...reads };
    return { ...figures, events_in_log: (await readAllOnce(ours)).events };
  } finally {
    await raw.drop();
  }
}

async function postgresLine(settings: Settings) {
  const ours = await createTestDatabase('bench_eventstore');
  const peer = await createTestDatabase('bench_emmett');
  try {
    const db = createPgDatabase(ours.url, { max: POOL_SIZE, applicationName: 'bench-eventstore' });
    const emmett = await openEmmett(peer.url, POOL_SIZE, EMMETT_READ_BATCH);
    try {
      const store = await createPostgresEventStore(db);
      try {
        return { database: await databaseVersion(db), ...(await measureBackend(db, store, emmett, settings)) };
      } finally {
        await store.close();
      }
    } finally {
      await emmett.close();
      await db.close();
    }
  } finally {
    await ours.drop();
    await peer.drop();
  }
}

async function embeddedLine(settings: Settings) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-eventstore-'));
  try {
    const db = await openEmbeddedDatabase(dataDir);
    try {
      const store = await createEmbeddedEventStore(db);
      try {
        return { database: `PGlite (${await databaseVersion(db)})`, ...(await measureBackend(db, store, undefined, settings)) };
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

function target(figures: Figures, measured: string, factor: number, reference: string) {
  const value = ratio(figures[measured] ?? 0, figures[reference]);
  return { ratio: value, target: factor, met: value === null ? null : value >= factor };
}

export async function run(args: readonly string[]): Promise<void> {
  const settings = parseArgs(args);
  for (const backend of settings.backends) {
    const machine = machineInfo();
    const date = new Date().toISOString();
    const { database, ...figures } = backend === 'postgres' ? await postgresLine(settings) : await embeddedLine(settings);
    console.log(
      JSON.stringify({
        benchmark: 'eventstore',
        backend,
        date,
        machine,
        database,
        sizes: { batch_events: settings.events, batch_size: BATCH_SIZE, single_seconds: settings.seconds, writers: WRITERS },
        ...figures,
        // Emmett runs on PostgreSQL only: on the embedded line its ratios are null.
        targets: {
          append_batch_vs_emmett: target(figures, 'append_batch_eps', 1.3, 'emmett_append_batch_eps'),
          append_batch_vs_raw_insert: target(figures, 'append_batch_eps', 0.8, 'raw_insert_batch_eps'),
          append_single_32w_vs_emmett: target(figures, 'append_single_32w_eps', 1.3, 'emmett_append_single_32w_eps'),
          read_all_vs_raw_select: target(figures, 'read_all_eps', 0.8, 'raw_select_eps'),
          projection_rebuild_vs_read_all: target(figures, 'projection_rebuild_eps', 0.5, 'read_all_eps'),
        },
      }),
    );
  }
}
