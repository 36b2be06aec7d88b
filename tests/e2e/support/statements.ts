// Counting what resolvers send to the read-model database, to prove batching (no N+1) through the running server.
import type { SqlDatabase } from '../../../infra/sql/port.ts';

/** The read-model database as resolvers reach it, counting the statements they send. */
export function counting(db: SqlDatabase): SqlDatabase & { statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    query(text, params) {
      statements.push(text);
      return db.query(text, params);
    },
    transaction: (work) => db.transaction(work),
    withConnection: (work) => db.withConnection(work),
    session: () => db.session(),
    close: () => db.close(),
  };
}
