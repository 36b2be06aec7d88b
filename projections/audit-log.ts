// The audit log: every event as auditors page through it (who did what, when and why), one row per event,
// filterable by stream, actor and time and always in log order.
import type { StoredEvent } from '../infra/eventstore/port.ts';
import type { SqlExecutor } from '../infra/sql/port.ts';
import { ALL_EVENT_TYPES, type Projection } from './projection.ts';
import { tenantStream } from './tenant-stream.ts';

export const AUDIT_LOG_PROJECTION = 'audit-log';

// Positions compare byte-wise (COLLATE "C"), as the store orders them. `metadata` is kept whole (correlation,
// causation, trace, reason, schema version and the hash chain), so an entry can be checked against the store.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS audit_log (
    tenant_id text NOT NULL,
    position text COLLATE "C" NOT NULL,
    stream_id text NOT NULL,
    revision bigint NOT NULL,
    event_id uuid NOT NULL,
    type text NOT NULL,
    actor_id text NOT NULL,
    actor_kind text NOT NULL,
    actor_roles text[] NOT NULL,
    recorded_at timestamptz NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    PRIMARY KEY (tenant_id, position)
  )`,
  'CREATE INDEX IF NOT EXISTS audit_log_by_stream ON audit_log (tenant_id, stream_id, position)',
  'CREATE INDEX IF NOT EXISTS audit_log_by_actor ON audit_log (tenant_id, actor_id, position)',
  'CREATE INDEX IF NOT EXISTS audit_log_by_time ON audit_log (tenant_id, recorded_at, position)',
];

export function auditLogProjection(): Projection {
  return {
    name: AUDIT_LOG_PROJECTION,
    handles: ALL_EVENT_TYPES,
    tables: ['audit_log'],
    async setup(db) {
      for (const statement of SCHEMA) await db.query(statement);
    },
    apply(event, tx) {
      return insertEntries([event], tx);
    },
    // A replay writes every event of the log here: one statement per batch instead of one per event.
    applyBatch: insertEntries,
  };
}

const COLUMNS = `tenant_id text, position text, stream_id text, revision bigint, event_id uuid, type text, actor_id text,
  actor_kind text, actor_roles text[], recorded_at timestamptz, data jsonb, metadata jsonb`;

async function insertEntries(events: readonly StoredEvent[], tx: SqlExecutor): Promise<void> {
  const entries = events.map((event) => {
    const { tenantId, streamId } = tenantStream(event);
    const { actor } = event.metadata;
    return {
      tenant_id: tenantId,
      position: event.position,
      stream_id: streamId,
      revision: event.revision.toString(),
      event_id: event.id,
      type: event.type,
      actor_id: actor.id,
      actor_kind: actor.kind,
      actor_roles: actor.roles,
      recorded_at: event.recordedAt.toISOString(),
      data: event.data,
      metadata: event.metadata,
    };
  });
  await tx.query(
    `INSERT INTO audit_log (tenant_id, position, stream_id, revision, event_id, type, actor_id, actor_kind, actor_roles,
       recorded_at, data, metadata)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS entry(${COLUMNS})
     ON CONFLICT (tenant_id, position) DO NOTHING`,
    [JSON.stringify(entries)],
  );
}
