// Editing history behind the store's back (directly in SQL) is caught by verifyStream, on PostgreSQL and on PGlite.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEmbeddedEventStore } from '../../infra/eventstore/embedded.ts';
import { hashEvent, verifyStream } from '../../infra/eventstore/hash-chain.ts';
import type { EventStore } from '../../infra/eventstore/port.ts';
import { createPostgresEventStore } from '../../infra/eventstore/postgres.ts';
import { createPgDatabase } from '../../infra/sql/pg.ts';
import { openPglite } from '../../infra/sql/pglite.ts';
import type { SqlDatabase } from '../../infra/sql/port.ts';
import { createTestDatabase, postgresSkip } from '../support/services.ts';
import { collect, events, newStream, newTenant } from '../contract/eventstore.ts';

interface Backend {
  db: SqlDatabase;
  store: EventStore;
  cleanup(): Promise<void>;
}

function tamperingSuite(name: string, open: () => Promise<Backend>, skip: false | string = false): void {
  describe(`tampering is detected: ${name}`, { skip }, () => {
    let backend: Backend;
    before(async () => {
      backend = await open();
    });
    after(async () => {
      await backend?.cleanup();
    });

    /** A fresh six-event stream, verified intact before it is tampered with. */
    async function stream(): Promise<string> {
      const tenant = newTenant();
      const streamId = newStream(tenant);
      await backend.store.append(streamId, events(tenant, 4), { expectedRevision: 'no_stream' });
      await backend.store.append(streamId, events(tenant, 2), { expectedRevision: 3n });
      assert.deepEqual(await verifyStream(backend.store.readStream(streamId)), { ok: true, events: 6, brokenAtRevision: null });
      return streamId;
    }
    const sql = (text: string, params: unknown[]) => backend.db.query(text, params);
    const verify = async (streamId: string) => verifyStream(backend.store.readStream(streamId));

    test('changed data', async () => {
      const streamId = await stream();
      await sql(`UPDATE eventstore.events SET data = jsonb_set(data, '{index}', '99') WHERE stream_id = $1 AND revision = 2`, [streamId]);
      assert.deepEqual(await verify(streamId), { ok: false, events: 6, brokenAtRevision: 2 });
    });

    test('changed metadata (who did it)', async () => {
      const streamId = await stream();
      await sql(
        `UPDATE eventstore.events SET metadata = jsonb_set(metadata, '{actor,id}', '"someone-else"') WHERE stream_id = $1 AND revision = 4`,
        [streamId],
      );
      assert.deepEqual(await verify(streamId), { ok: false, events: 6, brokenAtRevision: 4 });
    });

    test('changed type', async () => {
      const streamId = await stream();
      await sql(`UPDATE eventstore.events SET type = 'IncidentResolved' WHERE stream_id = $1 AND revision = 0`, [streamId]);
      assert.deepEqual(await verify(streamId), { ok: false, events: 6, brokenAtRevision: 0 });
    });

    test('changed data with its hash recomputed: the next link breaks', async () => {
      const streamId = await stream();
      const [target] = await collect(backend.store.readStream(streamId, { fromRevision: 1n, maxCount: 1 }));
      assert.ok(target);
      const data = { ...target.data, index: 42 };
      const hash = hashEvent(target.metadata.prevHash, { type: target.type, data, metadata: target.metadata });
      await sql(
        `UPDATE eventstore.events SET data = $2::text::jsonb, metadata = jsonb_set(metadata, '{hash}', to_jsonb($3::text))
          WHERE stream_id = $1 AND revision = 1`,
        [streamId, JSON.stringify(data), hash],
      );
      assert.deepEqual(await verify(streamId), { ok: false, events: 6, brokenAtRevision: 2 });
    });

    test('a removed event', async () => {
      const streamId = await stream();
      await sql('DELETE FROM eventstore.events WHERE stream_id = $1 AND revision = 3', [streamId]);
      assert.deepEqual(await verify(streamId), { ok: false, events: 5, brokenAtRevision: 3 });
    });

    test('two events swapped', async () => {
      const streamId = await stream();
      // Three steps, since (stream_id, revision) is unique at every step.
      await sql('UPDATE eventstore.events SET revision = -1 WHERE stream_id = $1 AND revision = 1', [streamId]);
      await sql('UPDATE eventstore.events SET revision = 1 WHERE stream_id = $1 AND revision = 2', [streamId]);
      await sql('UPDATE eventstore.events SET revision = 2 WHERE stream_id = $1 AND revision = -1', [streamId]);
      assert.deepEqual(await verify(streamId), { ok: false, events: 6, brokenAtRevision: 1 });
    });

    test('an event moved in from another stream', async () => {
      const streamId = await stream();
      const other = await stream();
      await sql('DELETE FROM eventstore.events WHERE stream_id = $1 AND revision = 5', [streamId]);
      await sql('UPDATE eventstore.events SET stream_id = $1 WHERE stream_id = $2 AND revision = 5', [streamId, other]);
      assert.deepEqual(await verify(streamId), { ok: false, events: 6, brokenAtRevision: 5 });
    });
  });
}

tamperingSuite(
  'postgres',
  async () => {
    const database = await createTestDatabase('es_tamper');
    const db = createPgDatabase(database.url);
    const store = await createPostgresEventStore(db);
    return {
      db,
      store,
      async cleanup() {
        await store.close();
        await db.close();
        await database.drop();
      },
    };
  },
  await postgresSkip(),
);

tamperingSuite('embedded', async () => {
  const db = await openPglite();
  const store = await createEmbeddedEventStore(db);
  return {
    db,
    store,
    async cleanup() {
      await store.close();
      await db.close();
    },
  };
});
