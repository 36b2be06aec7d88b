// What the read-model tests share: the real store and the real projection engine running every projection, on
// PostgreSQL (a fresh database) and on embedded PGlite, and the command context incidents are driven with.
import { randomBytes } from 'node:crypto';
import type { CommandContext } from '../../commands/context.ts';
import { createEmbeddedEventStore } from '../../infra/eventstore/embedded.ts';
import type { ActorKind, EventStore, Position } from '../../infra/eventstore/port.ts';
import { createPostgresEventStore } from '../../infra/eventstore/postgres.ts';
import { createPgDatabase } from '../../infra/sql/pg.ts';
import { openPglite } from '../../infra/sql/pglite.ts';
import type { SqlDatabase } from '../../infra/sql/port.ts';
import { createProjectionEngine, type ProjectionEngine } from '../../projections/engine.ts';
import { allProjections } from '../../projections/index.ts';
import { createTestDatabase, postgresSkip } from '../support/services.ts';

export interface ReadSide {
  db: SqlDatabase;
  store: EventStore;
  engine: ProjectionEngine;
  /** Resolves once every read model has applied `cursor`. */
  caughtUp(cursor: Position): Promise<void>;
  close(): Promise<void>;
}

export interface Backend {
  name: string;
  /** node:test's `skip`: false, or why PostgreSQL is not there. */
  skip: false | string;
  open(): Promise<ReadSide>;
}

async function start(db: SqlDatabase, store: EventStore, release: () => Promise<void>): Promise<ReadSide> {
  // Small batches, so a test's few dozen events span several engine transactions.
  const engine = createProjectionEngine({ store, db, projections: allProjections(), batchSize: 7, idlePollMs: 20 });
  await engine.start();
  return {
    db,
    store,
    engine,
    caughtUp: (cursor) => engine.waitForPosition(cursor, { timeoutMs: 15_000 }),
    async close() {
      await engine.stop();
      await store.close();
      await db.close();
      await release();
    },
  };
}

export async function backends(): Promise<Backend[]> {
  return [
    {
      name: 'PostgreSQL',
      skip: await postgresSkip(),
      async open() {
        const database = await createTestDatabase('read_models');
        const db = createPgDatabase(database.url, { max: 4 });
        return start(db, await createPostgresEventStore(db), () => database.drop());
      },
    },
    {
      name: 'embedded PGlite',
      skip: false,
      async open() {
        const db = await openPglite();
        return start(db, await createEmbeddedEventStore(db), async () => undefined);
      },
    },
  ];
}

/** A tenant of its own per test, so tests sharing one store stay independent (and isolation is tested for free). */
export function newTenant(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** A clock that moves one second per command, so instants in the read models are known in advance. */
export class TestClock {
  #next: number;
  constructor(start = '2024-03-01T09:00:00.000Z') {
    this.#next = Date.parse(start);
  }
  tick(seconds = 1): Date {
    const now = new Date(this.#next);
    this.#next += seconds * 1000;
    return now;
  }
}

export function context(tenantId: string, actorId: string, now: Date, kind: ActorKind = 'user'): CommandContext {
  return { tenantId, actor: { id: actorId, kind, roles: kind === 'user' ? ['responder'] : [] }, now };
}
