// SqlDatabase over embedded PGlite. PGlite is one connection, so transactions and dedicated-connection work are
// serialised through a queue; plain queries outside a transaction wait for it too.
import { PGlite } from '@electric-sql/pglite';
import type { SqlDatabase, SqlExecutor, SqlResult, SqlSession } from './port.ts';

// Every session shares PGlite's single backend, where advisory locks are re-entrant and so cannot tell sessions
// apart; the locks are kept here instead, per database, which is exact because only one process opens it.
const advisoryLocks = new WeakMap<PGlite, Map<bigint, symbol>>();

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
  const query: SqlExecutor['query'] = (text, params) => exclusive(() => direct.query(text, params));
  const transaction = <T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> =>
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
    });
  let locks = advisoryLocks.get(db);
  if (locks === undefined) advisoryLocks.set(db, (locks = new Map()));
  const heldLocks = locks;
  const sessions = new Set<AbortController>();

  return {
    pglite: db,
    query,
    transaction,
    withConnection: (work) => exclusive(() => work(direct)),
    async session(): Promise<SqlSession> {
      const owner = Symbol('session');
      const lost = new AbortController();
      sessions.add(lost);
      const unlockAll = (): void => {
        for (const [key, holder] of heldLocks) if (holder === owner) heldLocks.delete(key);
      };
      return {
        query,
        transaction,
        async tryAdvisoryLock(key) {
          const holder = heldLocks.get(key);
          if (holder !== undefined && holder !== owner) return false;
          heldLocks.set(key, owner);
          return true;
        },
        async advisoryUnlock(key) {
          if (heldLocks.get(key) === owner) heldLocks.delete(key);
        },
        lost: lost.signal,
        async release() {
          sessions.delete(lost);
          unlockAll();
        },
      };
    },
    async close() {
      for (const session of sessions) session.abort(new Error('database closed'));
      sessions.clear();
      heldLocks.clear();
      await exclusive(() => db.close());
    },
  };
}

/** Opens (or creates) an embedded database; `dataDir` undefined means in memory. */
export async function openPglite(dataDir?: string): Promise<SqlDatabase & { pglite: PGlite }> {
  const db = await PGlite.create(dataDir === undefined ? undefined : { dataDir });
  return wrapPglite(db);
}
