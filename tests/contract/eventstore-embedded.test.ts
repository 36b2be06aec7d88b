// The event store contract on embedded PGlite, in a temporary data directory (so the lock file is exercised too).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedEventStore, openEmbeddedDatabase } from '../../infra/eventstore/embedded.ts';
import { eventStoreContract } from './eventstore.ts';

eventStoreContract('embedded', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'eventstore-contract-'));
  const db = await openEmbeddedDatabase(dataDir);
  const store = await createEmbeddedEventStore(db);
  return {
    store,
    async cleanup() {
      await store.close();
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});
