// The peer: Emmett's PostgreSQL event store (@event-driven-io/emmett-postgresql) on its own fresh database of the
// same server, driven through the same workloads as ours.
import { dumbo } from '@event-driven-io/dumbo';
import { STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore, readMessagesBatch } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import type { BenchTarget } from './workloads.ts';

export interface EmmettTarget extends BenchTarget {
  close(): Promise<void>;
}

export async function openEmmett(url: string, poolSize: number, readBatchSize: number): Promise<EmmettTarget> {
  // The same pool size as our store gets, so concurrency is compared like for like.
  // Idle connections go soon: the comparison alternates with our pool, and the server is shared with other runs.
  const pool = new pg.Pool({ connectionString: url, max: poolSize, idleTimeoutMillis: 1000 });
  const store = getPostgreSQLEventStore(url, { connectionOptions: { pool } });
  const reader = dumbo({ connectionString: url });
  // Emmett creates its schema on first use; do that before anything is timed.
  await store.schema.migrate();
  return {
    async append(streamId, events, revision) {
      await store.appendToStream(
        streamId,
        events.map(({ type, data, metadata }) => ({ type, data, metadata: { ...metadata } })),
        // Emmett's stream version counts events (1-based); ours is the 0-based revision of the last one.
        { expectedStreamVersion: revision < 0n ? STREAM_DOES_NOT_EXIST : revision + 1n },
      );
    },
    async readAll() {
      // readMessagesBatch is what Emmett's own consumers page $all with (same snapshot-xmin visibility rule as ours).
      let after = 0n;
      let count = 0;
      for (;;) {
        const batch = await readMessagesBatch(reader.execute, { after, batchSize: readBatchSize });
        count += batch.messages.length;
        if (!batch.areMessagesLeft) return count;
        after = batch.currentGlobalPosition;
      }
    },
    async close() {
      await reader.close();
      await store.close();
      await pool.end().catch(() => undefined);
    },
  };
}
