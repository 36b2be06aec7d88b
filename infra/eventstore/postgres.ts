// The `postgres` backend: the shared SQL event store (sql.ts) on a node-postgres pool, with one dedicated LISTEN
// connection per store (outside the pool) waking every live subscription of the store.
import pg from 'pg';
import { createPgDatabase } from '../sql/pg.ts';
import type { SqlDatabase, SqlExecutor } from '../sql/port.ts';
import type { EventStore } from './port.ts';
import { createSqlEventStore, type NotificationSource } from './sql.ts';

export { appendInTransaction } from './sql.ts';

export interface PostgresEventStoreOptions {
  /** Rows per read query (default 1000). */
  pageSize?: number;
  /** Fallback poll interval of live subscriptions in ms (default 250). */
  pollIntervalMs?: number;
}

function listenWith(config: pg.ClientConfig): NotificationSource {
  return {
    async listen(channel, onNotify, onLost) {
      // Bounded connect: subscriptions wait for LISTEN before reading. keepAlive: a dead network must end it.
      const client = new pg.Client({ ...config, connectionTimeoutMillis: 10_000, keepAlive: true });
      let stopped = false;
      const lost = () => {
        if (stopped) return;
        stopped = true;
        onLost();
        client.end().catch(() => undefined);
      };
      client.on('error', lost);
      client.on('end', lost);
      client.on('notification', (message) => {
        if (message.channel === channel) onNotify();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${channel}`);
      } catch (error) {
        stopped = true;
        await client.end().catch(() => undefined);
        throw error;
      }
      return async () => {
        stopped = true;
        await client.end();
      };
    },
  };
}

/** Runs each distinct statement text as a named prepared statement: parsed and planned once per pool connection. */
function preparing(pool: pg.Pool): SqlExecutor {
  const names = new Map<string, string>();
  return {
    async query<Row>(text: string, params?: readonly unknown[]) {
      let name = names.get(text);
      if (name === undefined) {
        name = `eventstore_${names.size}`;
        names.set(text, name);
      }
      const result = await pool.query({ name, text, values: params as unknown[] | undefined });
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
  };
}

function backendOptions(pool: pg.Pool | undefined) {
  return {
    notifications: pool ? listenWith(pool.options) : undefined,
    appendExecutor: pool ? preparing(pool) : undefined,
    announceAppends: true,
  };
}

/**
 * An event store on `db`, which the caller keeps owning (close it after the store). When `db` exposes its pg pool
 * (as createPgDatabase's does), appends run as prepared statements and live subscriptions LISTEN for appends of
 * other processes; otherwise appends are planned each time and subscriptions poll.
 */
export function createPostgresEventStore(
  db: SqlDatabase & { pool?: pg.Pool },
  options: PostgresEventStoreOptions = {},
): Promise<EventStore> {
  return createSqlEventStore(db, { ...options, ...backendOptions(db.pool) });
}

/** An event store with its own pool on `connectionString` (DATABASE_URL); close() closes the pool too. */
export async function openPostgresEventStore(connectionString: string, options: PostgresEventStoreOptions = {}): Promise<EventStore> {
  const db = createPgDatabase(connectionString, { applicationName: 'incident-platform-eventstore' });
  try {
    return await createSqlEventStore(db, { ...options, ...backendOptions(db.pool), onClose: () => db.close() });
  } catch (error) {
    await db.close();
    throw error;
  }
}
