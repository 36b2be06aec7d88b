// The event store on PostgreSQL-compatible SQL, shared by the `postgres` backend (node-postgres pool) and the
// `embedded` one (PGlite): the same schema and statements run on both.
//
// Gap-free reading: every row records the id of the transaction that wrote it. Readers only return rows whose
// transaction id is below the xmin of their snapshot, i.e. rows of transactions that have all finished, and page
// by (transaction_id, global_position). A transaction that drew its sequence numbers early but commits late has a
// transaction id that holds xmin back until it commits, so no reader can move past its rows before they are visible.
import type { SqlDatabase, SqlExecutor } from '../sql/port.ts';
import {
  InvalidAppendError,
  InvalidReadError,
  StoreUnavailableError,
  TransactionConflictError,
  WrongExpectedRevisionError,
} from './errors.ts';
import { chainEvents, GENESIS_HASH } from './hash-chain.ts';
import type {
  AppendOptions,
  AppendResult,
  EventFilter,
  EventStore,
  ExpectedRevision,
  NewEvent,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  StoredEvent,
  SubscribeOptions,
} from './port.ts';
import { START } from './port.ts';
import { decodePosition, positionSql } from './position.ts';
import { prepareAppend, type PreparedAppend } from './validation.ts';

const NOTIFY_CHANNEL = 'eventstore_appended';
const TABLE = 'eventstore.events';
const MAX_REVISION = '9223372036854775807';
const DEFAULT_PAGE_SIZE = 1000;
const DEFAULT_POLL_INTERVAL_MS = 250;
/** First re-poll after a wake-up that found nothing visible yet; doubles up to the poll interval. */
const FIRST_RETRY_MS = 10;
const HEAD_CACHE_SIZE = 10_000;
/** At most one cross-process NOTIFY per this many ms: each is a transaction that takes PostgreSQL's global notify lock. */
const ANNOUNCE_GAP_MS = 20;
/** Lost races before an 'any' append gives up; each lost race means another writer made progress. */
const MAX_APPEND_ATTEMPTS = 100;

// ---------------------------------------------------------------------------------------------------------------
// Schema

const SCHEMA_LOCK_KEY = 0x6576_656e_7473; // "events": one fixed advisory lock key for schema creation

const SCHEMA_STATEMENTS = [
  'CREATE SCHEMA IF NOT EXISTS eventstore',
  `CREATE TABLE IF NOT EXISTS ${TABLE} (
    global_position bigserial NOT NULL,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id text COLLATE "C" NOT NULL,
    revision bigint NOT NULL,
    event_id uuid NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_revision_key UNIQUE (stream_id, revision)
  )`,
  // The C collation lets the (stream_id, revision) index serve `LIKE 'prefix%'` for stream-prefix filters.
  `CREATE INDEX IF NOT EXISTS events_position_idx ON ${TABLE} (transaction_id, global_position)`,
  // The append is a function so that its statement is planned once per connection (PL/pgSQL caches the plan) on
  // PostgreSQL and PGlite alike: for a small append, planning the guard costs more than running the insert.
  //
  // The guard compares the stream's last revision with the head the hashes were chained onto (p_head, -1 for none).
  // It is an uncorrelated subquery, evaluated once before the first row (and its sequence number) is produced: a
  // refused append burns no positions. A concurrent writer that passes the same guard collides on (stream_id,
  // revision). Data and metadata arrive as one JSON array text each. Returns the position of the last event, or
  // NULL when the guard refused (nothing written).
  `CREATE OR REPLACE FUNCTION eventstore.append_events(
     p_stream text, p_head bigint, p_ids uuid[], p_types text[], p_data text, p_metadata text, p_notify boolean)
   RETURNS text LANGUAGE plpgsql AS $$
   DECLARE
     last_position bigint;
   BEGIN
     WITH inserted AS (
       INSERT INTO eventstore.events (stream_id, revision, event_id, type, data, metadata)
       SELECT p_stream, p_head + e.ordinality, e.event_id, e.type, e.data, e.metadata
         FROM ROWS FROM (unnest(p_ids), unnest(p_types), jsonb_array_elements(p_data::jsonb),
                         jsonb_array_elements(p_metadata::jsonb)) WITH ORDINALITY AS e(event_id, type, data, metadata, ordinality)
        WHERE coalesce((SELECT h.revision FROM eventstore.events h WHERE h.stream_id = p_stream
                         ORDER BY h.revision DESC LIMIT 1), -1) = p_head
       RETURNING global_position)
     SELECT max(global_position) INTO last_position FROM inserted;
     IF last_position IS NULL THEN
       RETURN NULL;
     END IF;
     IF p_notify THEN
       PERFORM pg_notify('${NOTIFY_CHANNEL}', '');
     END IF;
     RETURN ${positionSql('pg_current_xact_id()', 'last_position')};
   END $$`,
];

