// SqlDatabase over embedded PGlite. PGlite is one connection, so transactions and dedicated-connection work are
// serialised through a queue; plain queries outside a transaction wait for it too.
import { PGlite } from '@electric-sql/pglite';
import type { SqlDatabase, SqlExecutor, SqlResult } from './port.ts';

export function wrapPglite(db: PGlite): SqlDatabase & { pglite: PGlite } {
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
  const direct: SqlExecutor = {
    async query<Row>(text: string, params?: readonly unknown[]): Promise<SqlResult<Row>> {
      const result = await db.query<Row>(text, params as unknown[] | undefined);
      return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
    },
  };
  return {
    pglite: db,
    query: (text, params) => exclusive(() => direct.query(text, params)),
    transaction: (work) =>
      exclusive(async () => {
        await db.query('BEGIN');
        try {
          const result = await work(direct);
          await db.query('COMMIT');
          return result;
        } catch (error) {
          await db.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }),
    withConnection: (work) => exclusive(() => work(direct)),
    async close() {
      await exclusive(() => db.close());
    },
  };
}

/** Opens (or creates) an embedded database; `dataDir` undefined means in memory. */
export async function openPglite(dataDir?: string): Promise<SqlDatabase & { pglite: PGlite }> {
  const db = await PGlite.create(dataDir === undefined ? undefined : { dataDir });
  return wrapPglite(db);
}
