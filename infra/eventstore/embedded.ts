// The `embedded` backend: the shared SQL event store (sql.ts) on PGlite, in the same PGlite instance as the read
// models. The data directory is locked against a second process (infra/embedded-lock.ts).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { lockDirectory } from '../embedded-lock.ts';
import { openPglite } from '../sql/pglite.ts';
import type { SqlDatabase } from '../sql/port.ts';
import type { EventStore } from './port.ts';
import { createSqlEventStore, type NotificationSource } from './sql.ts';

export { appendInTransaction } from './sql.ts';

export interface EmbeddedDatabase extends SqlDatabase {
  pglite: PGlite;
  /** The locked data directory (absolute). */
  dataDir: string;
}

export interface EmbeddedEventStoreOptions {
  /** Rows per read query (default 1000). */
  pageSize?: number;
  /** Fallback poll interval of live subscriptions in ms (default 250). */
  pollIntervalMs?: number;
}

/**
 * Opens (creating if needed) the embedded database under `dataDir`: PGlite's files live in `<dataDir>/pgdata`,
 * next to the lock file. Throws DataDirectoryLockedError while another process has it open; close() unlocks.
 */
export async function openEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const lock = lockDirectory(dir);
  try {
    const db = await openPglite(join(dir, 'pgdata'));
    return {
      ...db,
      dataDir: dir,
      async close() {
        try {
          await db.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

// Appends through this store wake its subscriptions directly; LISTEN catches appends made in other code's
// transactions on the same PGlite (appendInTransaction sends a NOTIFY that is delivered on commit).
function listenOn(db: SqlDatabase & { pglite: PGlite }): NotificationSource {
  return {
    // Through withConnection, so LISTEN never runs inside another caller's open transaction on the one connection.
    listen: (channel, onNotify) => db.withConnection(() => db.pglite.listen(channel, onNotify)),
  };
}

/** An event store on an embedded database (openEmbeddedDatabase, or openPglite() in memory); the caller closes `db`. */
export function createEmbeddedEventStore(
  db: SqlDatabase & { pglite?: PGlite },
  options: EmbeddedEventStoreOptions = {},
): Promise<EventStore> {
  const pglite = db.pglite;
  return createSqlEventStore(db, {
    ...options,
    notifications: pglite ? listenOn({ ...db, pglite }) : undefined,
  });
}