/** Creates the schema if missing; idempotent, and safe when several processes start at once. */
async function ensureSchema(db: SqlDatabase): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
    for (const statement of SCHEMA_STATEMENTS) await tx.query(statement);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const UNAVAILABLE_MESSAGE = /connection terminated|not queryable|connection error|timeout exceeded when trying to connect/i;

function errorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** True when the error means the database could not be reached or the connection was lost. */
function isConnectionFailure(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== undefined && (code.startsWith('08') || UNAVAILABLE_CODES.has(code))) return true;
  return error instanceof Error && UNAVAILABLE_MESSAGE.test(error.message);
}

const isUniqueViolation = (error: unknown): boolean => errorCode(error) === '23505';

function unavailable(error: unknown, operation: string): unknown {
  if (!isConnectionFailure(error)) return error;
  return new StoreUnavailableError(`event store unavailable during ${operation}: ${(error as Error).message}`, { cause: error });
}

// ---------------------------------------------------------------------------------------------------------------
// Appending

interface StreamHead {
  /** -1n when the stream does not exist. */
  revision: bigint;
  hash: string;
}

const NO_STREAM: StreamHead = { revision: -1n, hash: GENESIS_HASH };

interface StoredRef {
  eventId: string;
  streamId: string;
  revision: bigint;
  position: Position;
}

interface StreamState {
  head: StreamHead;
  /** The head was written by a transaction that started writing after the caller's own (see appendInTransaction). */
  headIsNewer: boolean;
  /** Events of the batch that are already stored. */
  stored: StoredRef[];
}

const POSITION_COLUMN = positionSql('transaction_id', 'global_position');

// One round trip: the stream's head and which of the batch's ids are already stored.
const STATE_SQL = `
  (SELECT 'head' AS kind, event_id::text AS event_id, stream_id, revision::text AS revision,
          metadata->>'hash' AS hash, ${POSITION_COLUMN} AS position,
          coalesce(transaction_id > pg_current_xact_id_if_assigned(), false) AS newer
     FROM ${TABLE} e WHERE stream_id = $1 ORDER BY e.revision DESC LIMIT 1)
  UNION ALL
  (SELECT 'stored', event_id::text, stream_id, revision::text, NULL, ${POSITION_COLUMN}, false
     FROM ${TABLE} WHERE event_id = ANY($2::uuid[]))`;

interface StateRow {
  kind: 'head' | 'stored';
  event_id: string;
  stream_id: string;
  revision: string;
  hash: string | null;
  position: Position;
  newer: boolean;
}

async function readState(executor: SqlExecutor, batch: PreparedAppend): Promise<StreamState> {
  const { rows } = await executor.query<StateRow>(STATE_SQL, [batch.streamId, batch.ids]);
  const state: StreamState = { head: NO_STREAM, headIsNewer: false, stored: [] };
  for (const row of rows) {
    if (row.kind === 'head') {
      state.head = { revision: BigInt(row.revision), hash: row.hash ?? '' };
      state.headIsNewer = row.newer;
    } else {
      state.stored.push({ eventId: row.event_id, streamId: row.stream_id, revision: BigInt(row.revision), position: row.position });
    }
  }
  return state;
}

