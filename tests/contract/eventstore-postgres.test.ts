// The event store contract on PostgreSQL: a fresh database for this file, dropped afterwards.
import { createPostgresEventStore } from '../../infra/eventstore/postgres.ts';
import { createPgDatabase } from '../../infra/sql/pg.ts';
import { createTestDatabase, postgresSkip } from '../support/services.ts';
import { eventStoreContract } from './eventstore.ts';

eventStoreContract(
  'postgres',
  async () => {
    const database = await createTestDatabase('es_contract');
    const db = createPgDatabase(database.url, { applicationName: 'eventstore-contract' });
    const store = await createPostgresEventStore(db);
    return {
      store,
      async cleanup() {
        await store.close();
        await db.close();
        await database.drop();
      },
    };
  },
  { skip: await postgresSkip() },
);
