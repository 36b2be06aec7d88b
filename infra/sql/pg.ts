// SqlDatabase over a node-postgres pool.
import pg from 'pg';
import type { SqlDatabase, SqlExecutor, SqlResult } from './port.ts';

// int8 (bigint) arrives as a string by default; keep it that way (positions and revisions exceed 2^53) and let
// callers convert with BigInt where they mean it.

function executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    async query<Row>(text: string, params?: readonly unknown[]): Promise<SqlResult<Row>> {
      const result = await client.query(text, params as unknown[] | undefined);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
  };
}

export interface PgDatabaseOptions {
  max?: number;
  applicationName?: string;
}

export function createPgDatabase(connectionString: string, options: PgDatabaseOptions = {}): SqlDatabase & { pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 20,
    application_name: options.applicationName ?? 'incident-platform',
  });
  // An idle client losing its connection must not crash the process; the next query reports the failure.
  pool.on('error', () => undefined);
  const base = executor(pool);
  return {
    pool,
    query: base.query,
    async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async withConnection<T>(work: (connection: SqlExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        return await work(executor(client));
      } catch (error) {
        broken = error as Error;
        throw error;
      } finally {
        // A dedicated connection may hold session state (advisory locks); never hand it back dirty after a failure.
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };
}
