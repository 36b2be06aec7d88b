// SqlDatabase over a node-postgres pool; sessions get their own client outside the pool, so a long-lived lock
// holder never takes a pool slot and dies with its connection (and its locks) on its own.
import pg from 'pg';
import type { SqlDatabase, SqlExecutor, SqlResult, SqlSession } from './port.ts';

// int8 (bigint) arrives as a string by default; keep it that way (positions and revisions exceed 2^53) and let
// callers convert with BigInt where they mean it.

function executor(client: pg.Pool | pg.PoolClient | pg.Client): SqlExecutor {
  return {
    async query<Row>(text: string, params?: readonly unknown[]): Promise<SqlResult<Row>> {
      const result = await client.query(text, params as unknown[] | undefined);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
  };
}

// A session repeats the same few statements (a runner's applies and checkpoint updates) thousands of times, so it
// prepares them: each run then skips parse and plan. Capped, so that SQL built with inlined values cannot grow the
// server's per-connection statement cache without bound; past the cap statements run unprepared.
const PREPARED_PER_SESSION = 200;

function preparingExecutor(client: pg.Client): SqlExecutor {
  const names = new Map<string, string>();
  return {
    async query<Row>(text: string, params?: readonly unknown[]): Promise<SqlResult<Row>> {
      let name = names.get(text);
      if (name === undefined && names.size < PREPARED_PER_SESSION) names.set(text, (name = `session_${names.size}`));
      const values = params as unknown[] | undefined;
      const result = await client.query(name === undefined ? { text, values } : { name, text, values });
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
  };
}

async function inTransaction<T>(
  client: pg.PoolClient | pg.Client,
  work: (tx: SqlExecutor) => Promise<T>,
  tx: SqlExecutor = executor(client),
): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work(tx);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Runs `work` on a client checked out of the pool. The pool only listens for errors on idle clients, so a connection
 * killed while checked out would emit an unhandled 'error' and crash the process: listen here, and destroy the client
 * instead of handing it back when its connection broke (or, for `any-failure`, when the work failed at all).
 */
async function withClient<T>(
  pool: pg.Pool,
  destroyOn: 'connection-errors' | 'any-failure',
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error): void => {
    broken = error;
  };
  client.on('error', onError);
  try {
    return await work(client);
  } catch (error) {
    if (destroyOn === 'any-failure') broken ??= error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

export interface PgDatabaseOptions {
  max?: number;
  applicationName?: string;
}

export function createPgDatabase(connectionString: string, options: PgDatabaseOptions = {}): SqlDatabase & { pool: pg.Pool } {
  const applicationName = options.applicationName ?? 'incident-platform';
  const pool = new pg.Pool({ connectionString, max: options.max ?? 20, application_name: applicationName });
  // An idle client losing its connection must not crash the process; the next query reports the failure.
  pool.on('error', () => undefined);
  const sessions = new Set<pg.Client>();
  const base = executor(pool);
  return {
    pool,
    query: base.query,
    // A failed transaction was rolled back, so its client is clean unless the connection itself broke.
    transaction: <T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> =>
      withClient(pool, 'connection-errors', (client) => inTransaction(client, work)),
    // A dedicated connection may hold session state (advisory locks): never hand it back after any failure.
    withConnection: <T>(work: (connection: SqlExecutor) => Promise<T>): Promise<T> =>
      withClient(pool, 'any-failure', (client) => work(executor(client))),
    async session(): Promise<SqlSession> {
      // keepAlive: a holder behind a dead network must lose its connection (and locks) rather than hang forever.
      // pipeline: statements issued without awaiting the previous one go out at once (see SqlSession).
      const client = new pg.Client({
        connectionString,
        application_name: `${applicationName}:session`,
        keepAlive: true,
        pipeline: true,
      });
      const lost = new AbortController();
      const onLost = (): void => lost.abort(new Error('session connection lost'));
      client.on('error', onLost);
      client.on('end', onLost);
      await client.connect();
      sessions.add(client);
      const session = preparingExecutor(client);
      return {
        query: session.query,
        transaction: (work) => inTransaction(client, work, session),
        async tryAdvisoryLock(key) {
          const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
            key.toString(),
          ]);
          return rows[0]?.locked === true;
        },
        async advisoryUnlock(key) {
          await client.query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()]);
        },
        lost: lost.signal,
        async release() {
          if (!sessions.delete(client)) return;
          // Closing the connection releases every session lock server-side.
          await client.end().catch(() => undefined);
        },
      };
    },
    async close() {
      await Promise.all([...sessions].map((client) => client.end().catch(() => undefined)));
      sessions.clear();
      await pool.end();
    },
  };
}