/** A batch whose ids are all stored in this stream is a retry: answer with the original result. */
function replayResult(batch: PreparedAppend, stored: readonly StoredRef[]): AppendResult | undefined {
  if (stored.length === 0) return undefined;
  if (stored.length === batch.ids.length && stored.every((ref) => ref.streamId === batch.streamId)) {
    const last = stored.reduce((a, b) => (b.revision > a.revision ? b : a));
    return { nextRevision: last.revision, position: last.position };
  }
  const example = stored[0] as StoredRef;
  throw new InvalidAppendError(
    `${stored.length} of the ${batch.ids.length} event ids are already stored (e.g. ${example.eventId} in ${example.streamId} ` +
      `at revision ${example.revision}); a batch must be entirely new or an exact retry of an earlier append to ${batch.streamId}`,
  );
}

function satisfies(expected: ExpectedRevision, actual: bigint): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual < 0n;
  if (expected === 'stream_exists') return actual >= 0n;
  return expected === actual;
}

const APPEND_SQL = 'SELECT eventstore.append_events($1, $2, $3, $4, $5, $6, $7) AS position';

// A NOTIFY is a transaction of its own; committing it asynchronously keeps it from waiting on (and delaying appends
// behind) a WAL flush. Losing a notification in a crash is harmless: subscribers poll as well.
const ANNOUNCE_SQL = "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')";

/** The batch's result, or undefined when the head moved since it was read (nothing was written). */
async function insertBatch(
  executor: SqlExecutor,
  batch: PreparedAppend,
  head: StreamHead,
  notify: boolean,
): Promise<{ result: AppendResult; lastHash: string } | undefined> {
  const chained = chainEvents(batch.events, head.hash);
  const { rows } = await executor.query<{ position: Position | null }>(APPEND_SQL, [
    batch.streamId,
    head.revision.toString(),
    batch.ids,
    batch.events.map((event) => event.type),
    // One JSON array text per column: joining is all the client does, where a text[] would escape every element.
    `[${batch.events.map((event) => event.data).join(',')}]`,
    `[${chained.metadata.join(',')}]`,
    notify,
  ]);
  const position = rows[0]?.position;
  if (position === null || position === undefined) return undefined;
  return { result: { nextRevision: head.revision + BigInt(batch.events.length), position }, lastHash: chained.lastHash };
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Appends inside the caller's transaction, so the events commit or roll back with the caller's other writes; a NOTIFY
 * issued in the same transaction wakes subscribers once it commits. Each attempt runs under a savepoint, so a lost
 * race (a unique violation) does not abort the caller's transaction. Throws TransactionConflictError when the stream
 * was appended by a transaction that started writing after this one (appending now would put these events before
 * that one in the global order) or when races keep being lost; the caller rolls back and retries.
 */
export async function appendInTransaction(
  tx: SqlExecutor,
  streamId: string,
  events: readonly NewEvent[],
  options: AppendOptions,
): Promise<AppendResult> {
  const batch = prepareAppend(streamId, events, options.expectedRevision);
  try {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const state = await readState(tx, batch);
      const replay = replayResult(batch, state.stored);
      if (replay) return replay;
      if (!satisfies(batch.expectedRevision, state.head.revision)) {
        throw new WrongExpectedRevisionError(batch.streamId, batch.expectedRevision, state.head.revision);
      }
      if (state.headIsNewer) break;
      await tx.query('SAVEPOINT eventstore_append');
      try {
        const inserted = await insertBatch(tx, batch, state.head, true);
        await tx.query('RELEASE SAVEPOINT eventstore_append');
        if (inserted) return inserted.result;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        await tx.query('ROLLBACK TO SAVEPOINT eventstore_append');
      }
    }
  } catch (error) {
    throw unavailable(error, `append to ${streamId}`);
  }
  throw new TransactionConflictError(
    `cannot append to ${streamId} inside this transaction: a concurrent writer got there first (from a transaction ` +
      'that started writing after this one, or again and again); roll back and retry the transaction',
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

/** A row as the driver returns it: already the event, but for the revision, which arrives as text. */
type EventRow = Omit<StoredEvent, 'revision'> & { revision: string };

// Output names are the envelope's, so the driver's row object becomes the event with no copy (every allocation per
// event counts on a replay). Output `revision` shadows the column, so ORDER BY and WHERE qualify the table's column.
const EVENT_COLUMNS = `${POSITION_COLUMN} AS position, event_id AS id, stream_id AS "streamId", revision::text AS revision,
  type, data, metadata, recorded_at AS "recordedAt"`;
const VISIBLE = 'transaction_id < pg_snapshot_xmin(pg_current_snapshot())';

function toEvent(row: EventRow): StoredEvent {
  const event = row as unknown as StoredEvent;
  event.revision = BigInt(row.revision);
  return event;
}

function escapeLike(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/** The SQL condition for `filter` (parameters appended to `params`), or undefined when it filters nothing. */
function filterCondition(filter: EventFilter | undefined, params: unknown[]): string | undefined {
  const conditions: string[] = [];
  if (filter?.streamPrefix !== undefined && filter.streamPrefix !== '') {
    params.push(`${escapeLike(filter.streamPrefix)}%`);
    conditions.push(`stream_id LIKE $${params.length}`);
  }
  if (filter?.types !== undefined) {
    params.push([...filter.types]);
    conditions.push(`type = ANY($${params.length}::text[])`);
  }
  return conditions.length === 0 ? undefined : conditions.join(' AND ');
}

function checkCount(maxCount: number | undefined): number {
  if (maxCount === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isInteger(maxCount) || maxCount < 0) throw new InvalidReadError(`maxCount must be an integer >= 0, got ${maxCount}`);
  return maxCount;
}

interface Page<T, Cursor> {
  items: T[];
  /** Where the next page starts, or undefined when this one reached the end. */
  next: Cursor | undefined;
}

/**
 * Yields pages from `fetch` until one reaches the end or `maxCount` items were yielded. The next page is requested as
 * soon as the previous one arrives, so the database works on it while the consumer handles the current one. The
 * one generator between the rows and the consumer: every layer of async iteration costs per event.
 */
async function* paged<T, Cursor>(
  maxCount: number | undefined,
  first: Cursor,
  fetch: (cursor: Cursor, remaining: number) => Promise<Page<T, Cursor>>,
): AsyncGenerator<T> {
  let remaining = checkCount(maxCount);
  let pending = remaining > 0 ? fetch(first, remaining) : undefined;
  while (pending) {
    const page = await pending;
    const count = Math.min(page.items.length, remaining);
    remaining -= count;
    pending = page.next !== undefined && remaining > 0 ? fetch(page.next, remaining) : undefined;
    // An abandoned prefetch (the consumer stopped) must not surface as an unhandled rejection.
    pending?.catch(() => undefined);
    for (let index = 0; index < count; index++) yield page.items[index] as T;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Wake-ups for live subscriptions

/** Where notifications of appends by other connections or processes come from. */
export interface NotificationSource {
  /** Starts listening; `onNotify` on every notification, `onLost` when the listening connection goes away. */
  listen(channel: string, onNotify: () => void, onLost: () => void): Promise<() => Promise<void>>;
}

class Wakeups {
  /** Bumped on every wake, so a subscriber that read before a wake does not then sleep through it. */
  version = 0;
  private readonly waiters = new Set<() => void>();

  wake(): void {
    this.version++;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const waiter of waiters) waiter();
  }

  /** Resolves true on the next wake after `sinceVersion`, false after `timeoutMs` or when `signal` aborts. */
  wait(sinceVersion: number, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (this.version !== sinceVersion) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (woken: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        signal.removeEventListener('abort', stop);
        resolve(woken);
      };
      const wake = () => finish(true);
      const stop = () => finish(false);
      const timer = setTimeout(stop, timeoutMs);
      this.waiters.add(wake);
      signal.addEventListener('abort', stop, { once: true });
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The store

export interface SqlEventStoreOptions {
  /** Notifications of appends made through other connections (other processes, appendInTransaction). */
  notifications?: NotificationSource;
  /**
   * Send a NOTIFY after appends so subscribers in other processes wake at once. It is sent outside the append's
   * transaction and throttled, because a NOTIFY inside each append would serialise all commits on the notify lock.
   */
  announceAppends?: boolean;
  /** Rows per read query. */
  pageSize?: number;
  /** How often a live subscription polls when nothing woke it (visibility can be held back by an open transaction). */
  pollIntervalMs?: number;
  /**
   * Runs the append path's statements (a few fixed texts) instead of `db`. The postgres backend passes one that
   * prepares them by name, so each connection parses and plans them once (about 15% of a single-event append).
   */
  appendExecutor?: SqlExecutor;
  /** Runs after close() has stopped the store, e.g. to close a database the store owns. */
  onClose?: () => Promise<void>;
}

export async function createSqlEventStore(db: SqlDatabase, options: SqlEventStoreOptions = {}): Promise<EventStore> {
  try {
    await ensureSchema(db);
  } catch (error) {
    throw unavailable(error, 'schema creation');
  }
  const appendExecutor = options.appendExecutor ?? db;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const wakeups = new Wakeups();
  const closing = new AbortController();

  // Heads of streams this store appended to or read to the end: the append's guard verifies them, so a stale entry
  // costs one extra round trip, never a wrong write. Map order makes it an LRU.
  const heads = new Map<string, StreamHead>();
  const remember = (streamId: string, head: StreamHead) => {
    heads.delete(streamId);
    heads.set(streamId, head);
    if (heads.size > HEAD_CACHE_SIZE) heads.delete(heads.keys().next().value as string);
  };

  // The first append after a quiet spell is announced at once; a burst is announced once per ANNOUNCE_GAP_MS.
  let announcing: Promise<void> | undefined;
  let announceAgain = false;
  const announce = () => {
    if (!options.announceAppends || closing.signal.aborted) return;
    announceAgain = true;
    announcing ??= (async () => {
      while (announceAgain && !closing.signal.aborted) {
        announceAgain = false;
        await db.query(ANNOUNCE_SQL, [NOTIFY_CHANNEL]).catch(() => undefined);
        await delay(ANNOUNCE_GAP_MS);
      }
      announcing = undefined;
    })();
  };

  let listening: 'idle' | 'starting' | 'listening' = 'idle';
  let starting: Promise<void> = Promise.resolve();
  let listenAgainAt = 0;
  let stopListening: (() => Promise<void>) | undefined;
  /** Resolves once listening, or once this attempt failed (subscriptions then poll; another attempt comes later). */
  const listen = (): Promise<void> => {
    const source = options.notifications;
    if (!source || listening === 'listening' || closing.signal.aborted) return Promise.resolve();
    if (listening === 'starting' || Date.now() < listenAgainAt) return starting;
    listening = 'starting';
    listenAgainAt = Date.now() + pollIntervalMs;
    const lost = () => {
      listening = 'idle';
      stopListening = undefined;
    };
    starting = source.listen(NOTIFY_CHANNEL, () => wakeups.wake(), lost).then(async (stop) => {
      if (closing.signal.aborted) return stop();
      listening = 'listening';
      stopListening = stop;
    }, lost);
    return starting;
  };

  async function append(streamId: string, events: readonly NewEvent[], appendOptions: AppendOptions): Promise<AppendResult> {
    const batch = prepareAppend(streamId, events, appendOptions?.expectedRevision);
    // The first attempt trusts the cached head (or, for no_stream, that there is none): one round trip.
    let head = heads.get(batch.streamId) ?? (batch.expectedRevision === 'no_stream' ? NO_STREAM : undefined);
    let fresh = false;
    try {
      for (let attempt = 1; ; attempt++) {
        if (head === undefined) {
          const state = await readState(appendExecutor, batch);
          const replay = replayResult(batch, state.stored);
          if (replay) return replay;
          head = state.head;
          fresh = true;
        }
        if (!satisfies(batch.expectedRevision, head.revision)) {
          if (fresh) throw new WrongExpectedRevisionError(batch.streamId, batch.expectedRevision, head.revision);
          head = undefined;
          continue;
        }
        let inserted: Awaited<ReturnType<typeof insertBatch>>;
        try {
          inserted = await insertBatch(appendExecutor, batch, head, false);
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
        }
        if (inserted) {
          remember(batch.streamId, { revision: inserted.result.nextRevision, hash: inserted.lastHash });
          wakeups.wake();
          announce();
          return inserted.result;
        }
        // Another writer moved the stream, or some ids are stored already: look again.
        heads.delete(batch.streamId);
        head = undefined;
        if (attempt >= MAX_APPEND_ATTEMPTS) {
          throw new StoreUnavailableError(`stream ${batch.streamId} is too contended: ${attempt} appends in a row lost the race`);
        }
        if (attempt > 2) await delay(Math.random() * Math.min(2 ** attempt, 50));
      }
    } catch (error) {
      // The outcome of an interrupted append is unknown; the retry re-reads (and recognises its own ids).
      if (isConnectionFailure(error)) heads.delete(batch.streamId);
      throw unavailable(error, `append to ${batch.streamId}`);
    }
  }

  async function query<Row>(sql: string, params: unknown[], operation: string): Promise<Row[]> {
    try {
      return (await db.query<Row>(sql, params)).rows;
    } catch (error) {
      throw unavailable(error, operation);
    }
  }

  function readStream(streamId: string, readOptions: ReadStreamOptions = {}): AsyncGenerator<StoredEvent> {
    const backwards = readOptions.direction === 'backwards';
    const sql = backwards
      ? `SELECT ${EVENT_COLUMNS} FROM ${TABLE} e WHERE stream_id = $1 AND e.revision <= $2::int8 AND e.revision >= $3::int8
         ORDER BY e.revision DESC LIMIT $4`
      : `SELECT ${EVENT_COLUMNS} FROM ${TABLE} e WHERE stream_id = $1 AND e.revision >= $2::int8 AND e.revision <= $3::int8
         ORDER BY e.revision LIMIT $4`;
    const start = readOptions.fromRevision ?? (backwards ? BigInt(MAX_REVISION) : 0n);
    const end = readOptions.toRevision?.toString() ?? (backwards ? '0' : MAX_REVISION);
    const fetch = async (from: bigint, remaining: number): Promise<Page<StoredEvent, bigint>> => {
      const size = Math.min(pageSize, remaining);
      const events = (await query<EventRow>(sql, [streamId, from.toString(), end, size], `read of ${streamId}`)).map(toEvent);
      const last = events[events.length - 1];
      if (events.length < size) {
        // A short page forwards with no upper bound ends at the stream's head: the next append to it needs no read.
        if (!backwards && readOptions.toRevision === undefined && last) remember(streamId, { revision: last.revision, hash: last.metadata.hash });
        return { items: events, next: undefined };
      }
      return { items: events, next: last ? last.revision + (backwards ? -1n : 1n) : undefined };
    };
    return paged(readOptions.maxCount, start, fetch);
  }

  /**
   * One page of $all after `after`. Unfiltered, it is the next rows in position order. Filtered, it scans a window of
   * the next `pageSize` visible rows in position order and returns those that match, so every page costs one bounded
   * index range whatever the filter's selectivity (a filtered LIMIT could otherwise be planned as a scan and sort of
   * the whole log per page). `scannedTo` is the last position looked at: a reader may resume from there.
   */
  async function scanAll(
    after: Position,
    filter: EventFilter | undefined,
    remaining: number,
  ): Promise<Page<StoredEvent, Position> & { scannedTo: Position | undefined }> {
    const { transactionId, globalPosition } = decodePosition(after);
    const params: unknown[] = [transactionId, globalPosition];
    const condition = filterCondition(filter, params);
    const rangeFrom = `${TABLE} WHERE ${VISIBLE} AND (transaction_id, global_position) > ($1::xid8, $2::int8)`;
    if (condition === undefined) {
      const size = Math.min(pageSize, remaining);
      params.push(size);
      const sql = `SELECT ${EVENT_COLUMNS} FROM ${rangeFrom} ORDER BY transaction_id, global_position LIMIT $${params.length}`;
      const events = (await query<EventRow>(sql, params, 'read of $all')).map(toEvent);
      const scannedTo = events[events.length - 1]?.position;
      return { items: events, next: events.length === size ? scannedTo : undefined, scannedTo };
    }
    params.push(pageSize);
    // The last row is a marker (id NULL): the last position scanned, and in `revision` how many rows were scanned.
    const sql = `
      WITH scanned AS MATERIALIZED (
        SELECT * FROM ${rangeFrom} ORDER BY transaction_id, global_position LIMIT $${params.length})
      (SELECT ${EVENT_COLUMNS} FROM scanned WHERE ${condition} ORDER BY transaction_id, global_position)
      UNION ALL
      (SELECT ${POSITION_COLUMN}, NULL, NULL, (SELECT count(*) FROM scanned)::text, NULL, NULL, NULL, NULL
         FROM scanned ORDER BY transaction_id DESC, global_position DESC LIMIT 1)`;
    const rows = await query<EventRow | { position: Position; id: null; revision: string }>(sql, params, 'read of $all');
    const marker = rows.find((row) => row.id === null);
    const events = rows.filter((row): row is EventRow => row.id !== null).map(toEvent);
    const full = marker !== undefined && Number(marker.revision) === pageSize;
    return { items: events, next: full ? marker.position : undefined, scannedTo: marker?.position };
  }

  function readAll(readOptions: ReadAllOptions = {}): AsyncGenerator<StoredEvent> {
    // A malformed `after` is refused by the first page's decodePosition, when iteration starts.
    return paged(readOptions.maxCount, readOptions.after ?? START, (cursor, remaining) => scanAll(cursor, readOptions.filter, remaining));
  }

  async function* subscribeAll(subscribeOptions: SubscribeOptions): AsyncGenerator<StoredEvent> {
    let cursor = subscribeOptions.after ?? START;
    decodePosition(cursor);
    const signal = subscribeOptions.signal ? AbortSignal.any([subscribeOptions.signal, closing.signal]) : closing.signal;
    // After a wake-up whose events are not visible yet (an older transaction anywhere on the server holds visibility
    // back), look again soon rather than a whole poll interval later.
    let expecting = false;
    let retryMs = FIRST_RETRY_MS;
    // Each scan remembers the wake-up count from before it started, so a wake during the scan is not slept through.
    const scan = (after: Position) => {
      const scanned = (async () => {
        // Listening before reading: an append that commits after this read is announced to us.
        await listen();
        const seen = wakeups.version;
        return { seen, page: await scanAll(after, subscribeOptions.filter, Number.POSITIVE_INFINITY) };
      })();
      // A scan left behind when the subscription ends must not surface as an unhandled rejection.
      scanned.catch(() => undefined);
      return scanned;
    };
    let pending = scan(cursor);
    while (!signal.aborted) {
      const { seen, page } = await pending;
      // Past everything scanned, matching or not: a filtered subscription never rescans what it has passed.
      const progressed = page.scannedTo !== undefined && page.scannedTo > cursor;
      cursor = page.scannedTo ?? cursor;
      // Catching up: the next page is read while the consumer handles this one.
      const more = page.next !== undefined;
      if (more) pending = scan(cursor);
      for (const event of page.items) {
        if (signal.aborted) return;
        yield event;
      }
      if (more) continue;
      if (progressed) {
        expecting = false;
        retryMs = FIRST_RETRY_MS;
      }
      const timeoutMs = expecting ? retryMs : pollIntervalMs;
      if (expecting) retryMs = Math.min(retryMs * 2, pollIntervalMs);
      if (await wakeups.wait(seen, timeoutMs, signal)) {
        expecting = true;
        retryMs = FIRST_RETRY_MS;
      }
      pending = scan(cursor);
    }
  }

  async function headPosition(): Promise<Position> {
    const rows = await query<{ position: Position }>(
      `SELECT ${POSITION_COLUMN} AS position FROM ${TABLE} WHERE ${VISIBLE} ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
      [],
      'head position',
    );
    return rows[0]?.position ?? START;
  }

  async function close(): Promise<void> {
    if (closing.signal.aborted) return;
    closing.abort();
    wakeups.wake();
    await announcing;
    await starting;
    await stopListening?.().catch(() => undefined);
    await options.onClose?.();
  }

  return { append, readStream, readAll, subscribeAll, headPosition, close };
}
